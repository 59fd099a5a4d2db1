import DNSWire
import Testing

/// Runs `body` on a writer over a fresh buffer and returns the finished message.
func writeMessage(limit: Int = 512, bufferSize: Int = 65535, _ body: (inout ResponseWriter) -> Void) -> [UInt8] {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 1)
    defer { buffer.deallocate() }
    buffer.initializeMemory(as: UInt8.self, repeating: 0xEE)
    // The writer keeps only the scratch's raw table pointer: the scratch must outlive it.
    let scratch = CompressionScratch()
    return withExtendedLifetime(scratch) {
        var w = ResponseWriter(into: buffer, limit: limit, scratch: scratch)
        body(&w)
        let n = w.finish()
        return Array(buffer[0..<n])
    }
}

extension ResponseWriter {
    mutating func begin(id: UInt16 = 0x1234, flags: UInt16 = 0x8400, question: [UInt8]?) {
        guard let question else { return start(id: id, flags: flags, question: nil) }
        question.withUnsafeBytes { start(id: id, flags: flags, question: $0) }
    }

    @discardableResult
    mutating func record(_ owner: String?, _ type: RRType, ttl: UInt32 = 300, _ rdata: [UInt8]) -> Bool {
        record(.answer, owner, type, ttl: ttl, rdata)
    }

    /// `owner` nil means "the question name" (a pointer to offset 12).
    @discardableResult
    mutating func record(
        _ section: Section, _ owner: String?, _ type: RRType, ttl: UInt32 = 300, rrClass: UInt16 = 1,
        _ rdata: [UInt8]
    ) -> Bool {
        rdata.withUnsafeBytes { r in
            guard let owner else {
                return writeRecord(section, owner: nil, type: type, rrClass: rrClass, ttl: ttl, rdata: r)
            }
            return name(owner).wire.withUnsafeBytes { o in
                writeRecord(section, owner: o, type: type, rrClass: rrClass, ttl: ttl, rdata: r)
            }
        }
    }

    /// The bytes written so far.
    var written: [UInt8] { Array(UnsafeRawBufferPointer(start: base, count: count)) }
}

/// The fixed part of a record after its owner: type, class IN, TTL, RDLENGTH.
func fixed(_ type: RRType, ttl: UInt32 = 300, _ rdlength: Int) -> [UInt8] {
    u16(type.rawValue) + u16(1) + u32(ttl) + u16(UInt16(rdlength))
}

@Suite("ResponseWriter")
struct ResponseWriterTests {
    static let header = u16(0x1234) + u16(0x8400)

    @Test("owners compress to the question (C00C) and to shared suffixes, ignoring case (RFC 1035 §4.1.4)")
    func ownerCompression() throws {
        let bytes = writeMessage { w in
            w.begin(question: wwwQuestion)  // www at 12, example at 16, com at 24
            check(w.record(nil, .a, RData.a("192.0.2.1")))  // at 33
            check(w.record("MAIL.Example.COM.", .a, RData.a("192.0.2.2")))  // at 49, MAIL at 49
            check(w.record("WWW.EXAMPLE.COM.", .a, RData.a("192.0.2.3")))  // at 71
            check(w.record("a.mail.example.com.", .a, RData.a("192.0.2.4")))  // at 87
            check(w.record("example.net.", .a, RData.a("192.0.2.5")))  // at 107
        }
        let expected =
            Self.header + u16(1) + u16(5) + u16(0) + u16(0) + wwwQuestion
            + [0xC0, 0x0C] + fixed(.a, 4) + [192, 0, 2, 1]
            + [4] + Array("MAIL".utf8) + [0xC0, 0x10] + fixed(.a, 4) + [192, 0, 2, 2]
            + [0xC0, 0x0C] + fixed(.a, 4) + [192, 0, 2, 3]
            + [1, 0x61, 0xC0, 49] + fixed(.a, 4) + [192, 0, 2, 4]
            + [7] + Array("example".utf8) + [3] + Array("net".utf8) + [0] + fixed(.a, 4) + [192, 0, 2, 5]
        #expect(hexString(bytes) == hexString(expected))
        let m = try Message.decode(bytes)
        // The pointer takes the spelling already in the message: the client's.
        #expect(
            m.answer.map { $0.name.wire }
                == [
                    "www.example.com.", "MAIL.example.com.", "www.example.com.", "a.MAIL.example.com.", "example.net.",
                ].map { name($0).wire })
    }

    @Test("MX, SOA and NS rdata names compress; SRV, RP and unknown types are written whole (RFC 3597 §4)")
    func rdataCompression() throws {
        let srv = RData.srv(0, 5, 5060, "sip.example.com.")
        let rp = RData.name("admin.example.com.") + RData.name("www.example.com.")
        let soa = RData.soa("ns1.example.com.", "hostmaster.example.com.", serial: 7)
        let bytes = writeMessage { w in
            w.begin(question: wwwQuestion)
            check(w.record(nil, .mx, RData.mx(10, "www.example.com.")))  // at 33, rdata at 45
            // at 49, ns1 at 61
            check(w.record(.authority, "example.com.", .ns, ttl: 3600, RData.name("ns1.example.com.")))
            check(w.record(.authority, "example.com.", .soa, ttl: 3600, soa))  // at 67, rdata at 79
            check(w.record(.additional, "_sip._tcp.example.com.", .srv, srv))  // at 115
            check(w.record(.additional, "example.com.", .rp, rp))
            check(w.record(.additional, "example.com.", RRType(65000), RData.name("www.example.com.")))
        }
        let soaRData =
            [0xC0, 61] + [10] + Array("hostmaster".utf8) + [0xC0, 0x10] + u32(7) + u32(7200) + u32(900)
            + u32(1_209_600) + u32(300)
        let expected =
            Self.header + u16(1) + u16(1) + u16(2) + u16(3) + wwwQuestion
            + [0xC0, 0x0C] + fixed(.mx, 4) + u16(10) + [0xC0, 0x0C]
            + [0xC0, 0x10] + fixed(.ns, ttl: 3600, 6) + [3] + Array("ns1".utf8) + [0xC0, 0x10]
            + [0xC0, 0x10] + fixed(.soa, ttl: 3600, soaRData.count) + soaRData
            + [4] + Array("_sip".utf8) + [4] + Array("_tcp".utf8) + [0xC0, 0x10] + fixed(.srv, srv.count) + srv
            + [0xC0, 0x10] + fixed(.rp, rp.count) + rp
            + [0xC0, 0x10] + fixed(RRType(65000), 17) + RData.name("www.example.com.")
        #expect(hexString(bytes) == hexString(expected))
        let m = try Message.decode(bytes)
        #expect(m.answer.map(\.rdata) == [RData.mx(10, "www.example.com.")])
        #expect(m.authority.map(\.rdata) == [RData.name("ns1.example.com."), soa])
        #expect(m.additional.map(\.rdata) == [srv, rp, RData.name("www.example.com.")])
    }

    @Test("a record that does not fit is not written, leaves the message as it was, and can fit later")
    func limit() throws {
        var before: [UInt8] = []
        let bytes = writeMessage(limit: 512) { w in
            w.begin(question: wwwQuestion)
            check(w.record(nil, .a, RData.a("192.0.2.1")))  // 33..<49
            before = w.written
            // Each piece failing in turn: the owner's new label, the owner pointer, the fixed part,
            // plain rdata, and a compressible rdata's name.
            let cases: [(Int, String?, RRType, [UInt8])] = [
                (52, "big.example.com.", .a, RData.a("192.0.2.2")),
                (60, "big.example.com.", .a, RData.a("192.0.2.2")),
                (50, nil, .a, RData.a("192.0.2.2")),
                (58, nil, .a, RData.a("192.0.2.2")),
                (64, nil, .a, RData.a("192.0.2.2")),
                (64, nil, .mx, RData.mx(1, "mail.example.net.")),
                (70, nil, .soa, RData.soa("ns1.example.com.", "h.example.net.")),
            ]
            for (limit, owner, type, rdata) in cases {
                w.limit = limit
                check(!w.record(owner, type, rdata), "limit \(limit): \(type)")
                check(w.written == before, "limit \(limit): \(type)")
                check(w.count == 49 && w.answerCount == 1)
            }
            w.limit = 59
            check(!w.writeOPT(payloadSize: 1232, extendedRCode: 0, dnssecOK: false))
            check(w.written == before && w.additionalCount == 0)
            // With room again, the failed owner left nothing behind in the compression table.
            w.limit = 512
            check(w.record("x.big.example.com.", .a, RData.a("192.0.2.3")))
        }
        let head: [UInt8] = Array(before[0..<6]) + u16(2) + u16(0) + u16(0)
        #expect(Array(bytes[0..<12]) == head)
        #expect(Array(bytes[12..<49]) == Array(before[12..<49]))
        let tail: [UInt8] = [1, 0x78, 3] + Array("big".utf8) + [0xC0, 0x10]
        #expect(Array(bytes[49...]) == tail + fixed(.a, 4) + [192, 0, 2, 3])
        let m = try Message.decode(bytes)
        #expect(m.answer.map { $0.name } == [name("www.example.com."), name("x.big.example.com.")])
    }

    @Test("a record exactly at the limit fits")
    func exactLimit() {
        let bytes = writeMessage(limit: 49) { w in
            w.begin(question: wwwQuestion)
            check(w.record(nil, .a, RData.a("192.0.2.1")))
            check(!w.record(nil, .a, RData.a("192.0.2.1")))
        }
        #expect(bytes.count == 49)
    }

    @Test("rewinding to a mark restores counts and drops names written after it")
    func markRewind() throws {
        let bytes = writeMessage { w in
            w.begin(question: wwwQuestion)
            let afterQuestion = w.mark
            w.record("sub.example.com.", .a, RData.a("192.0.2.1"))
            w.record(.authority, "sub.example.com.", .ns, RData.name("ns.sub.example.com."))
            w.record(.additional, "ns.sub.example.com.", .a, RData.a("192.0.2.2"))
            check((w.answerCount, w.authorityCount, w.additionalCount) == (1, 1, 1))
            w.rewind(to: afterQuestion)
            check((w.answerCount, w.authorityCount, w.additionalCount) == (0, 0, 0))
            check(w.count == 33)
            // `sub` must be written again, not pointed at where it used to be.
            w.record(.authority, "ns.sub.example.com.", .a, RData.a("192.0.2.2"))
        }
        #expect(
            hexString(bytes)
                == hexString(
                    Self.header + u16(1) + u16(0) + u16(1) + u16(0) + wwwQuestion
                        + [2] + Array("ns".utf8) + [3] + Array("sub".utf8) + [0xC0, 0x10] + fixed(.a, 4) + [
                            192, 0, 2, 2,
                        ]))
        #expect(try Message.decode(bytes).authority[0].name == name("ns.sub.example.com."))
    }

    @Test("OPT: root owner, payload, extended rcode, version 0, DO (RFC 6891 §6.1.2)")
    func optRecord() throws {
        let bytes = writeMessage { w in
            w.begin(question: wwwQuestion)
            check(w.writeOPT(payloadSize: 1232, extendedRCode: 1, dnssecOK: true))
        }
        #expect(Array(bytes.suffix(11)) == [0, 0, 41, 0x04, 0xD0, 1, 0, 0x80, 0, 0, 0])
        let m = try Message.decode(bytes)
        #expect(m.edns == EDNS(payload: 1232, version: 0, dnssecOK: true))
        #expect(m.rcode == 16)
        #expect(m.additional.isEmpty)
    }

    @Test("start writes the header and question; finish fills in the counts")
    func headerAndCounts() throws {
        let bytes = writeMessage { w in
            w.begin(id: 0xABCD, flags: 0x8180, question: wwwQuestion)
            w.flags |= Header.aaBit | 3
            check(w.flags == 0x8583)
            w.record(.authority, "example.com.", .soa, RData.soa("ns1.example.com.", "h.example.com."))
        }
        #expect(Array(bytes[0..<12]) == u16(0xABCD) + u16(0x8583) + u16(1) + u16(0) + u16(1) + u16(0))
        #expect(try Message.decode(bytes).rcode == RCode.nxDomain.rawValue)
        // No question: QDCOUNT 0 and just a header.
        let bare = writeMessage { w in w.begin(id: 1, flags: 0x8001, question: nil) }
        #expect(bare == u16(1) + u16(0x8001) + [0, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test("a question that does not fit is left out and not counted (RFC 1035 §4.1.1)")
    func questionTooBig() throws {
        let bytes = writeMessage(limit: 32) { w in w.begin(id: 5, flags: 0x8000, question: wwwQuestion) }
        #expect(bytes == u16(5) + u16(0x8000) + [0, 0, 0, 0, 0, 0, 0, 0])
        #expect(try Message.decode(bytes).question.isEmpty)
        #expect(writeMessage(limit: 33) { w in w.begin(question: wwwQuestion) }.count == 33)
    }

    @Test("start resets a writer that is reused")
    func reuse() throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 512, alignment: 1)
        defer { buffer.deallocate() }
        let scratch = CompressionScratch()
        defer { withExtendedLifetime(scratch) {} }
        var w = ResponseWriter(into: buffer, limit: 512, scratch: scratch)
        w.begin(question: wwwQuestion)
        w.record("mail.example.com.", .a, RData.a("192.0.2.1"))
        w.begin(question: RData.name("example.net.") + u16(1) + u16(1))
        w.record("mail.example.com.", .a, RData.a("192.0.2.1"))
        let n = w.finish()
        let m = try Message.decode(Array(buffer[0..<n]))
        #expect(m.answer.map { $0.name } == [name("mail.example.com.")])
        #expect(m.question.map { $0.name } == [name("example.net.")])
    }
}
