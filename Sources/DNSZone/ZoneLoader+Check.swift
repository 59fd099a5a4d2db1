import DNSWire

/// What `ZoneLoader.check` found. Errors make a zone unservable; warnings do not.
public struct ZoneCheck: Sendable, Equatable {
    public var errors: [ZoneProblem]
    public var warnings: [ZoneProblem]

    public init(errors: [ZoneProblem] = [], warnings: [ZoneProblem] = []) {
        self.errors = errors
        self.warnings = warnings
    }
}

extension ZoneLoader {
    /// The semantic checks `named-checkzone` makes, reporting every problem, in file order, each
    /// as `<owner> <TYPE>: <what is wrong>` at the record's line. Whole-zone problems (no SOA, no
    /// apex NS) are reported at the SOA's line, or line 1 of the zone file.
    ///
    /// Errors: an SOA missing, repeated or away from the apex, no NS RRset at the apex (RFC 1035
    /// §5.2); data outside the origin; CNAME beside other data except RRSIG and NSEC, or more
    /// than one CNAME (RFC 1034 §3.6.2, RFC 2181 §10.1, RFC 4035 §2.5); an in-zone NS target
    /// without an A or AAAA record, "missing glue" when it lies at or below a zone cut, or that
    /// is a CNAME (RFC 1034 §4.2.1, RFC 2181 §10.3); data at or below a zone cut other than
    /// NS, DS, NSEC, RRSIG at the cut and A/AAAA glue (occluded, RFC 1034 §4.2.1, RFC 4035
    /// §2.4); names below a DNAME (RFC 6672 §2.4); TTLs above 2^31-1 (RFC 2181 §8).
    /// Warnings: records of one RRset with different TTLs (RFC 2181 §5.2).
    public static func check(_ zone: ZoneFile) -> ZoneCheck {
        var checker = ZoneChecker(zone: zone)
        return checker.run()
    }
}

struct ZoneChecker {
    let zone: ZoneFile
    /// In-zone records by owner, as indices into `zone.records`.
    private var byName: [DNSName: [Int]] = [:]
    /// Owners of NS RRsets below the apex: delegation points.
    private var cuts: Set<DNSName> = []
    private var dnames: Set<DNSName> = []
    /// (sort key, problem): the key is the record's index, -1 for whole-zone problems.
    private var errors: [(Int, ZoneProblem)] = []
    private var warnings: [(Int, ZoneProblem)] = []

    init(zone: ZoneFile) { self.zone = zone }

    mutating func run() -> ZoneCheck {
        for (i, loaded) in zone.records.enumerated() {
            let r = loaded.record
            guard r.name.isSubdomain(of: zone.origin) else {
                error(i, "out of zone \(zone.origin)")
                continue
            }
            byName[r.name, default: []].append(i)
            if r.type == .ns, r.name != zone.origin { cuts.insert(r.name) }
            if r.type == .dname { dnames.insert(r.name) }
        }
        checkApex()
        for i in zone.records.indices where zone.records[i].record.name.isSubdomain(of: zone.origin) {
            checkRecord(i)
        }
        for name in byName.keys { checkName(name) }
        return ZoneCheck(errors: inFileOrder(errors), warnings: inFileOrder(warnings))
    }

    /// Exactly one SOA, at the apex, and an NS RRset there (RFC 1035 §5.2).
    private mutating func checkApex() {
        let soas = byName.values.joined().filter { zone.records[$0].record.type == .soa }.sorted()
        let apexSOAs = soas.filter { zone.records[$0].record.name == zone.origin }
        for i in soas where zone.records[i].record.name != zone.origin {
            error(i, "SOA record not at the zone apex \(zone.origin)")
        }
        for i in apexSOAs.dropFirst() { error(i, "more than one SOA record at the zone apex") }
        let at = apexSOAs.first
        if at == nil { zoneError("\(zone.origin): no SOA record at the zone apex") }
        let apexNS = byName[zone.origin, default: []].contains { zone.records[$0].record.type == .ns }
        if !apexNS {
            if let at {
                error(at, "no NS records at the zone apex", prefix: "\(zone.origin):")
            } else {
                zoneError("\(zone.origin): no NS records at the zone apex")
            }
        }
    }

    private mutating func checkRecord(_ i: Int) {
        let r = zone.records[i].record
        if r.ttl > UInt32(Int32.max) { error(i, "TTL \(r.ttl) above the maximum 2147483647") }
        var above = r.name
        while above != zone.origin {
            above = above.parent
            if dnames.contains(above) {
                error(i, "below the DNAME at \(above)")
                break
            }
        }
        if let cut = ancestors(of: r.name).first(where: cuts.contains) {
            let atCut = r.name == cut
            let allowed: Bool =
                switch r.type {
                case .a, .aaaa: true
                case .ns, .ds, .nsec, .rrsig: atCut
                default: false
                }
            if !allowed { error(i, "occluded by the delegation at \(cut)") }
            if !atCut || r.type != .ns { return }
        }
        if r.type == .ns, let target = r.targetName, target.isSubdomain(of: zone.origin) {
            checkNSTarget(i, target)
        }
    }

    /// An in-zone NS target must have an address, and not be an alias (RFC 2181 §10.3).
    private mutating func checkNSTarget(_ i: Int, _ target: DNSName) {
        let types = byName[target, default: []].map { zone.records[$0].record.type }
        if types.contains(.cname) {
            error(i, "NS target \(target) is a CNAME, not a host name")
        } else if !types.contains(.a) && !types.contains(.aaaa) {
            let glue = ancestors(of: target).contains(where: cuts.contains)
            error(i, "\(glue ? "missing glue: " : "")no A or AAAA record for \(target)")
        }
    }

    /// CNAME exclusivity (RFC 1034 §3.6.2, RFC 2181 §10.1) and equal TTLs per RRset (RFC 2181 §5.2).
    private mutating func checkName(_ name: DNSName) {
        let indices = byName[name, default: []]
        let cnames = indices.filter { zone.records[$0].record.type == .cname }
        for i in cnames.dropFirst() { error(i, "more than one CNAME record at the same name") }
        if let first = cnames.first {
            var others: [RRType] = []
            for i in indices {
                let t = zone.records[i].record.type
                if t != .cname, t != .rrsig, t != .nsec, !others.contains(t) { others.append(t) }
            }
            if !others.isEmpty {
                error(
                    first,
                    "CNAME and other data at the same name (\(others.map(\.description).joined(separator: ", ")))")
            }
        }
        // One TTL per RRset; RRSIGs form one set per covered type (RFC 4034 §3).
        var rrsetTTL: [UInt32: UInt32] = [:]
        for i in indices {
            let r = zone.records[i].record
            var key = UInt32(r.type.rawValue) << 16
            if r.type == .rrsig, r.rdata.count >= 2 { key |= UInt32(r.rdata[0]) << 8 | UInt32(r.rdata[1]) }
            let expected = rrsetTTL[key, default: r.ttl]
            rrsetTTL[key] = expected
            if r.ttl != expected { warning(i, "TTL \(r.ttl) differs from \(expected) earlier in the same RRset") }
        }
    }

    /// Stable sort by record index, so problems read top to bottom through the zone.
    private func inFileOrder(_ problems: [(Int, ZoneProblem)]) -> [ZoneProblem] {
        problems.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }.map(\.element.1)
    }

    /// `name` and its ancestors down to (not including) the apex, highest first.
    private func ancestors(of name: DNSName) -> [DNSName] {
        var out: [DNSName] = []
        var n = name
        while n != zone.origin, n.isSubdomain(of: zone.origin) {
            out.append(n)
            n = n.parent
        }
        return out.reversed()
    }

    private mutating func error(_ i: Int, _ message: String, prefix: String? = nil) {
        let loaded = zone.records[i]
        let what = prefix ?? "\(loaded.record.name) \(loaded.record.type):"
        errors.append((i, ZoneProblem(file: loaded.file, line: loaded.line, message: "\(what) \(message)")))
    }

    private mutating func zoneError(_ message: String) {
        errors.append((-1, ZoneProblem(file: zone.file, line: 1, message: message)))
    }

    private mutating func warning(_ i: Int, _ message: String) {
        let loaded = zone.records[i]
        let what = "\(loaded.record.name) \(loaded.record.type):"
        warnings.append((i, ZoneProblem(file: loaded.file, line: loaded.line, message: "\(what) \(message)")))
    }
}
