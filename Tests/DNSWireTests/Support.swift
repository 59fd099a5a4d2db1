import DNSWire
import Testing

/// Golden packets: queries captured from `dig 9.18.49` (Debian 12) on loopback, byte for byte.
enum Golden {
    /// `dig www.example.com A`: RD+AD, EDNS payload 1232, an 8-byte client cookie (option 10).
    static let digCookie = hex(
        "25e3 0120 0001 0000 0000 0001 03777777 076578616d706c65 03636f6d 00 0001 0001"
            + " 00 0029 04d0 00000000 000c 000a 0008 253dcc48b8730db5")
    /// `dig +noedns www.example.com A`.
    static let digNoEDNS = hex("2ee5 0120 0001 0000 0000 0000 03777777 076578616d706c65 03636f6d 00 0001 0001")
    /// `dig +dnssec +nocookie example.com MX`: DO set, no options.
    static let digDO = hex(
        "4821 0120 0001 0000 0000 0001 076578616d706c65 03636f6d 00 000f 0001 00 0029 04d0 00008000 0000")

    /// A response with compressed owners and rdata names, as a server would send it.
    static let compressedResponse = hex(
        "beef 8580 0001 0002 0001 0001"
            + " 03777777 076578616d706c65 03636f6d 00 0001 0001"  // question www.example.com A (12..32)
            + " c00c 0005 0001 0000012c 0007 04 77656230 c010"  // www CNAME web0.example.com (web0 at 45)
            + " c02d 0001 0001 0000012c 0004 c0000201"  // web0.example.com A 192.0.2.1
            + " c010 0002 0001 00000e10 0006 036e7331 c010"  // example.com NS ns1.example.com (ns1 at 80)
            + " c050 0001 0001 00000e10 0004 c0000235"  // ns1.example.com A 192.0.2.53
            + "")

    static var all: [[UInt8]] { [digCookie, digNoEDNS, digDO, compressedResponse] }
}

/// Bytes from hex text; spaces are ignored.
func hex(_ s: String) -> [UInt8] {
    let digits = Array(s.unicodeScalars.filter { $0 != " " && $0 != "\n" })
    precondition(digits.count % 2 == 0, "odd hex: \(s)")
    return stride(from: 0, to: digits.count, by: 2).map {
        UInt8(String(digits[$0...$0 + 1].map(Character.init)), radix: 16)!
    }
}

func hexString(_ b: [UInt8]) -> String {
    b.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

/// A name from text; the tests only write valid ones.
func name(_ text: String) -> DNSName { try! DNSName(text) }

func u16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
func u32(_ v: UInt32) -> [UInt8] { u16(UInt16(v >> 16)) + u16(UInt16(v & 0xFFFF)) }

/// Rdata in uncompressed wire format.
enum RData {
    static func a(_ text: String) -> [UInt8] { text.split(separator: ".").map { UInt8($0)! } }
    static func aaaa(_ groups: [UInt16]) -> [UInt8] { groups.flatMap(u16) }
    static func name(_ text: String) -> [UInt8] { DNSWireTests.name(text).wire }
    static func mx(_ pref: UInt16, _ host: String) -> [UInt8] { u16(pref) + name(host) }
    static func srv(_ prio: UInt16, _ weight: UInt16, _ port: UInt16, _ target: String) -> [UInt8] {
        u16(prio) + u16(weight) + u16(port) + name(target)
    }
    static func soa(
        _ mname: String, _ rname: String, serial: UInt32 = 1, refresh: UInt32 = 7200, retry: UInt32 = 900,
        expire: UInt32 = 1_209_600, minimum: UInt32 = 300
    ) -> [UInt8] {
        name(mname) + name(rname) + u32(serial) + u32(refresh) + u32(retry) + u32(expire) + u32(minimum)
    }
    static func txt(_ strings: String...) -> [UInt8] {
        strings.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) }
    }
}

/// A header with the given counts, then `body`.
func packet(
    id: UInt16 = 0x1234, flags: UInt16 = 0x0100, qd: UInt16 = 1, an: UInt16 = 0, ns: UInt16 = 0,
    ar: UInt16 = 0, _ body: [UInt8]
) -> [UInt8] {
    u16(id) + u16(flags) + u16(qd) + u16(an) + u16(ns) + u16(ar) + body
}

/// The question `www.example.com. IN A` (17 + 4 bytes, so it ends at offset 33).
let wwwQuestion = RData.name("www.example.com.") + u16(1) + u16(1)

/// An OPT record: root owner, payload, extended rcode/version/DO, options as raw bytes.
func opt(payload: UInt16 = 1232, ttl: UInt32 = 0, options: [UInt8] = []) -> [UInt8] {
    [0] + u16(41) + u16(payload) + u32(ttl) + u16(UInt16(options.count)) + options
}

/// A deterministic xorshift64* generator, so a failing fuzz case can be replayed.
struct XorShift: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
}

/// `#expect` for expressions that touch a `ResponseWriter`: the macro cannot capture a
/// non-copyable value, so the expression is evaluated first.
func check(_ ok: Bool, _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(ok, comment, sourceLocation: sourceLocation)
}

/// The record with the names inside its rdata lower-cased. Name compression matches ASCII case
/// insensitively (ResponseWriter, and libldns alike), so a name in rdata may come back spelled
/// as the earlier name it points at: the same name (RFC 4343 §3), not the same bytes.
func folded(_ r: ResourceRecord) -> ResourceRecord {
    var out = r
    for range in ResourceRecord.embeddedNameRanges(type: r.type, rdata: r.rdata) {
        for i in range { out.rdata[i] = asciiLower(out.rdata[i]) }
    }
    return out
}
