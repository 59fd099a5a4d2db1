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
