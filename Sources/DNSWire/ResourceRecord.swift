/// One resource record as a value: owner, type, class, TTL and rdata in uncompressed wire format
/// (names inside rdata are full, uncompressed names). Unknown types keep their rdata as raw bytes
/// (RFC 3597), so nothing a zone holds is lost.
public struct ResourceRecord: Sendable, Hashable, CustomStringConvertible {
    public var name: DNSName
    public var type: RRType
    public var rrClass: DNSClass
    public var ttl: UInt32
    public var rdata: [UInt8]

    public init(name: DNSName, type: RRType, rrClass: DNSClass = .in, ttl: UInt32, rdata: [UInt8]) {
        self.name = name
        self.type = type
        self.rrClass = rrClass
        self.ttl = ttl
        self.rdata = rdata
    }

    public static func == (a: ResourceRecord, b: ResourceRecord) -> Bool {
        a.type == b.type && a.rrClass == b.rrClass && a.ttl == b.ttl && a.rdata == b.rdata && a.name == b.name
    }

    /// The rdata goes to the hasher in one block (an array's own hash feeds it byte by byte).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(type.rawValue)
        hasher.combine(rrClass.rawValue)
        hasher.combine(ttl)
        hasher.combine(rdata.count)
        rdata.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    public var description: String {
        "\(name) \(ttl) \(rrClass) \(type) \\# \(rdata.count) \(rdata.map { String($0, radix: 16) }.joined(separator: " "))"
    }
}

extension ResourceRecord {
    /// The names embedded in rdata of the types whose layout we know (for glue, CNAME chasing and
    /// compression), as (offset, length) within `rdata`. Empty for other types.
    public static func embeddedNameRanges(type: RRType, rdata: [UInt8]) -> [Range<Int>] {
        func nameEnd(_ start: Int) -> Int? {
            var i = start
            while i < rdata.count {
                let len = Int(rdata[i])
                if len == 0 { return i + 1 }
                if len > 63 { return nil }
                i += 1 + len
            }
            return nil
        }
        switch type {
        case .ns, .cname, .ptr, .mb, .mg, .mr, .dname:
            if let e = nameEnd(0) { return [0..<e] }
        case .mx, .afsdb, .kx:
            if rdata.count > 2, let e = nameEnd(2) { return [2..<e] }
        case .soa, .minfo, .rp:
            if let e1 = nameEnd(0), let e2 = nameEnd(e1) { return [0..<e1, e1..<e2] }
        case .srv:
            if rdata.count > 6, let e = nameEnd(6) { return [6..<e] }
        default:
            break
        }
        return []
    }

    /// The single target name of NS, CNAME, PTR, DNAME, MX and SRV records.
    public var targetName: DNSName? {
        let ranges = ResourceRecord.embeddedNameRanges(type: type, rdata: rdata)
        guard type != .soa, type != .minfo, type != .rp, let r = ranges.first else { return nil }
        return DNSName(trustedWire: Array(rdata[r]))
    }
}
