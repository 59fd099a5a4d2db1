import DNSWire
import DNSZone
import Health
import Responder

/// The slow lane beside the query path, as bytes in and bytes out: zone transfers (AXFR, IXFR),
/// NOTIFY, and TSIG-signed queries. The listeners ask `intercepts` of every message (a few byte
/// reads, no allocation) and hand these to the lane off their threads; its answers never touch
/// the query path's memory.
public enum TransferLane {
    /// Everything the lane answers from, replaced whole when the runtime publishes.
    public struct State: Sendable {
        public var keyring = TSIGKeyring.empty
        public var primaries: [DNSName: PrimaryZone] = [:]
        public var journals: [DNSName: ZoneJournal] = [:]
        /// Zones pulled from a primary: the key its NOTIFYs must be signed with, if any.
        public var secondaries: [DNSName: SecondaryZone] = [:]
        public var snapshot: Snapshot?
        public var health: HealthView = .empty
        /// This instance's observation zone and its peers' zones, when it is part of a fleet.
        public var fleet: FleetLane?

        public init() {}

        /// NOTIFY is answered only for zones pulled from a primary and in a fleet (else NOTIMP,
        /// from the Responder).
        public var acceptsNotify: Bool { !secondaries.isEmpty || fleet != nil }
    }

    /// What the lane serves of a fleet: this member's observation zone, to its peers only (every
    /// exchange signed with the fleet's key, from a member's address), and the peers' zones whose
    /// NOTIFYs it takes.
    public struct FleetLane: Sendable {
        public var origin: DNSName
        public var key: TSIGKey
        public var allow: [IPPrefix]
        public var journal: ZoneJournal
        public var peers: Set<DNSName>

        public init(origin: DNSName, key: TSIGKey, allow: [IPPrefix], journal: ZoneJournal, peers: Set<DNSName>) {
            self.origin = origin
            self.key = key
            self.allow = allow
            self.journal = journal
            self.peers = peers
        }
    }

    /// What happened, for the caller's log and metrics.
    public enum Event: Sendable, Equatable {
        case transfer(zone: DNSName, type: RRType, rcode: UInt8, messages: Int)
        /// A NOTIFY for a zone we follow, from its primary: check the zone now.
        case notified(DNSName)
        case notifyRefused(DNSName)
        /// A peer's NOTIFY of a new version of its observations: pull it now.
        case fleetNotified(DNSName)
    }

    /// True for messages the lane answers: NOTIFY (when `acceptNotify`), UPDATE (when
    /// `acceptUpdate`: the runtime's, see `TransferHub.updateHandler`), AXFR, IXFR, and any query
    /// carrying a TSIG record, whether or not a key is configured: a key we do not know is
    /// NOTAUTH with BADKEY (RFC 8945 §5.2.1), never an answer as if the query were unsigned.
    @inline(__always)
    public static func intercepts(_ p: UnsafeRawBufferPointer, acceptNotify: Bool, acceptUpdate: Bool = false) -> Bool {
        guard p.count >= Header.size, p[2] & 0x80 == 0 else { return false }
        let opcode = (p[2] >> 3) & 0xF
        if opcode == Opcode.notify { return acceptNotify }
        if opcode == Opcode.update { return acceptUpdate }
        guard opcode == Opcode.query, p.u16(4) == 1, let qnameEnd = WireName.uncompressedEnd(p, from: Header.size),
            qnameEnd + 4 <= p.count
        else { return false }
        let qtype = p.u16(qnameEnd)
        if qtype == RRType.axfr.rawValue || qtype == RRType.ixfr.rawValue { return true }
        let records = Int(p.u16(6)) + Int(p.u16(8)) + Int(p.u16(10))
        guard records > 0 else { return false }
        // The TSIG is the last record: walk to it (owner names may be compressed).
        var i = qnameEnd + 4
        for _ in 0..<records {
            guard let next = WireName.skip(p, at: i), next + 10 <= p.count else { return false }
            if p.u16(next) == RRType.tsig.rawValue { return true }
            i = next + 10 + Int(p.u16(next + 8))
        }
        return false
    }

    /// Whether a message is an AXFR or IXFR query.
    public static func isTransfer(_ request: [UInt8]) -> Bool {
        guard request.count >= Header.size, (request[2] >> 3) & 0xF == Opcode.query,
            let q = try? Message.decode(request).question.first
        else { return false }
        return q.type == .axfr || q.type == .ixfr
    }

    /// Answers an intercepted message from `source` (4 or 16 address bytes).
    public static func answer(_ request: [UInt8], source: [UInt8], tcp: Bool, state s: State, now: UInt64) -> (
        replies: [[UInt8]], event: Event?
    ) {
        guard request.count >= Header.size else { return ([], nil) }
        let opcode = (request[2] >> 3) & 0xF
        if opcode == Opcode.notify { return notify(request, source: source, s, now: now) }
        if let fleet = s.fleet, let q = try? Message.decode(request).question.first, q.name == fleet.origin {
            return fleetQuery(request, q, source: source, tcp: tcp, fleet, now: now)
        }
        if let q = try? Message.decode(request).question.first, q.type == .axfr || q.type == .ixfr {
            let catalog = s.snapshot?.catalog
            var keyring = s.keyring
            var primaries = s.primaries
            // A fleet member pulling the master's copy: signed with the fleet's key, from a member.
            if let fleet = s.fleet, s.primaries[q.name] != nil, fleet.allow.contains(where: { $0.contains(source) }),
                case .valid(let key, _) = TSIGKeyring([fleet.key]).verify(request: request, now: now), key == fleet.key
            {
                keyring = TSIGKeyring([fleet.key])
                primaries = [q.name: PrimaryZone(zone: q.name, allow: fleet.allow, key: fleet.key)]
            }
            let out = TransferResponder.respond(
                to: request, source: source, tcp: tcp, keyring: keyring, primaries: primaries, journals: s.journals,
                serves: { catalog?.zone(named: $0) != nil }, now: now)
            let rcode = out.first.map { $0[3] & 0xF } ?? 0
            return (out, .transfer(zone: q.name, type: q.type, rcode: rcode, messages: out.count))
        }
        return (signedQuery(request, s, tcp: tcp, now: now), nil)
    }

    /// An ordinary query with a TSIG: verified, answered by the Responder, signed.
    static func signedQuery(_ request: [UInt8], _ s: State, tcp: Bool, now: UInt64) -> [[UInt8]] {
        let verdict = s.keyring.verify(request: request, now: now)
        if let e = TransferResponder.tsigFailure(request, verdict, now: now) { return [e] }
        guard case .valid(let key, let record) = verdict, let snapshot = s.snapshot else {
            return [TransferResponder.header(request, rcode: RCode.refused.rawValue)]
        }
        let plain = TSIG.unsignedPart(request, record)
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 65535, alignment: 8)
        defer { out.deallocate() }
        let outcome = plain.withUnsafeBytes {
            Responder.respond(
                to: $0, over: tcp ? .tcp : .udp, snapshot: snapshot, health: s.health, into: out,
                scratch: ResponderScratch(signatureCacheEntries: 16))
        }
        guard outcome.length > 0 else { return [] }
        var reply = Array(UnsafeRawBufferPointer(rebasing: out[0..<outcome.length]))
        // The MAC covered the TSIG's original ID, but the client matches the reply by the ID it
        // sent (they differ when a forwarder rewrote it, RFC 8945 §4.3.1): the reply carries that.
        reply[0] = request[0]
        reply[1] = request[1]
        return [TSIG.sign(reply, key: key, priorMAC: record.mac, time: now).message]
    }

    /// A peer's question about this member's observation zone: AXFR and IXFR from its journal,
    /// and any other query (the SOA a peer asks every second) answered from it, each only when
    /// signed with the fleet's key and sent from a member's address.
    static func fleetQuery(
        _ request: [UInt8], _ q: Question, source: [UInt8], tcp: Bool, _ fleet: FleetLane, now: UInt64
    ) -> ([[UInt8]], Event?) {
        let policy = PrimaryZone(zone: fleet.origin, allow: fleet.allow, key: fleet.key)
        let keyring = TSIGKeyring([fleet.key])
        if q.type == .axfr || q.type == .ixfr {
            let out = TransferResponder.respond(
                to: request, source: source, tcp: tcp, keyring: keyring, primaries: [fleet.origin: policy],
                journals: [fleet.origin: fleet.journal], serves: { _ in true }, now: now)
            let rcode = out.first.map { $0[3] & 0xF } ?? 0
            return (out, .transfer(zone: q.name, type: q.type, rcode: rcode, messages: out.count))
        }
        let verdict = keyring.verify(request: request, now: now)
        if let e = TransferResponder.tsigFailure(request, verdict, now: now) { return ([e], nil) }
        guard case .valid(let key, let record) = verdict, key == fleet.key, let m = try? Message.decode(request),
            fleet.allow.contains(where: { $0.contains(source) })
        else {
            return ([TransferResponder.header(request, rcode: RCode.refused.rawValue)], nil)
        }
        var reply = Message(id: m.id, flags: Header.qrBit | Header.aaBit, rcode: RCode.noError.rawValue)
        reply.question = [q]
        if q.type == .soa || q.type == .any {
            reply.answer = [fleet.journal.current.soa]
        } else {
            reply.authority = [fleet.journal.current.soa]
        }
        return ([TSIG.sign(reply.encode(), key: key, priorMAC: record.mac, time: now).message], nil)
    }

    /// NOTIFY (RFC 1996 §3.7): for a zone we are a secondary of, signed when the zone has a key:
    /// acknowledged, and the zone is checked at once. Otherwise REFUSED (NOTAUTH for TSIG
    /// failures).
    static func notify(_ request: [UInt8], source: [UInt8], _ s: State, now: UInt64) -> ([[UInt8]], Event?) {
        // The fleet's key is known to the lane whether or not it is also listed for transfers.
        let keyring = s.fleet.map { TSIGKeyring(Array(s.keyring.keys.values) + [$0.key]) } ?? s.keyring
        let verdict = keyring.verify(request: request, now: now)
        if let e = TransferResponder.tsigFailure(request, verdict, now: now) { return ([e], nil) }
        guard let m = try? Message.decode(request), let q = m.question.first else {
            return ([TransferResponder.header(request, rcode: RCode.formErr.rawValue)], nil)
        }
        var key: TSIGKey?
        var mac: [UInt8]?
        if case .valid(let k, let r) = verdict {
            key = k
            mac = r.mac
        }
        let peer = s.fleet.map { $0.peers.contains(q.name) } ?? false
        let accepted =
            peer
            ? (key != nil && key == s.fleet?.key)
            : (s.secondaries[q.name].map { $0.key == nil || $0.key == key } ?? false)
        let rcode = accepted ? RCode.noError.rawValue : RCode.refused.rawValue
        var reply = Message(
            id: m.id, flags: Header.qrBit | UInt16(Opcode.notify) << 11 | (accepted ? Header.aaBit : 0), rcode: rcode)
        reply.question = [q]
        let bytes = reply.encode()
        let event: Event = accepted ? (peer ? .fleetNotified(q.name) : .notified(q.name)) : .notifyRefused(q.name)
        guard let key else { return ([bytes], event) }
        return ([TSIG.sign(bytes, key: key, priorMAC: mac, time: now).message], event)
    }
}
