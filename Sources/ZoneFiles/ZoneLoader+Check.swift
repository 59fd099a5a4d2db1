import DNSWire
import DNSZone

/// What `ZoneLoader.check` found. Errors make a zone unservable; warnings do not.
public struct ZoneCheck: Sendable, Equatable {
    public var errors: [Problem]
    public var warnings: [Problem]

    public init(errors: [Problem] = [], warnings: [Problem] = []) {
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
    /// In-zone owners, each with its records as a linked list of indices into `zone.records`
    /// (`first`, `nextRecord`), in file order: flat arrays, not an array per name.
    private var owners = NameIndex()
    private var first: [Int32] = []
    private var last: [Int32] = []
    private var nextRecord: [Int32] = []
    private var soas: [Int] = []
    /// Owners of NS RRsets below the apex: delegation points.
    private var cuts: Set<DNSName> = []
    private var dnames: Set<DNSName> = []
    /// (sort key, problem): the key is the record's index, -1 for whole-zone problems.
    private var errors: [(Int, Problem)] = []
    private var warnings: [(Int, Problem)] = []

    init(zone: ZoneFile) { self.zone = zone }

    mutating func run() -> ZoneCheck {
        nextRecord = Array(repeating: -1, count: zone.records.count)
        var inZone = [Bool](repeating: false, count: zone.records.count)
        var previousName: [UInt8] = []
        var previousOwner = -1
        for (i, loaded) in zone.records.enumerated() {
            let r = loaded.record
            let o: Int
            if previousOwner >= 0, r.name.wire == previousName {
                // Records of one owner come together in zone files: no hashing for those.
                o = previousOwner
            } else {
                guard r.name.isSubdomain(of: zone.origin) else {
                    error(i, "out of zone \(zone.origin)")
                    continue
                }
                let (known, inserted) = owners.insert(r.name)
                o = known
                if inserted {
                    first.append(-1)
                    last.append(-1)
                }
                previousName = r.name.wire
                previousOwner = o
            }
            inZone[i] = true
            if last[o] < 0 { first[o] = Int32(i) } else { nextRecord[Int(last[o])] = Int32(i) }
            last[o] = Int32(i)
            if r.type == .soa { soas.append(i) }
            if r.type == .ns, r.name != zone.origin { cuts.insert(r.name) }
            if r.type == .dname { dnames.insert(r.name) }
        }
        checkApex()
        for i in zone.records.indices where inZone[i] {
            checkRecord(i)
        }
        for o in 0..<owners.count { checkName(o) }
        return ZoneCheck(errors: inFileOrder(errors), warnings: inFileOrder(warnings))
    }

    /// The records of `name`, as indices, in file order.
    private func records(of name: DNSName) -> [Int] {
        guard let o = owners.index(of: name) else { return [] }
        return records(ofOwner: o)
    }

    private func records(ofOwner o: Int) -> [Int] {
        var out: [Int] = []
        var m = Int(first[o])
        while m >= 0 {
            out.append(m)
            m = Int(nextRecord[m])
        }
        return out
    }

    /// Exactly one SOA, at the apex, and an NS RRset there (RFC 1035 §5.2).
    private mutating func checkApex() {
        let apexSOAs = soas.filter { zone.records[$0].record.name == zone.origin }
        for i in soas where zone.records[i].record.name != zone.origin {
            error(i, "SOA record not at the zone apex \(zone.origin)")
        }
        for i in apexSOAs.dropFirst() { error(i, "more than one SOA record at the zone apex") }
        let at = apexSOAs.first
        if at == nil { zoneError("\(zone.origin): no SOA record at the zone apex") }
        let apexNS = records(of: zone.origin).contains { zone.records[$0].record.type == .ns }
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
        if !dnames.isEmpty {
            var above = r.name
            while above != zone.origin {
                above = above.parent
                if dnames.contains(above) {
                    error(i, "below the DNAME at \(above)")
                    break
                }
            }
        }
        if let cut = topmostCut(above: r.name) {
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

    /// The highest zone cut at or above `name` (below the apex), if any. Few zones have many
    /// cuts: with a handful, testing each costs no allocation, unlike walking up the name.
    private func topmostCut(above name: DNSName) -> DNSName? {
        if cuts.isEmpty { return nil }
        if cuts.count <= 16 {
            var best: DNSName?
            for cut in cuts where name.isSubdomain(of: cut) {
                if best == nil || cut.wire.count < best!.wire.count { best = cut }
            }
            return best
        }
        return ancestors(of: name).first(where: cuts.contains)
    }

    /// An in-zone NS target must have an address, and not be an alias (RFC 2181 §10.3).
    private mutating func checkNSTarget(_ i: Int, _ target: DNSName) {
        let types = records(of: target).map { zone.records[$0].record.type }
        if types.contains(.cname) {
            error(i, "NS target \(target) is a CNAME, not a host name")
        } else if !types.contains(.a) && !types.contains(.aaaa) {
            let glue = topmostCut(above: target) != nil
            error(i, "\(glue ? "missing glue: " : "")no A or AAAA record for \(target)")
        }
    }

    /// CNAME exclusivity (RFC 1034 §3.6.2, RFC 2181 §10.1) and equal TTLs per RRset (RFC 2181 §5.2).
    private mutating func checkName(_ o: Int) {
        var firstCNAME = -1
        var m = Int(first[o])
        var single = nextRecord[m] < 0
        while m >= 0 {
            if zone.records[m].record.type == .cname {
                if firstCNAME < 0 {
                    firstCNAME = m
                } else {
                    error(m, "more than one CNAME record at the same name")
                }
            }
            m = Int(nextRecord[m])
        }
        if single && firstCNAME < 0 { return }
        let indices = records(ofOwner: o)
        if firstCNAME >= 0 {
            var others: [RRType] = []
            for i in indices {
                let t = zone.records[i].record.type
                if t != .cname, t != .rrsig, t != .nsec, !others.contains(t) { others.append(t) }
            }
            if !others.isEmpty {
                error(
                    firstCNAME,
                    "CNAME and other data at the same name (\(others.map(\.description).joined(separator: ", ")))")
            }
        }
        single = indices.count == 1
        if single { return }
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
    private func inFileOrder(_ problems: [(Int, Problem)]) -> [Problem] {
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
        errors.append((i, Problem(file: loaded.file, line: loaded.line, message: "\(what) \(message)")))
    }

    private mutating func zoneError(_ message: String) {
        errors.append((-1, Problem(file: zone.file, line: 1, message: message)))
    }

    private mutating func warning(_ i: Int, _ message: String) {
        let loaded = zone.records[i]
        let what = "\(loaded.record.name) \(loaded.record.type):"
        warnings.append((i, Problem(file: loaded.file, line: loaded.line, message: "\(what) \(message)")))
    }
}
