import Atomics
import DNSWire
import Foundation
import Health
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import Responder
import Transfer

/// The slow lane beside the query path: zone transfers (AXFR, IXFR), NOTIFY and TSIG-signed
/// queries. The listeners ask `intercepts` (a few byte reads, no allocation) and hand such
/// messages over; the answer is built off the event loop and written back when ready. State is
/// set by the runtime actor and read under a lock here, never on the query path.
public final class TransferHub: Sendable {
    struct State: Sendable {
        var keyring = TSIGKeyring.empty
        var policies: [DNSName: TransferPolicy] = [:]
        var journals: [DNSName: ZoneJournal] = [:]
        /// Zones we are a secondary for: the key their primary signs with, and its address.
        var secondaries: [DNSName: (key: TSIGKey?, primary: [UInt8]?)] = [:]
        var snapshot: Snapshot?
        var health: HealthView = .empty
    }

    let state = NIOLockedValueBox(State())
    /// Set when keys are configured: only then are signed queries taken off the fast path.
    let checkSignatures = ManagedAtomic<Bool>(false)
    /// Set when some zone is pulled from a primary: only then is NOTIFY answered (else NOTIMP,
    /// from the Responder, as before).
    let acceptNotify = ManagedAtomic<Bool>(false)
    let notifyHandler = NIOLockedValueBox<(@Sendable (DNSName) -> Void)?>(nil)
    let logger: Logger

    init(logger: Logger) { self.logger = logger }

    func update(_ change: (inout State) -> Void) {
        let (keys, secondaries) = state.withLockedValue { s in
            change(&s)
            return (!s.keyring.keys.isEmpty, !s.secondaries.isEmpty)
        }
        checkSignatures.store(keys, ordering: .relaxed)
        acceptNotify.store(secondaries, ordering: .relaxed)
    }

    /// True for messages the slow lane answers: NOTIFY, AXFR, IXFR, and (when keys are
    /// configured) anything carrying a TSIG record.
    @inline(__always)
    func intercepts(_ p: UnsafeRawBufferPointer) -> Bool {
        guard p.count >= Header.size, p[2] & 0x80 == 0 else { return false }
        let opcode = (p[2] >> 3) & 0xF
        if opcode == Opcode.notify { return acceptNotify.load(ordering: .relaxed) }
        guard opcode == Opcode.query, p.u16(4) == 1 else { return false }
        var i = Header.size
        while i < p.count {
            let l = Int(p[i])
            if l == 0 { break }
            if l > 63 { return false }
            i += 1 + l
        }
        guard i + 5 <= p.count else { return false }
        let qtype = p.u16(i + 1)
        if qtype == RRType.axfr.rawValue || qtype == RRType.ixfr.rawValue { return true }
        let records = Int(p.u16(6)) + Int(p.u16(8)) + Int(p.u16(10))
        guard records > 0, checkSignatures.load(ordering: .relaxed) else { return false }
        // The TSIG is the last record: walk to it (owner names may be compressed).
        i += 5
        for _ in 0..<records {
            while i < p.count {
                let l = Int(p[i])
                if l == 0 { i += 1; break }
                if l & 0xC0 == 0xC0 { i += 2; break }
                i += 1 + l
            }
            guard i + 10 <= p.count else { return false }
            if p.u16(i) == RRType.tsig.rawValue { return true }
            i += 10 + Int(p.u16(i + 8))
        }
        return false
    }

    /// Answers an intercepted message and writes the replies to `channel` (framed on TCP,
    /// addressed to `remote` on UDP). `done` runs on the channel's loop once they are written.
    func handle(
        _ message: ByteBuffer, remote: SocketAddress?, channel: Channel, tcp: Bool,
        done: (@Sendable () -> Void)? = nil
    ) {
        let bytes = Array(message.readableBytesView)
        let source = remote.map(TransferHub.addressBytes) ?? []
        Task {
            let replies = self.answer(bytes, source: source, tcp: tcp)
            channel.eventLoop.execute {
                for r in replies {
                    var b = channel.allocator.buffer(capacity: r.count + 2)
                    if tcp {
                        b.writeInteger(UInt16(r.count))
                        b.writeBytes(r)
                        channel.write(b, promise: nil)
                    } else if let remote {
                        b.writeBytes(r)
                        channel.write(AddressedEnvelope(remoteAddress: remote, data: b), promise: nil)
                    }
                }
                channel.flush()
                done?()
            }
        }
    }

    /// Answers an intercepted UDP message off the worker's thread; `send` takes each reply.
    func handleDatagram(_ bytes: [UInt8], source: [UInt8], send: @escaping @Sendable ([UInt8]) -> Void) {
        Task {
            for reply in self.answer(bytes, source: source, tcp: false) { send(reply) }
        }
    }

    static func addressBytes(_ a: SocketAddress) -> [UInt8] {
        switch a {
        case .v4(let v4): return withUnsafeBytes(of: v4.address.sin_addr) { Array($0) }
        case .v6(let v6): return withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
        default: return []
        }
    }

    func answer(_ request: [UInt8], source: [UInt8], tcp: Bool) -> [[UInt8]] {
        let s = state.withLockedValue { $0 }
        let now = UInt64(Date().timeIntervalSince1970)
        guard request.count >= Header.size else { return [] }
        let opcode = (request[2] >> 3) & 0xF
        if opcode == Opcode.notify { return notify(request, source: source, s, now: now) }
        if let q = try? Message.decode(request).question.first, q.type == .axfr || q.type == .ixfr {
            let catalog = s.snapshot?.catalog
            let out = TransferResponder.respond(
                to: request, source: source, tcp: tcp, keyring: s.keyring, policies: s.policies, journals: s.journals,
                serves: { catalog?.zone(named: $0) != nil }, now: now)
            let rcode = out.first.map { $0[3] & 0xF } ?? 0
            let rcodeName = RCode(rawValue: UInt16(rcode))?.description ?? "\(rcode)"
            Counter(label: "carousel_transfers_total", dimensions: [("type", "\(q.type)"), ("rcode", rcodeName)])
                .increment()
            logger.info(
                "zone transfer",
                metadata: [
                    "zone": "\(q.name)", "type": "\(q.type)", "client": "\(TransferHub.text(source))",
                    "rcode": "\(rcode)", "messages": "\(out.count)",
                ])
            return out
        }
        return signedQuery(request, s, tcp: tcp, now: now)
    }

    /// An ordinary query with a TSIG: verified, answered by the Responder, signed.
    func signedQuery(_ request: [UInt8], _ s: State, tcp: Bool, now: UInt64) -> [[UInt8]] {
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
                scratch: ResponderScratch())
        }
        guard outcome.length > 0 else { return [] }
        let reply = Array(UnsafeRawBufferPointer(rebasing: out[0..<outcome.length]))
        return [TSIG.sign(reply, key: key, priorMAC: record.mac, time: now).message]
    }

    /// NOTIFY (RFC 1996 §3.7): for a zone we are a secondary of, from its primary, signed when
    /// the zone has a key: acknowledged, and the zone is checked at once. Otherwise REFUSED
    /// (NOTAUTH for TSIG failures).
    func notify(_ request: [UInt8], source: [UInt8], _ s: State, now: UInt64) -> [[UInt8]] {
        let verdict = s.keyring.verify(request: request, now: now)
        if let e = TransferResponder.tsigFailure(request, verdict, now: now) { return [e] }
        guard let m = try? Message.decode(request), let q = m.question.first else {
            return [TransferResponder.header(request, rcode: RCode.formErr.rawValue)]
        }
        var key: TSIGKey?
        var mac: [UInt8]?
        if case .valid(let k, let r) = verdict {
            key = k
            mac = r.mac
        }
        var rcode = RCode.refused.rawValue
        if let sec = s.secondaries[q.name], sec.key == nil || sec.key == key {
            rcode = RCode.noError.rawValue
            logger.info("NOTIFY received", metadata: ["zone": "\(q.name)", "from": "\(TransferHub.text(source))"])
            notifyHandler.withLockedValue { $0 }?(q.name)
        } else {
            logger.notice("NOTIFY refused", metadata: ["zone": "\(q.name)", "from": "\(TransferHub.text(source))"])
        }
        var reply = Message(
            id: m.id, flags: Header.qrBit | UInt16(Opcode.notify) << 11 | (rcode == 0 ? Header.aaBit : 0), rcode: rcode)
        reply.question = [q]
        let bytes = reply.encode()
        guard let key else { return [bytes] }
        return [TSIG.sign(bytes, key: key, priorMAC: mac, time: now).message]
    }

    static func text(_ a: [UInt8]) -> String {
        if a.count == 4 { return a.map(String.init).joined(separator: ".") }
        return a.map { String(format: "%02x", $0) }.joined()
    }
}
