import DNSWire
import Testing

/// The three outcomes of `Query.decode`, comparable in tests.
enum Decoded: Equatable, CustomStringConvertible {
    case query(questionEnd: Int)
    case formErr(questionEnd: Int?)
    case drop

    init(_ r: QueryDecodeResult) {
        switch r {
        case .query(let q): self = .query(questionEnd: q.questionEnd)
        case .formErr(_, _, let end, _): self = .formErr(questionEnd: end)
        case .drop: self = .drop
        }
    }

    var description: String {
        switch self {
        case .query(let e): "query(questionEnd: \(e))"
        case .formErr(let e): "formErr(questionEnd: \(e.map(String.init) ?? "nil"))"
        case .drop: "drop"
        }
    }
}

func decodeQuery(_ bytes: [UInt8]) -> QueryDecodeResult {
    bytes.withUnsafeBytes { Query.decode($0) }
}

func decodedQuery(_ bytes: [UInt8]) -> Query? {
    if case .query(let q) = decodeQuery(bytes) { return q }
    return nil
}

@Suite("Query.decode")
struct QueryDecodeTests {
    @Test("dig's default query: EDNS 1232 with a client cookie")
    func digWithCookie() throws {
        let q = try #require(decodedQuery(Golden.digCookie))
        #expect(q.id == 0x25E3)
        #expect(q.flags == 0x0120)
        #expect(q.opcode == Opcode.query)
        #expect(q.recursionDesired)
        #expect(!q.checkingDisabled)
        #expect(q.qnameStart == 12)
        #expect(q.qnameEnd == 29)
        #expect(q.questionEnd == 33)
        #expect(q.qtype == .a)
        #expect(q.qclass == .in)
        #expect(q.edns == EDNS(payload: 1232, version: 0, dnssecOK: false))
        #expect(q.cookieLength == 8 && Array(Golden.digCookie[q.cookieStart..<(q.cookieStart + 8)]).count == 8)
        #expect(!q.nsidRequested)
    }

    /// RFC 7873 §5.2.2: a COOKIE option of a length no cookie has is malformed, for the hot-path
    /// decoder and the full one alike (the fuzzer found them disagreeing on a 0-byte cookie).
    @Test(
        "a COOKIE option of a wrong length: FORMERR from Query.decode, an error from Message.decode",
        arguments: [0, 7, 9, 15, 41])
    func cookieLength(length: Int) throws {
        let option = u16(10) + u16(UInt16(length)) + [UInt8](repeating: 0xAB, count: length)
        let query =
            hex("123401000001000000000001") + [3] + Array("www".utf8) + [0] + u16(1) + u16(1)
            + [0] + u16(41) + u16(1232) + [0, 0, 0, 0] + u16(UInt16(option.count)) + option
        guard case .formErr(_, _, _, let reason) = query.withUnsafeBytes({ Query.decode($0) }) else {
            Issue.record("expected FORMERR")
            return
        }
        #expect(reason == .cookieLength(length) && reason.description == "COOKIE option of \(length) bytes")
        #expect(throws: (any Error).self) { try Message.decode(query) }
    }

    @Test("dig +noedns")
    func digWithoutEDNS() throws {
        let q = try #require(decodedQuery(Golden.digNoEDNS))
        #expect(q.id == 0x2EE5)
        #expect(q.questionEnd == 33)
        #expect(q.questionEnd == Golden.digNoEDNS.count)
        #expect(q.qtype == .a)
        #expect(q.edns == nil)
    }

    @Test("dig +dnssec: the DO bit")
    func digWithDO() throws {
        let q = try #require(decodedQuery(Golden.digDO))
        #expect(q.id == 0x4821)
        #expect(q.qnameEnd == 25)
        #expect(q.questionEnd == 29)
        #expect(q.qtype == .mx)
        #expect(q.edns == EDNS(payload: 1232, version: 0, dnssecOK: true))
    }

    @Test("EDNS version and CD bit are read; the payload is reported as sent")
    func ednsFields() throws {
        let q = try #require(
            decodedQuery(packet(flags: 0x0110, ar: 1, wwwQuestion + opt(payload: 100, ttl: 0x0001_8000))))
        #expect(q.edns == EDNS(payload: 100, version: 1, dnssecOK: true))
        #expect(q.checkingDisabled)
    }

    @Test("records in the answer and authority sections (a NOTIFY) are skipped, pointers and all")
    func notifyWithAnswer() throws {
        let soa =
            [0xC0, 0x0C] + u16(6) + u16(1) + u32(3600) + u16(24)
            + [0xC0, 0x0C, 0xC0, 0x0C] + u32(2024) + u32(1) + u32(2) + u32(3) + u32(4)
        let q = try #require(decodedQuery(packet(flags: 0x2000, an: 1, ns: 1, wwwQuestion + soa + soa)))
        #expect(q.opcode == Opcode.notify)
        #expect(q.questionEnd == 33)
    }

    static let l63 = [UInt8(63)] + [UInt8](repeating: 0x61, count: 63)

    /// Each malformed query and what it must decode to (RFC 1035 §4.1, RFC 6891 §6.1.1).
    static let malformed: [(String, [UInt8], Decoded)] = [
        ("shorter than a header", [0x12, 0x34, 0x01, 0x00, 0x00], .drop),
        ("empty", [], .drop),
        ("11 bytes", Array(Golden.digNoEDNS.prefix(11)), .drop),
        ("a response (QR=1)", packet(flags: 0x8100, wwwQuestion), .drop),
        ("QDCOUNT 0", packet(qd: 0, []), .formErr(questionEnd: nil)),
        ("QDCOUNT 2", packet(qd: 2, wwwQuestion + wwwQuestion), .formErr(questionEnd: nil)),
        (
            "label of 64 bytes", packet([64] + [UInt8](repeating: 0x61, count: 64) + [0] + u16(1) + u16(1)),
            .formErr(questionEnd: nil)
        ),
        (
            "name of 256 bytes",
            packet(l63 + l63 + l63 + [62] + [UInt8](repeating: 0x62, count: 62) + [0] + u16(1) + u16(1)),
            .formErr(questionEnd: nil)
        ),
        ("name runs off the end", packet([7] + Array("exam".utf8)), .formErr(questionEnd: nil)),
        ("question without its class", packet(RData.name("www.example.com.") + u16(1)), .formErr(questionEnd: nil)),
        (
            "question name without its root", packet(Array(RData.name("www.example.com.").dropLast())),
            .formErr(questionEnd: nil)
        ),
        ("pointer in the question", packet([0xC0, 0x0C] + u16(1) + u16(1)), .formErr(questionEnd: nil)),
        ("0x40 label type in the question", packet([0x41, 0x00] + u16(1) + u16(1)), .formErr(questionEnd: nil)),
        ("OPT in the answer section", packet(an: 1, wwwQuestion + opt()), .formErr(questionEnd: 33)),
        ("OPT in the authority section", packet(ns: 1, wwwQuestion + opt()), .formErr(questionEnd: 33)),
        ("two OPT records", packet(ar: 2, wwwQuestion + opt() + opt()), .formErr(questionEnd: 33)),
        (
            "OPT owner not the root", packet(ar: 1, wwwQuestion + [1, 0x61] + Array(opt().dropFirst())),
            .formErr(questionEnd: 33)
        ),
        (
            "OPT owner a pointer to the qname", packet(ar: 1, wwwQuestion + [0xC0, 0x0C] + Array(opt().dropFirst())),
            .formErr(questionEnd: 33)
        ),
        (
            "RDLENGTH past the end", packet(ar: 1, wwwQuestion + [0] + u16(41) + u16(512) + u32(0) + u16(4) + [0, 10]),
            .formErr(questionEnd: 33)
        ),
        ("record header cut short", packet(ar: 1, wwwQuestion + [0] + u16(41) + u16(512)), .formErr(questionEnd: 33)),
        ("ARCOUNT larger than the records", packet(ar: 2, wwwQuestion + opt()), .formErr(questionEnd: 33)),
        ("trailing garbage", packet(wwwQuestion + [0xDE, 0xAD]), .formErr(questionEnd: 33)),
        ("trailing garbage after OPT", packet(ar: 1, wwwQuestion + opt() + [0]), .formErr(questionEnd: 33)),
        (
            "option longer than the OPT rdata",
            packet(ar: 1, wwwQuestion + opt(options: u16(10) + u16(8) + [1, 2, 3, 4])),
            .formErr(questionEnd: 33)
        ),
        (
            "option header cut short", packet(ar: 1, wwwQuestion + opt(options: u16(10) + [0])),
            .formErr(questionEnd: 33)
        ),
        // An owner at 33 pointing to itself, and two names pointing at each other.
        (
            "pointer loop: self", packet(ar: 1, wwwQuestion + [0xC0, 33] + u16(1) + u16(1) + u32(0) + u16(0)),
            .formErr(questionEnd: 33)
        ),
        (
            "pointer loop: two records",
            packet(
                ar: 2,
                wwwQuestion + [0xC0, 45] + u16(1) + u16(1) + u32(0) + u16(0) + [0xC0, 33] + u16(1) + u16(1) + u32(0)
                    + u16(0)),
            .formErr(questionEnd: 33)
        ),
        (
            "pointer into the header", packet(ar: 1, wwwQuestion + [0xC0, 2] + u16(1) + u16(1) + u32(0) + u16(0)),
            .formErr(questionEnd: 33)
        ),
        (
            "forward pointer", packet(ar: 1, wwwQuestion + [0xC0, 40] + u16(1) + u16(1) + u32(0) + u16(0)),
            .formErr(questionEnd: 33)
        ),
        (
            "pointer past the end", packet(ar: 1, wwwQuestion + [0xFF, 0xFF] + u16(1) + u16(1) + u32(0) + u16(0)),
            .formErr(questionEnd: 33)
        ),
        ("pointer cut short", packet(ar: 1, wwwQuestion + [0xC0]), .formErr(questionEnd: 33)),
        (
            "label type 0x80 in a record", packet(ar: 1, wwwQuestion + [0x80, 0] + u16(1) + u16(1) + u32(0) + u16(0)),
            .formErr(questionEnd: 33)
        ),
    ]

    @Test("malformed queries are dropped or get FORMERR", arguments: malformed)
    func malformedQuery(label: String, bytes: [UInt8], expected: Decoded) {
        #expect(Decoded(decodeQuery(bytes)) == expected, "\(label)")
    }

    @Test("a 255-byte question name is accepted")
    func longestName() throws {
        let name = Self.l63 + Self.l63 + Self.l63 + [61] + [UInt8](repeating: 0x62, count: 61) + [0]
        #expect(name.count == 255)
        let q = try #require(decodedQuery(packet(name + u16(1) + u16(1))))
        #expect(q.qnameEnd == 12 + 255)
        #expect(q.questionEnd == 12 + 259)
    }

    @Test("a chain of backward pointers is followed up to the hop limit")
    func hopLimit() {
        let chain = Self.pointerChain
        // Within 255 bytes, each pointer adds a hop: 15 links + the qname pointer = 16 hops.
        #expect(Decoded(decodeQuery(chain(WireName.maxPointerHops - 1))) == .query(questionEnd: 33))
        #expect(Decoded(decodeQuery(chain(WireName.maxPointerHops))) == .formErr(questionEnd: 33))
    }

    /// A query whose additional records' owners each point at the previous one: the last owner
    /// takes `links + 1` pointer hops to read.
    static func pointerChain(_ links: Int) -> [UInt8] {
        var body = wwwQuestion
        var previous = 33
        body += [1, 0x61, 0xC0, 12] + u16(1) + u16(1) + u32(0) + u16(0)
        for _ in 0..<links {
            let here = 12 + body.count
            body += [1, 0x62, 0xC0 | UInt8(previous >> 8), UInt8(previous & 0xFF)] + u16(1) + u16(1) + u32(0) + u16(0)
            previous = here
        }
        return packet(ar: UInt16(links + 1), body)
    }

    @Test("FORMERR keeps the id and flags for the reply")
    func formErrEchoesHeader() {
        guard
            case .formErr(let id, let flags, _, let reason) = decodeQuery(packet(id: 0xABCD, flags: 0x0110, qd: 0, []))
        else {
            Issue.record("expected FORMERR")
            return
        }
        #expect(id == 0xABCD)
        #expect(flags == 0x0110)
        #expect(reason == .questionCount(0) && reason.description == "QDCOUNT 0, expected 1")
    }
}
