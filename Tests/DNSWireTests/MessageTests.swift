import DNSWire
import Testing

@Suite("Message")
struct MessageTests {
    @Test("a compressed response decodes with every name whole")
    func decodeCompressed() throws {
        let m = try Message.decode(Golden.compressedResponse)
        #expect(m.id == 0xBEEF)
        #expect(m.flags == 0x8580)
        #expect(m.rcode == 0)
        #expect(m.has(Header.aaBit) && m.has(Header.raBit) && !m.has(Header.tcBit))
        #expect(m.question == [Question(name: name("www.example.com."), type: .a)])
        #expect(
            m.answer == [
                ResourceRecord(
                    name: name("www.example.com."), type: .cname, ttl: 300, rdata: RData.name("web0.example.com.")),
                ResourceRecord(name: name("web0.example.com."), type: .a, ttl: 300, rdata: RData.a("192.0.2.1")),
            ])
        #expect(
            m.authority == [
                ResourceRecord(name: name("example.com."), type: .ns, ttl: 3600, rdata: RData.name("ns1.example.com."))
            ])
        #expect(
            m.additional == [
                ResourceRecord(name: name("ns1.example.com."), type: .a, ttl: 3600, rdata: RData.a("192.0.2.53"))
            ])
        #expect(m.edns == nil)
        #expect(m.ednsOptions.isEmpty)
    }

    @Test("dig's query decodes with its cookie option")
    func decodeDig() throws {
        let m = try Message.decode(Golden.digCookie)
        #expect(m.id == 0x25E3)
        #expect(m.flags == 0x0120)
        #expect(m.question == [Question(name: name("www.example.com."), type: .a)])
        #expect(m.additional.isEmpty)
        #expect(m.edns == EDNS(payload: 1232))
        #expect(m.ednsOptions == [EDNSOption(code: 10, data: hex("253dcc48b8730db5"))])
        #expect(try Message.decode(Golden.digDO).edns == EDNS(payload: 1232, dnssecOK: true))
    }

    @Test("encode writes names uncompressed; decoding it gives the same message")
    func roundTrip() throws {
        let m = Message(
            id: 7, flags: Header.qrBit | Header.aaBit, rcode: RCode.badVers.rawValue,
            question: [Question(name: name("Example.com."), type: .soa)],
            answer: [
                ResourceRecord(
                    name: name("example.com."), type: .soa, ttl: 3600,
                    rdata: RData.soa("ns1.example.com.", "hostmaster.example.com."))
            ],
            authority: [
                ResourceRecord(name: name("example.com."), type: .ns, ttl: 60, rdata: RData.name("ns1.example.com."))
            ],
            additional: [
                ResourceRecord(
                    name: name("example.com."), type: RRType(65000), rrClass: DNSClass(rawValue: 4), ttl: 1,
                    rdata: [1, 2, 3])
            ],
            edns: EDNS(payload: 4096, version: 0, dnssecOK: true), ednsOptions: [EDNSOption(code: 3, data: [])])
        let bytes = m.encode()
        #expect(Array(bytes[0..<12]) == u16(7) + u16(0x8400) + u16(1) + u16(1) + u16(1) + u16(2))
        // BADVERS (16): header rcode 0, OPT TTL's top byte 1 (RFC 6891 §6.1.3).
        #expect(Array(bytes.suffix(15)) == [0] + u16(41) + u16(4096) + [1, 0, 0x80, 0] + u16(4) + u16(3) + u16(0))
        let back = try Message.decode(bytes)
        #expect(back == m)
        #expect(back.rcode == 16)
        #expect(back.question[0].name.wire == name("Example.com.").wire)  // case kept
        #expect(Message.query(id: 9, name("a."), .txt, class: .ch).encode() == packet(id: 9, hex("01610000100003")))
    }

    @Test("rdata names are decompressed for RFC 1035 types, RP and AFSDB; SRV is copied as it is")
    func rdataDecompression() throws {
        // Question example.com (12..24); records each point at it.
        func record(_ type: RRType, _ rdata: [UInt8]) -> [UInt8] {
            [0xC0, 12] + u16(type.rawValue) + u16(1) + u32(0) + u16(UInt16(rdata.count)) + rdata
        }
        let ptr: [UInt8] = [0xC0, 12]
        let records: [(RRType, [UInt8], [UInt8])] = [
            (.mx, u16(10) + [4] + Array("mail".utf8) + ptr, RData.mx(10, "mail.example.com.")),
            (.ptr, ptr, RData.name("example.com.")),
            (.minfo, ptr + ptr, RData.name("example.com.") + RData.name("example.com.")),
            (.rp, [1, 0x61] + ptr + ptr, RData.name("a.example.com.") + RData.name("example.com.")),
            (.afsdb, u16(1) + ptr, u16(1) + RData.name("example.com.")),
            (.srv, u16(0) + u16(0) + u16(5060) + ptr, u16(0) + u16(0) + u16(5060) + ptr),
            (.naptr, [0xAB] + ptr, [0xAB] + ptr),
        ]
        let body = RData.name("example.com.") + u16(255) + u16(1) + records.flatMap { record($0.0, $0.1) }
        let m = try Message.decode(packet(flags: 0x8000, an: UInt16(records.count), body))
        #expect(m.answer.map(\.rdata) == records.map(\.2))
    }

    static let q = RData.name("example.com.") + u16(1) + u16(1)

    static func rr(_ owner: [UInt8], _ type: UInt16, _ rdata: [UInt8], rdlength: Int? = nil) -> [UInt8] {
        owner + u16(type) + u16(1) + u32(0) + u16(UInt16(rdlength ?? rdata.count)) + rdata
    }

    /// Each of these must throw: the hostile-input rules of `Query.decode` and the rdata layouts.
    static let malformed: [(String, [UInt8])] = [
        ("shorter than a header", [0, 1, 2]),
        ("counts the message cannot hold", packet(qd: 1, an: 0xFFFF, q)),
        ("question cut short", packet(Array(q.dropLast()))),
        ("label of 64", packet([64] + [UInt8](repeating: 0x61, count: 64) + [0] + u16(1) + u16(1))),
        (
            "name of 256",
            packet(
                Array(repeating: [63] + [UInt8](repeating: 0x61, count: 63), count: 3).flatMap { $0 } + [62]
                    + [UInt8](repeating: 0x62, count: 62) + [0] + u16(1) + u16(1))
        ),
        ("pointer into the header", packet([0xC0, 0x02] + u16(1) + u16(1))),
        ("pointer to itself", packet(an: 1, q + rr([0xC0, 29], 1, [1, 2, 3, 4]))),
        ("forward pointer", packet(an: 1, q + rr([0xC0, 40], 1, [1, 2, 3, 4]))),
        ("pointer past the end", packet(an: 1, q + rr([0xFF, 0xFF], 1, [1, 2, 3, 4]))),
        ("label type 0x40", packet(an: 1, q + rr([0x40, 0], 1, [1, 2, 3, 4]))),
        ("RDLENGTH past the end", packet(an: 1, q + rr([0xC0, 12], 1, [1, 2, 3, 4], rdlength: 5))),
        ("trailing bytes", packet(an: 1, q + rr([0xC0, 12], 1, [1, 2, 3, 4]) + [0])),
        ("too few records", packet(an: 2, q + rr([0xC0, 12], 1, [1, 2, 3, 4]))),
        ("OPT in the answer", packet(an: 1, q + opt())),
        ("OPT in the authority", packet(ns: 1, q + opt())),
        ("two OPTs", packet(ar: 2, q + opt() + opt())),
        ("OPT owner not the root", packet(ar: 1, q + [0xC0, 12] + Array(opt().dropFirst()))),
        (
            "option past the OPT rdata",
            packet(ar: 1, q + opt(options: u16(10) + u16(9) + [UInt8](repeating: 0, count: 8)))
        ),
        ("option header cut short", packet(ar: 1, q + opt(options: [0, 10, 0]))),
        ("NS rdata with a byte after the name", packet(an: 1, q + rr([0xC0, 12], 2, [0xC0, 12, 0]))),
        (
            "NS rdata name running past RDLENGTH",
            packet(an: 1, q + rr([0xC0, 12], 2, [3, 0x61, 0x62, 0x63, 0], rdlength: 3) + [0x63, 0])
        ),
        ("NS rdata empty", packet(an: 1, q + rr([0xC0, 12], 2, []))),
        ("MX rdata without a name", packet(an: 1, q + rr([0xC0, 12], 15, [0, 10]))),
        ("SOA rdata without its numbers", packet(an: 1, q + rr([0xC0, 12], 6, [0xC0, 12, 0xC0, 12] + u32(1)))),
        ("CNAME pointing into its own rdata", packet(an: 1, q + rr([0xC0, 12], 5, [1, 0x61, 0xC0, 41]))),
    ]

    @Test("malformed messages are refused", arguments: malformed)
    func malformedMessage(label: String, bytes: [UInt8]) {
        #expect(throws: DNSWireError.self, "\(label)") { try Message.decode(bytes) }
    }

    @Test("pointer chains are followed up to WireName.maxPointerHops, as in Query.decode")
    func hopLimit() throws {
        let m = try Message.decode(QueryDecodeTests.pointerChain(WireName.maxPointerHops - 1))
        #expect(m.additional.last?.name.labelCount == WireName.maxPointerHops + 3)
        #expect(throws: DNSWireError.self) {
            try Message.decode(QueryDecodeTests.pointerChain(WireName.maxPointerHops))
        }
    }

    @Test("a dynamic update's empty rdata (class ANY) is kept")
    func emptyRData() throws {
        let delete = [0xC0, 12] + u16(2) + u16(255) + u32(0) + u16(0)
        let m = try Message.decode(
            packet(flags: 0x2800, qd: 1, ns: 1, RData.name("example.com.") + u16(6) + u16(1) + delete))
        #expect(m.opcode == Opcode.update)
        #expect(
            m.authority == [ResourceRecord(name: name("example.com."), type: .ns, rrClass: .any, ttl: 0, rdata: [])])
    }
}
