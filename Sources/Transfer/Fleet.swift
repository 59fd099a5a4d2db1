import DNSWire
import Health

/// One instance of a fleet (`fleet.members`): its id (a DNS label) and the address its DNS
/// listener answers on, which is where its peers ask for its observations.
public struct FleetMember: Sendable, Hashable {
    public var id: String
    public var address: HostPort

    public init(id: String, address: HostPort) {
        self.id = id
        self.address = address
    }
}

/// How many of a target's fresh observers must see it down for the fleet to take it out.
public enum Quorum: Sendable, Hashable, CustomStringConvertible {
    /// More than half of the observers that have a verdict.
    case majority
    /// At least this many (all of them when fewer have a verdict).
    case count(Int)
    /// At least this share, in percent, rounded up (never below one observer).
    case percent(Int)

    /// The down votes that take a target out when `voters` observers (≥ 1) have a verdict.
    public func threshold(voters: Int) -> Int {
        switch self {
        case .majority: voters / 2 + 1
        case .count(let n): min(n, voters)
        case .percent(let p): max(1, (p * voters + 99) / 100)
        }
    }

    public var description: String {
        switch self {
        case .majority: "majority"
        case .count(let n): "\(n)"
        case .percent(let p): "\(p)%"
        }
    }
}

/// `fleet:` in the config: every instance, which one this is, the key that signs every exchange,
/// the quorum, and how long a silent member keeps its votes.
public struct FleetSettings: Sendable, Hashable {
    public var members: [FleetMember]
    /// This instance's id: from the config, the command line, or (nil here) the member whose
    /// address is local, found at start.
    public var selfID: String?
    public var key: TSIGKey
    public var quorum: Quorum
    public var staleAfter: Duration
    /// How many live members probe each target (nil: all of them), chosen by rendezvous hashing.
    public var observersPerTarget: Int?
    /// How often each instance asks every peer's SOA (and so notices a silent one).
    public static let pollInterval: Duration = .seconds(1)

    public init(
        members: [FleetMember], selfID: String? = nil, key: TSIGKey, quorum: Quorum = .majority,
        staleAfter: Duration = .seconds(3), observersPerTarget: Int? = nil
    ) {
        self.members = members
        self.selfID = selfID
        self.key = key
        self.quorum = quorum
        self.staleAfter = staleAfter
        self.observersPerTarget = observersPerTarget
    }

    /// The members that probe `target` (`TargetKey.description`) when `live` are up: the
    /// `observersPerTarget` highest by rendezvous hashing (all of them without a limit). When one
    /// goes silent only its targets move, each to its next choice; when it returns they move back.
    public func observers(of target: String, live: [String]) -> Set<String> {
        guard let n = observersPerTarget, n < live.count else { return Set(live) }
        let ranked = live.map { id -> (UInt64, String) in
            (Array("\(id)\n\(target)".utf8).withUnsafeBytes { FNV1a.hash64($0) }, id)
        }.sorted { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1 < $1.1 }
        return Set(ranked.prefix(n).map(\.1))
    }

    /// The zone in which a member serves what it observes: `<id>.fleet.invalid.` (RFC 6761's
    /// `.invalid` is never delegated, so it cannot clash with a zone anyone serves).
    public static func origin(of id: String) -> DNSName {
        // Ids are checked to be DNS labels when the config is read.
        (try? DNSName("\(id).fleet.invalid.")) ?? DNSName.root
    }

    /// The member whose observation zone `origin` is.
    public func member(servingZone origin: DNSName) -> FleetMember? {
        members.first { FleetSettings.origin(of: $0.id) == origin }
    }
}

/// What one member observes, as a zone its peers transfer (the layout is a contract: the README's
/// "Running a fleet" documents it):
///
///     ns1.fleet.invalid.  SOA   ns1.fleet.invalid. hostmaster.ns1.fleet.invalid. SERIAL 1 1 EXPIRE 0
///     ns1.fleet.invalid.  NS    ns1.fleet.invalid.
///     ns1.fleet.invalid.  TXT   "member=ns1"
///     t<16 hex digits>.ns1.fleet.invalid.  TXT  "down" "192.0.2.10" "http:80:/health:200…"
///     t<16 hex digits>.ns1.fleet.invalid.  TXT  "up w=350" "192.0.2.11" "agent:7777"
///
/// One TXT per target this member has a verdict on (`up` or `down`; a target it has not judged
/// yet is absent): the verdict (an `up` whose weight factor is not full says it, in thousandths,
/// in steps of 50: an agent's report, a slow-start ramp), the target's address, then its check's
/// fingerprint (in pieces of at most 255 bytes). The owner's label is a hash of address and fingerprint, so each target has
/// one name; readers key targets by the text, never by the hash.
public enum ObservationZone {
    /// A version of `id`'s observation zone holding `verdicts` (by `TargetKey.description`).
    public static func version(of id: String, serial: UInt32, verdicts: [(target: TargetKey, state: HealthState)])
        -> ZoneVersion
    {
        let records = apex(of: id) + verdicts.compactMap { record(of: id, $0.target, $0.state) }
        return ZoneVersion(origin: FleetSettings.origin(of: id), soa: soa(of: id, serial: serial), records: records)
    }

    /// The zone's SOA at `serial`.
    public static func soa(of id: String, serial: UInt32) -> ResourceRecord {
        let origin = FleetSettings.origin(of: id)
        let rname = (try? DNSName("hostmaster.\(origin)")) ?? origin
        var rdata = origin.wire + rname.wire
        for v in [serial, 1, 1, 600, 0] as [UInt32] { rdata += bigEndian(v) }
        return ResourceRecord(name: origin, type: .soa, ttl: 0, rdata: rdata)
    }

    /// The records at the zone's apex besides the SOA: NS, and the member's TXT.
    public static func apex(of id: String) -> [ResourceRecord] {
        let origin = FleetSettings.origin(of: id)
        return [
            ResourceRecord(name: origin, type: .ns, ttl: 0, rdata: origin.wire),
            ResourceRecord(name: origin, type: .txt, ttl: 0, rdata: txt(["member=\(id)"])),
        ]
    }

    /// The TXT of one verdict; nil for `unknown` (no verdict, no record).
    public static func record(
        of id: String, _ target: TargetKey, _ state: HealthState, factor: UInt16 = HealthView.fullFactor
    ) -> ResourceRecord? {
        guard state != .unknown else { return nil }
        let text = target.description
        let label = "t" + hex(Array(text.utf8).withUnsafeBytes { FNV1a.hash64($0) })
        guard let owner = try? DNSName("\(label).\(FleetSettings.origin(of: id))") else { return nil }
        let verdict = state == .up && factor != HealthView.fullFactor ? "up w=\(factor)" : "\(state)"
        var strings = [verdict, target.address]
        var fingerprint = Substring(target.fingerprint)
        repeat {
            var piece = fingerprint.prefix(255)
            while piece.utf8.count > 255 { piece = piece.dropLast() }
            strings.append(String(piece))
            fingerprint = fingerprint.dropFirst(piece.count)
        } while !fingerprint.isEmpty
        return ResourceRecord(name: owner, type: .txt, ttl: 0, rdata: txt(strings))
    }

    /// One verdict read from a record: the target (`TargetKey.description`), its state and its
    /// weight factor; nil for records that are not verdicts.
    public static func verdict(in r: ResourceRecord) -> (target: String, state: HealthState, factor: UInt16)? {
        guard r.type == .txt else { return nil }
        let strings = texts(r.rdata)
        guard strings.count >= 3 else { return nil }
        let words = strings[0].split(separator: " ")
        var factor = HealthView.fullFactor
        if words.count == 2, words[1].hasPrefix("w="), let f = UInt16(words[1].dropFirst(2)), f <= 1000 {
            factor = f
        } else if words.count != 1 {
            return nil
        }
        switch words[0] {
        case "up": return (strings[1] + " " + strings[2...].joined(), .up, factor)
        case "down": return (strings[1] + " " + strings[2...].joined(), .down, HealthView.fullFactor)
        default: return nil
        }
    }

    /// The verdicts in a transferred observation zone, by `TargetKey.description`; records that
    /// are not verdicts are passed over.
    public static func verdicts(in records: [ResourceRecord]) -> [String: HealthState] {
        var out: [String: HealthState] = [:]
        for r in records {
            if let v = verdict(in: r) { out[v.target] = v.state }
        }
        return out
    }

    /// `verdicts` brought forward by IXFR diffs (each one's deleted records, then its added
    /// ones), without the zone's records.
    public static func apply(_ diffs: [ZoneDiff], to verdicts: inout [String: HealthState]) {
        for d in diffs {
            for r in d.deleted {
                if let v = verdict(in: r), verdicts[v.target] == v.state { verdicts[v.target] = nil }
            }
            for r in d.added {
                if let v = verdict(in: r) { verdicts[v.target] = v.state }
            }
        }
    }

    static func txt(_ strings: [String]) -> [UInt8] {
        var out: [UInt8] = []
        for s in strings {
            let bytes = Array(s.utf8.prefix(255))
            out.append(UInt8(bytes.count))
            out += bytes
        }
        return out
    }

    static func texts(_ rdata: [UInt8]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < rdata.count {
            let n = Int(rdata[i])
            guard i + 1 + n <= rdata.count else { return [] }
            out.append(String(decoding: rdata[(i + 1)..<(i + 1 + n)], as: UTF8.self))
            i += 1 + n
        }
        return out
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }

    static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}

/// Every instance's view from the same observations: for each target, its fresh observers' votes
/// against the quorum.
public enum FleetTally {
    /// One target's votes.
    public struct Votes: Sendable, Equatable {
        /// Member id → its verdict (`up` or `down`), for the fresh members that have one.
        public var verdicts: [String: HealthState] = [:]
        /// Member id → the weight factor it sees, for those whose `up` is not at the full factor.
        public var factors: [String: UInt16] = [:]
        /// The fleet's factor: the lowest its `up` voters see (the slowest ramp, the agent's
        /// report), nil without an `up` vote.
        public var factor: UInt16? {
            let up = verdicts.filter { $0.value == .up }.keys
            return up.isEmpty ? nil : up.map { factors[$0] ?? HealthView.fullFactor }.min()
        }
        public var down: Int { verdicts.values.filter { $0 == .down }.count }
        public var voters: Int { verdicts.count }

        public init(verdicts: [String: HealthState] = [:]) { self.verdicts = verdicts }

        /// The fleet's state: unknown without a vote, down when `quorum` of the voters say so.
        public func state(_ quorum: Quorum) -> HealthState {
            guard voters > 0 else { return .unknown }
            return down >= quorum.threshold(voters: voters) ? .down : .up
        }
    }

    /// The fleet's view: `local` (this instance's own, by target id) with each target's state
    /// replaced by the quorum of this instance's verdict and the fresh peers' (`peers`: member id →
    /// verdicts by `TargetKey.description`). Drains and weight factors stay as `local` has them.
    /// `observers` gives each target's observers (nil: every member votes): only theirs count.
    /// `targets` gives each target id's `TargetKey.description`.
    public static func view(
        local: HealthView, selfID: String, targets: [Int32: String], peers: [String: [String: HealthState]],
        quorum: Quorum, observers: (Int32) -> Set<String>? = { _ in nil }
    ) -> HealthView {
        var tally: [Int32: Votes] = [:]
        for (id, target) in targets {
            tally[id] = votes(
                local: local, id: id, selfID: selfID, target: target, peers: peers, observers: observers(id))
        }
        return view(local: local, tally: tally, quorum: quorum)
    }

    /// The view from votes already counted: each target's state by the quorum, and its factor the
    /// lowest of its `up` voters'.
    public static func view(local: HealthView, tally: [Int32: Votes], quorum: Quorum) -> HealthView {
        var states = local.states
        var factors = local.factors
        for (id, v) in tally where Int(id) < states.count {
            let drained = states[Int(id)] & HealthView.drainedBit
            states[Int(id)] = v.state(quorum).rawValue | drained
            let f = v.factor ?? HealthView.fullFactor
            if factors.isEmpty && f != HealthView.fullFactor {
                factors = (0..<states.count).map { local.factor(Int32($0)) }
            }
            if Int(id) < factors.count { factors[Int(id)] = f }
        }
        return HealthView(states: states, factors: factors)
    }

    /// A factor as members exchange it: in steps of 50 thousandths (a ramp does not send a version
    /// every few milliseconds), never rounded to or from 0 (an agent's `drain`).
    public static func quantized(_ f: UInt16) -> UInt16 {
        guard f > 0 else { return 0 }
        return min(HealthView.fullFactor, max(50, (f + 25) / 50 * 50))
    }

    /// One target's votes: this instance's verdict and each fresh peer's.
    public static func votes(
        local: HealthView, id: Int32, selfID: String, target: String, peers: [String: [String: HealthState]],
        factors: [String: [String: UInt16]] = [:], observers: Set<String>? = nil
    ) -> Votes {
        var v = Votes()
        let own = local.state(id)
        if own != .unknown, observers?.contains(selfID) ?? true {
            v.verdicts[selfID] = own
            let f = quantized(local.factor(id))
            if own == .up && f != HealthView.fullFactor { v.factors[selfID] = f }
        }
        for (member, verdicts) in peers where observers?.contains(member) ?? true {
            guard let s = verdicts[target] else { continue }
            v.verdicts[member] = s
            if s == .up, let f = factors[member]?[target] { v.factors[member] = f }
        }
        return v
    }
}
