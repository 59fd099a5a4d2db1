/// Where domain names sit inside a type's rdata: the one table that decoding (which names to
/// decompress), encoding (which to compress), glue and alias lookups, the zone writer and SOA field
/// readers share. Every layout here is some fixed bytes, one or two names, then fixed bytes or the
/// rest; types not listed hold no names Carousel needs to see (RFC 3597: opaque).
public struct RDataLayout: Sendable, Equatable {
    /// Bytes before the first name (MX preference: 2; SRV priority, weight, port: 6).
    public let prefix: Int
    /// Names in a row after the prefix: 1, or 2 for SOA, MINFO and RP.
    public let names: Int
    /// Bytes after the names that the layout requires (SOA's five counters: 20); anything past
    /// them is kept as it is.
    public let suffix: Int
    /// Names may be compressed when written: the RFC 1035 types only (RFC 3597 §4).
    public let compressible: Bool
    /// Names arriving compressed are expanded when read: the RFC 1035 types and RP and AFSDB, the
    /// two later ones receivers are asked to decompress (RFC 3597 §4). Every other type's rdata
    /// (SRV's included) is copied as it came (RFC 3597 §5).
    public let decompressed: Bool

    static let oneName = RDataLayout(prefix: 0, names: 1, suffix: 0, compressible: true, decompressed: true)
    static let dname = RDataLayout(prefix: 0, names: 1, suffix: 0, compressible: false, decompressed: false)
    static let soa = RDataLayout(prefix: 0, names: 2, suffix: 20, compressible: true, decompressed: true)
    static let minfo = RDataLayout(prefix: 0, names: 2, suffix: 0, compressible: true, decompressed: true)
    static let rp = RDataLayout(prefix: 0, names: 2, suffix: 0, compressible: false, decompressed: true)
    static let mx = RDataLayout(prefix: 2, names: 1, suffix: 0, compressible: true, decompressed: true)
    static let afsdb = RDataLayout(prefix: 2, names: 1, suffix: 0, compressible: false, decompressed: true)
    static let kx = RDataLayout(prefix: 2, names: 1, suffix: 0, compressible: false, decompressed: false)
    static let srv = RDataLayout(prefix: 6, names: 1, suffix: 0, compressible: false, decompressed: false)
}

extension RRType {
    /// See ``RDataLayout``; nil for types whose rdata holds no names we read.
    @inline(__always)
    public var rdataLayout: RDataLayout? {
        switch rawValue {
        case 2, 5, 7, 8, 9, 12: .oneName  // NS, CNAME, MB, MG, MR, PTR
        case 39: .dname
        case 6: .soa
        case 14: .minfo
        case 17: .rp
        case 15: .mx
        case 18: .afsdb
        case 36: .kx
        case 33: .srv
        default: nil
        }
    }

    /// Types whose rdata names may be compressed on output: only those of RFC 1035 (RFC 3597 §4).
    @inline(__always)
    public var rdataNamesCompressible: Bool { rdataLayout?.compressible ?? false }
}

extension ResourceRecord {
    /// The names embedded in rdata of the types whose layout we know (for glue, CNAME chasing and
    /// the zone writer), as ranges of `rdata`. Empty for other types, and for rdata that does not
    /// hold its names whole.
    public static func embeddedNameRanges(type: RRType, rdata: [UInt8]) -> [Range<Int>] {
        guard let layout = type.rdataLayout, rdata.count > layout.prefix else { return [] }
        var out: [Range<Int>] = []
        var i = layout.prefix
        for _ in 0..<layout.names {
            guard let end = WireName.uncompressedEnd(rdata, from: i) else { return [] }
            out.append(i..<end)
            i = end
        }
        return out
    }

    /// The single target name of NS, CNAME, PTR, DNAME, MX, KX, AFSDB and SRV records.
    public var targetName: DNSName? {
        guard let layout = type.rdataLayout, layout.names == 1,
            let r = ResourceRecord.embeddedNameRanges(type: type, rdata: rdata).first
        else { return nil }
        return DNSName(trustedWire: Array(rdata[r]))
    }
}

/// SOA rdata fields (RFC 1035 §3.3.13): SERIAL, REFRESH, RETRY, EXPIRE and MINIMUM follow the two
/// names.
public enum SOA {
    static func fieldsStart(_ rdata: [UInt8]) -> Int? {
        let r = ResourceRecord.embeddedNameRanges(type: .soa, rdata: rdata)
        guard r.count == 2, r[1].upperBound + 20 <= rdata.count else { return nil }
        return r[1].upperBound
    }

    static func field(_ rdata: [UInt8], _ k: Int) -> UInt32 {
        guard let s = fieldsStart(rdata) else { return 0 }
        let i = s + 4 * k
        return UInt32(rdata[i]) << 24 | UInt32(rdata[i + 1]) << 16 | UInt32(rdata[i + 2]) << 8 | UInt32(rdata[i + 3])
    }

    public static func serial(_ rdata: [UInt8]) -> UInt32 { field(rdata, 0) }
    public static func refresh(_ rdata: [UInt8]) -> UInt32 { field(rdata, 1) }
    public static func retry(_ rdata: [UInt8]) -> UInt32 { field(rdata, 2) }
    public static func expire(_ rdata: [UInt8]) -> UInt32 { field(rdata, 3) }
    public static func minimum(_ rdata: [UInt8]) -> UInt32 { field(rdata, 4) }

    public static func setting(serial: UInt32, in soa: ResourceRecord) -> ResourceRecord {
        guard let s = fieldsStart(soa.rdata) else { return soa }
        var r = soa
        r.rdata[s] = UInt8(serial >> 24)
        r.rdata[s + 1] = UInt8(serial >> 16 & 0xFF)
        r.rdata[s + 2] = UInt8(serial >> 8 & 0xFF)
        r.rdata[s + 3] = UInt8(serial & 0xFF)
        return r
    }
}
