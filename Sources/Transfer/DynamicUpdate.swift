import DNSWire

/// Who may update a zone (`updates:`): the keys that may sign (nothing unsigned, ever), the
/// addresses they may come from, and the names they may touch (empty: any in the zone).
public struct UpdatePolicy: Sendable, Hashable {
    public var zone: DNSName
    public var keys: [TSIGKey]
    public var allow: [IPPrefix]
    /// `www.example.com` (that name) or `*.pool.example.com` (any name below it).
    public var names: [String]
    /// Where acknowledged updates are kept (appended and synced before the answer); nil: memory
    /// only (lost at restart).
    public var journal: String?

    public init(zone: DNSName, keys: [TSIGKey], allow: [IPPrefix], names: [String] = [], journal: String? = nil) {
        self.zone = zone
        self.keys = keys
        self.allow = allow
        self.names = names
        self.journal = journal
    }

    /// Whether `name` is one the policy lets an update touch.
    public func permits(_ name: DNSName) -> Bool {
        guard !names.isEmpty else { return true }
        return names.contains { pattern in
            if pattern.hasPrefix("*.") {
                guard let base = try? DNSName(String(pattern.dropFirst(2)) + ".") else { return false }
                return name.isSubdomain(of: base) && name != base
            }
            guard let exact = try? DNSName(pattern.hasSuffix(".") ? pattern : pattern + ".") else { return false }
            return name == exact
        }
    }
}

/// What one update did to a zone: the records it removed and added (a TTL change is both), and
/// the serial it made. Replaying it on a zone that already holds it changes nothing.
public struct UpdateEffect: Sendable, Equatable {
    public var serial: UInt32
    public var removed: [ResourceRecord]
    public var added: [ResourceRecord]

    public init(serial: UInt32, removed: [ResourceRecord], added: [ResourceRecord]) {
        self.serial = serial
        self.removed = removed
        self.added = added
    }
}

/// A zone's records by owner and type, for evaluating updates and applying their effects (SOA
/// kept apart: an update never sets it; the serial moves by one per update).
public struct UpdatableZone: Sendable {
    public let origin: DNSName
    public private(set) var soa: ResourceRecord
    var sets: [DNSName: [RRType: [ResourceRecord]]] = [:]

    public init(origin: DNSName, soa: ResourceRecord, records: [ResourceRecord]) {
        self.origin = origin
        self.soa = soa
        for r in records where r.type != .soa { sets[r.name, default: [:]][r.type, default: []].append(r) }
    }

    public var serial: UInt32 { SOA.serial(soa.rdata) }

    public mutating func setSerial(_ serial: UInt32) { soa = SOA.setting(serial: serial, in: soa) }

    /// Every record but the SOA.
    public var records: [ResourceRecord] { sets.values.flatMap { $0.values.joined() } }

    func rrset(_ name: DNSName, _ type: RRType) -> [ResourceRecord] {
        type == .soa ? (name == origin ? [soa] : []) : sets[name]?[type] ?? []
    }

    func inUse(_ name: DNSName) -> Bool { name == origin || !(sets[name]?.isEmpty ?? true) }

    /// Applies an effect (an acknowledged update, replayed): its removals, then its additions,
    /// each at most once, and its serial.
    public mutating func apply(_ e: UpdateEffect) {
        for r in e.removed { remove(r) }
        for r in e.added where !rrset(r.name, r.type).contains(where: { same($0, r) && $0.ttl == r.ttl }) {
            remove(r)
            sets[r.name, default: [:]][r.type, default: []].append(r)
        }
        soa = SOA.setting(serial: e.serial, in: soa)
    }

    mutating func remove(_ r: ResourceRecord) {
        guard var set = sets[r.name]?[r.type] else { return }
        set.removeAll { same($0, r) }
        sets[r.name]?[r.type] = set.isEmpty ? nil : set
        if sets[r.name]?.isEmpty == true { sets[r.name] = nil }
    }

    func same(_ a: ResourceRecord, _ b: ResourceRecord) -> Bool { a.rdata == b.rdata }
}

/// RFC 2136 §3: an UPDATE message judged against a zone, whole or not at all: the zone
/// section, the prerequisites (§3.2), the update section's prescan (§3.4.1) and, when all hold,
/// its effect (§3.4.2). TSIG and the source address are the caller's (`TransferLane`).
public enum DynamicUpdate {
    public enum Outcome: Sendable, Equatable {
        case applied(UpdateEffect)
        /// Nothing changes; the reply's rcode, and why (for the log).
        case rejected(RCode, String)
    }

    /// The answer to an update: header and zone section, `why` as an Extended DNS Error when the
    /// request had EDNS and was refused, signed with the request's key when it was signed.
    public static func reply(
        to m: Message, rcode: RCode, why: String?, key: TSIGKey?, requestMAC: [UInt8]?, now: UInt64
    ) -> [UInt8] {
        let base = TransferResponder.error(to: m, rcode: rcode, prohibited: rcode == .refused ? why : nil)
        return TransferResponder.sign([base], key: key, requestMAC: requestMAC, now: now)[0]
    }

    static let meta: Set<UInt16> = [251, 252, 253, 254, 255]  // IXFR, AXFR, MAILB, MAILA, ANY

    public static func evaluate(_ m: Message, zone: UpdatableZone, policy: UpdatePolicy) -> Outcome {
        let origin = zone.origin
        // Prerequisites (the answer section).
        var valueSets: [DNSName: [RRType: [[UInt8]]]] = [:]
        for p in m.answer {
            guard p.ttl == 0 else { return .rejected(.formErr, "a prerequisite with a TTL") }
            guard p.name.isSubdomain(of: origin) else { return .rejected(.notZone, "\(p.name) is not in \(origin)") }
            switch p.rrClass {
            case .any:
                guard p.rdata.isEmpty else { return .rejected(.formErr, "class ANY prerequisite with rdata") }
                if p.type.rawValue == 255 {
                    if !zone.inUse(p.name) { return .rejected(.nxDomain, "\(p.name) is not in use") }
                } else if zone.rrset(p.name, p.type).isEmpty {
                    return .rejected(.nxRRSet, "no \(p.type) at \(p.name)")
                }
            case DNSClass(rawValue: 254):
                guard p.rdata.isEmpty else { return .rejected(.formErr, "class NONE prerequisite with rdata") }
                if p.type.rawValue == 255 {
                    if zone.inUse(p.name) { return .rejected(.yxDomain, "\(p.name) is in use") }
                } else if !zone.rrset(p.name, p.type).isEmpty {
                    return .rejected(.yxRRSet, "\(p.type) at \(p.name) exists")
                }
            case .in:
                valueSets[p.name, default: [:]][p.type, default: []].append(p.rdata)
            default:
                return .rejected(.formErr, "a prerequisite of class \(p.rrClass)")
            }
        }
        for (name, types) in valueSets {
            for (type, rdatas) in types {
                let have = zone.rrset(name, type).map(\.rdata)
                if Set(have) != Set(rdatas) || have.isEmpty {
                    return .rejected(.nxRRSet, "\(type) at \(name) is not the set the prerequisite gives")
                }
            }
        }
        // Prescan (the authority section).
        for u in m.authority {
            guard u.name.isSubdomain(of: origin) else { return .rejected(.notZone, "\(u.name) is not in \(origin)") }
            guard policy.permits(u.name) else { return .rejected(.refused, "the key may not touch \(u.name)") }
            switch u.rrClass {
            case .in:
                if meta.contains(u.type.rawValue) { return .rejected(.formErr, "\(u.type) cannot be added") }
            case .any:
                guard u.ttl == 0, u.rdata.isEmpty, ![251, 252, 253, 254].contains(u.type.rawValue) else {
                    return .rejected(.formErr, "a malformed class ANY delete")
                }
            case DNSClass(rawValue: 254):
                guard u.ttl == 0, !meta.contains(u.type.rawValue) else {
                    return .rejected(.formErr, "a malformed class NONE delete")
                }
            default:
                return .rejected(.formErr, "an update of class \(u.rrClass)")
            }
        }
        // Apply to a copy of the names it touches.
        var work = zone
        for u in m.authority where u.type != .soa {
            let apex = u.name == origin
            switch u.rrClass {
            case .in:
                let rr = ResourceRecord(name: u.name, type: u.type, rrClass: .in, ttl: u.ttl, rdata: u.rdata)
                let types = Set(work.sets[u.name]?.keys.map(\.self) ?? [])
                // CNAME and other data do not mix (RFC 2136 §3.4.2.2): such an add is ignored.
                if u.type == .cname && !types.subtracting([.cname, .rrsig, .nsec]).isEmpty { continue }
                if u.type != .cname && types.contains(.cname) { continue }
                var set = work.sets[u.name]?[u.type] ?? []
                if u.type == .cname { set = [] }
                set.removeAll { $0.rdata == rr.rdata }
                set.append(rr)
                // One TTL per RRset: the added record's.
                work.sets[u.name, default: [:]][u.type] = set.map {
                    var r = $0; r.ttl = u.ttl; return r
                }
            case .any:
                if u.type.rawValue == 255 {
                    for t in Array((work.sets[u.name] ?? [:]).keys) where !(apex && t == .ns) {
                        work.sets[u.name]?[t] = nil
                    }
                    if work.sets[u.name]?.isEmpty == true { work.sets[u.name] = nil }
                } else if !(apex && u.type == .ns) {
                    work.sets[u.name]?[u.type] = nil
                    if work.sets[u.name]?.isEmpty == true { work.sets[u.name] = nil }
                }
            default:
                var set = work.sets[u.name]?[u.type] ?? []
                set.removeAll { $0.rdata == u.rdata }
                if apex && u.type == .ns && set.isEmpty { continue }  // never the last NS
                work.sets[u.name]?[u.type] = set.isEmpty ? nil : set
                if work.sets[u.name]?.isEmpty == true { work.sets[u.name] = nil }
            }
        }
        var removed: [ResourceRecord] = []
        var added: [ResourceRecord] = []
        for name in Set(m.authority.map(\.name)) {
            let before = Set((zone.sets[name] ?? [:]).values.joined())
            let after = Set((work.sets[name] ?? [:]).values.joined())
            removed += before.subtracting(after).sorted { $0.description < $1.description }
            added += after.subtracting(before).sorted { $0.description < $1.description }
        }
        // Nothing changed (a delete of what is not there): no new version.
        let serial = removed.isEmpty && added.isEmpty ? zone.serial : zone.serial &+ 1
        return .applied(UpdateEffect(serial: serial, removed: removed, added: added))
    }
}

/// A token bucket for updates (all zones together): `rate` a second, `burst` at once; the rest
/// are REFUSED, so a flood costs a refusal each, never the query path.
public struct UpdateLimiter: Sendable {
    public let rate: Double
    public let burst: Double
    var tokens: Double
    var last: ContinuousClock.Instant?

    public init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
        tokens = burst
    }

    public mutating func take(now: ContinuousClock.Instant) -> Bool {
        if let last {
            let d = now - last
            tokens = min(
                burst, tokens + rate * (Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18))
        }
        last = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
