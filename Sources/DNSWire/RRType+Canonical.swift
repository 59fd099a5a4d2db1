/// The canonical form of RDATA for DNSSEC (RFC 4034 §6.2, as amended by RFC 6840 §5.1): the
/// domain names inside the RDATA of NS, MD, MF, CNAME, SOA, MB, MG, MR, PTR, MINFO, MX, RP, AFSDB,
/// RT, PX, NAPTR, KX, SRV and DNAME are lower-cased (NSEC's are not). The one rule the online
/// signer, the presigner and the verifiers share. Covers the types of ``RDataLayout`` and the three
/// whose names Carousel otherwise keeps opaque: RT, PX and NAPTR (whose name follows three
/// character-strings). MD, MF, SIG, NXT and A6 are obsolete and not read.
public enum CanonicalRData {
    /// Lower-cases, in place, the names in `rdata` of a record of `type`. RDATA that does not hold
    /// its names whole is left as far as it does not (it cannot be served as valid anyway).
    @inline(__always)
    public static func lowercaseNames(_ type: RRType, _ rdata: UnsafeMutableRawBufferPointer) {
        var i: Int
        let names: Int
        switch type.rawValue {
        case 21:  // RT: preference, intermediate host
            i = 2
            names = 1
        case 26:  // PX: preference, MAP822, MAPX400
            i = 2
            names = 2
        case 35:  // NAPTR: order, preference, flags, services, regexp, replacement
            i = 4
            for _ in 0..<3 {
                guard i < rdata.count else { return }
                i += 1 + Int(rdata[i])
            }
            names = 1
        default:
            guard let layout = type.rdataLayout else { return }
            i = layout.prefix
            names = layout.names
        }
        for _ in 0..<names {
            guard i < rdata.count, let end = WireName.uncompressedEnd(UnsafeRawBufferPointer(rdata), from: i) else {
                return
            }
            // Length bytes are 0...63, never letters: lower-casing every byte of the name is exact.
            for k in i..<end { rdata[k] = asciiLower(rdata[k]) }
            i = end
        }
    }

    /// A copy of `rdata` in canonical form.
    public static func canonical(_ type: RRType, _ rdata: [UInt8]) -> [UInt8] {
        var d = rdata
        d.withUnsafeMutableBytes { lowercaseNames(type, $0) }
        return d
    }
}
