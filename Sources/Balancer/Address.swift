import CarouselConfig

#if canImport(Glibc)
import Glibc
#endif

/// IP addresses as the prober and the config spell them: canonical text (RFC 5952 for IPv6),
/// converted to and from A/AAAA rdata.
public enum Address {
    /// The canonical text of A (4 bytes) or AAAA (16 bytes) rdata; nil for other lengths.
    public static func text(rdata: UnsafeRawBufferPointer) -> String? {
        let family: Int32
        switch rdata.count {
        case 4: family = AF_INET
        case 16: family = AF_INET6
        default: return nil
        }
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(family, rdata.baseAddress, &buf, socklen_t(buf.count)) != nil else { return nil }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Rdata (4 or 16 bytes) for an address written as text; nil if it is not an IP address.
    public static func rdata(_ text: String) -> [UInt8]? {
        AddressPrefix.parseAddress(text)
    }

    /// The canonical form of an address written as text, or nil.
    public static func canonical(_ text: String) -> String? {
        rdata(text).flatMap { r in r.withUnsafeBytes { Address.text(rdata: $0) } }
    }
}
