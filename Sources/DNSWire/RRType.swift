/// A resource record type (RFC 1035 §3.2.2 and later registrations). Unknown values are kept as
/// they are and shown as `TYPEnnn` (RFC 3597).
public struct RRType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ v: UInt16) { self.rawValue = v }

    public static let a = RRType(1)
    public static let ns = RRType(2)
    public static let cname = RRType(5)
    public static let soa = RRType(6)
    public static let mb = RRType(7)
    public static let mg = RRType(8)
    public static let mr = RRType(9)
    public static let null = RRType(10)
    public static let wks = RRType(11)
    public static let ptr = RRType(12)
    public static let hinfo = RRType(13)
    public static let minfo = RRType(14)
    public static let mx = RRType(15)
    public static let txt = RRType(16)
    public static let rp = RRType(17)
    public static let afsdb = RRType(18)
    public static let aaaa = RRType(28)
    public static let loc = RRType(29)
    public static let srv = RRType(33)
    public static let naptr = RRType(35)
    public static let kx = RRType(36)
    public static let cert = RRType(37)
    public static let dname = RRType(39)
    public static let opt = RRType(41)
    public static let ds = RRType(43)
    public static let sshfp = RRType(44)
    public static let rrsig = RRType(46)
    public static let nsec = RRType(47)
    public static let dnskey = RRType(48)
    public static let nsec3 = RRType(50)
    public static let nsec3param = RRType(51)
    public static let tlsa = RRType(52)
    public static let svcb = RRType(64)
    public static let https = RRType(65)
    public static let spf = RRType(99)
    public static let tsig = RRType(250)
    public static let ixfr = RRType(251)
    public static let axfr = RRType(252)
    public static let mailb = RRType(253)
    public static let maila = RRType(254)
    public static let any = RRType(255)
    public static let uri = RRType(256)
    public static let caa = RRType(257)

    static let names: [UInt16: String] = [
        1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 7: "MB", 8: "MG", 9: "MR", 10: "NULL", 11: "WKS",
        12: "PTR", 13: "HINFO", 14: "MINFO", 15: "MX", 16: "TXT", 17: "RP", 18: "AFSDB", 28: "AAAA",
        29: "LOC", 33: "SRV", 35: "NAPTR", 36: "KX", 37: "CERT", 39: "DNAME", 41: "OPT", 43: "DS",
        44: "SSHFP", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 50: "NSEC3", 51: "NSEC3PARAM", 52: "TLSA",
        64: "SVCB", 65: "HTTPS", 99: "SPF", 250: "TSIG", 251: "IXFR", 252: "AXFR", 253: "MAILB",
        254: "MAILA", 255: "ANY", 256: "URI", 257: "CAA",
    ]

    public var description: String { RRType.names[rawValue] ?? "TYPE\(rawValue)" }

    /// Parses a mnemonic (`AAAA`) or the RFC 3597 form (`TYPE65000`).
    public init?(text: String) {
        let up = text.uppercased()
        if let hit = RRType.names.first(where: { $0.value == up }) {
            self.init(hit.key)
        } else if up.hasPrefix("TYPE"), let v = UInt16(up.dropFirst(4)) {
            self.init(v)
        } else {
            return nil
        }
    }

    /// Meta types and QTYPE-only values that never live in a zone (RFC 6895 §3.1).
    public var isMetaType: Bool { rawValue == 41 || (rawValue >= 128 && rawValue <= 255) }
}

/// A DNS class. Carousel serves IN and answers CH only for its identity names.
public struct DNSClass: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let `in` = DNSClass(rawValue: 1)
    public static let ch = DNSClass(rawValue: 3)
    public static let any = DNSClass(rawValue: 255)
    public var description: String {
        switch rawValue {
        case 1: "IN"
        case 3: "CH"
        case 4: "HS"
        case 254: "NONE"
        case 255: "ANY"
        default: "CLASS\(rawValue)"
        }
    }
}
