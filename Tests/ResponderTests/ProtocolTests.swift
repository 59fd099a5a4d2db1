import DNSWire
import Responder
import Testing

@Suite("Responder: EDNS, truncation, opcodes and classes")
struct ProtocolTests {
    let server: Server
    init() throws { server = try Fixture.server(Zones.all) }

    @Test("EDNS: an OPT in the reply with our payload size, version 0, DO copied (RFC 6891 §6.1.1, RFC 3225 §3)")
    func ednsEcho() throws {
        let r = try server.ask("mail.example.com.", .a, edns: EDNS(payload: 4096, version: 0, dnssecOK: true))
        #expect(r.message.edns == EDNS(payload: 1232, version: 0, dnssecOK: true))
        #expect(r.message.ednsOptions.isEmpty)
        #expect(r.answer == ["mail.example.com. 3600 A 192.0.2.25"])
        let noDO = try server.ask("mail.example.com.", .a, edns: EDNS(payload: 1232))
        #expect(noDO.message.edns == EDNS(payload: 1232, version: 0, dnssecOK: false))
        // Options the client sent (a cookie) are not echoed blindly.
        let cookie = try server.ask(
            Message.query(
                name("mail.example.com."), .a, edns: EDNS(payload: 1232),
                ednsOptions: [EDNSOption(code: 10, data: [1, 2, 3, 4, 5, 6, 7, 8])]))
        #expect(cookie.rcode == RCode.noError.rawValue && cookie.message.edns != nil)
        // Without EDNS in the query, none in the reply (RFC 6891 §7).
        #expect(try server.ask("mail.example.com.", .a).message.edns == nil)
    }

    @Test("EDNS payload: clamped to our maximum, and values below 512 mean 512 (RFC 6891 §6.2.3, §6.2.5)")
    func payloadClamp() throws {
        // 100 A records (~1.6 kB): more than 1232 even though the client offers 4096.
        let clamped = try server.ask("huge.example.com.", .a, edns: EDNS(payload: 4096))
        #expect(clamped.has(Header.tcBit) && clamped.answer.isEmpty)
        #expect(clamped.bytes.count <= 1232)
        let roomy = try Fixture.server(Zones.all, options: ResponderOptions(maxUDPPayload: 4096))
        let full = try roomy.ask("huge.example.com.", .a, edns: EDNS(payload: 4096))
        #expect(!full.has(Header.tcBit) && full.message.answer.count == 100)
        #expect(full.message.edns?.udpPayloadSize == 4096)
        // ...and the client's smaller offer is respected.
        let small = try roomy.ask("huge.example.com.", .a, edns: EDNS(payload: 1400))
        #expect(small.has(Header.tcBit) && small.bytes.count <= 1400)
        // 20 A records (~370 bytes) fit in 512 though the client said 100.
        let floor = try server.ask("medium.example.com.", .a, edns: EDNS(payload: 100))
        #expect(!floor.has(Header.tcBit) && floor.message.answer.count == 20)
        #expect(floor.bytes.count > 100 && floor.bytes.count <= 512)
        // 30 A records (~530 bytes with OPT) do not.
        let big = try server.ask("big.example.com.", .a, edns: EDNS(payload: 100))
        #expect(big.has(Header.tcBit) && big.bytes.count <= 512 && big.message.edns != nil)
    }

    @Test("unknown EDNS version: BADVERS, extended rcode 1 in the OPT TTL, header rcode 0 (RFC 6891 §6.1.3)")
    func badVers() throws {
        let r = try server.ask("mail.example.com.", .a, edns: EDNS(payload: 1232, version: 1))
        #expect(r.rcode == RCode.badVers.rawValue)
        #expect(r.bytes[3] & 0x0F == 0)
        #expect(r.message.edns?.version == 0)
        #expect(r.answer.isEmpty && r.authority.isEmpty)
        #expect(r.message.question.count == 1)
        // The OPT record's TTL: extended rcode 1, version 0.
        let opt = Array(r.bytes.suffix(11))
        #expect(opt[0] == 0 && opt[1] == 0 && opt[2] == 41 && opt[5] == 1 && opt[6] == 0)
        #expect(r.outcome.rcode == 16)
    }

    @Test("30 A records without EDNS over UDP: TC=1, no records, the question kept (RFC 2181 §9, RFC 1035 §4.2.1)")
    func truncatedOverUDP() throws {
        let r = try server.ask("big.example.com.", .a)
        #expect(r.has(Header.tcBit) && r.outcome.truncated)
        #expect(r.rcode == RCode.noError.rawValue && r.has(Header.aaBit))
        #expect(r.message.question == [Question(name: name("big.example.com."), type: .a)])
        #expect(r.answer.isEmpty && r.authority.isEmpty && r.additional.isEmpty)
        #expect(r.bytes.count <= 512)
    }

    @Test("the same over TCP: complete (RFC 7766 §6.2)")
    func completeOverTCP() throws {
        let r = try server.ask("big.example.com.", .a, over: .tcp)
        #expect(!r.has(Header.tcBit) && !r.outcome.truncated)
        #expect(r.message.answer.count == 30)
        #expect(r.bytes.count > 512)
        #expect(
            try server.ask("huge.example.com.", .a, edns: EDNS(payload: 512), over: .tcp).message.answer.count == 100)
    }

    @Test("a referral whose in-domain glue does not fit: the NS set, the glue that fits (A first), TC (RFC 9471 §3)")
    func referralGlueTruncates() throws {
        let r = try server.ask("www.fat.example.com.", .a)
        #expect(r.has(Header.tcBit) && r.outcome.truncated)
        #expect(!r.has(Header.aaBit))
        #expect(r.bytes.count <= 512)
        #expect(r.answer.isEmpty && r.message.authority.count == 13)
        // 13 A records of 16 bytes fit, then one AAAA of 28; the other 12 AAAA do not.
        let types = r.message.additional.map(\.type)
        #expect(types == Array(repeating: RRType.a, count: 13) + [.aaaa], "\(r.additional)")
        #expect(r.message.additional.allSatisfy { $0.name.isSubdomain(of: name("fat.example.com.")) })
        let edns = try server.ask("www.fat.example.com.", .a, edns: EDNS(payload: 512))
        #expect(edns.has(Header.tcBit) && edns.message.authority.count == 13 && edns.bytes.count <= 512)
        #expect(!edns.message.additional.isEmpty)
        let tcp = try server.ask("www.fat.example.com.", .a, over: .tcp)
        #expect(!tcp.has(Header.tcBit) && !tcp.has(Header.aaBit))
        #expect(tcp.message.authority.count == 13 && tcp.message.additional.count == 26)
    }

    @Test(
        "opcodes other than QUERY: NOTIMP, opcode echoed (RFC 1035 §4.1.1)",
        arguments: [
            (UInt16(2), "STATUS"), (4, "NOTIFY"), (5, "UPDATE"), (15, "unassigned"),
        ])
    func notImplemented(opcode: UInt16, label: String) throws {
        let r = try server.ask(Message.query(name("example.com."), .soa, flags: opcode << 11))
        #expect(r.rcode == RCode.notImp.rawValue, "\(label)")
        #expect(r.message.opcode == UInt8(opcode))
        #expect(r.answer.isEmpty && !r.has(Header.aaBit))
    }

    /// The opcode is judged before the body (RFC 1035 §4.1.1, RFC 6895 §2.2), as NSD and Knot do:
    /// a header alone, or a body that is not a query, still gets NOTIMP, never FORMERR.
    @Test(
        "an unknown opcode with no question or a malformed body: NOTIMP, RD copied, question empty",
        arguments: [UInt16(1), 2, 5, 15])
    func notImplementedBeforeTheBody(opcode: UInt16) throws {
        for (rd, body) in [(true, [UInt8]()), (false, [0xC0, 0x0C, 0, 1]), (true, [3, 0x61])] {
            var header: [UInt8] = [0x12, 0x34, UInt8(opcode << 3) | (rd ? 1 : 0), 0, 0, 0, 0, 0, 0, 0, 0, 0]
            if !body.isEmpty { header[5] = 1 }
            let (outcome, bytes) = server.respond(header + body)
            #expect(bytes.count == Header.size, "opcode \(opcode): header only, question empty: \(bytes)")
            let m = try Message.decode(bytes)
            #expect(m.id == 0x1234 && m.rcode == RCode.notImp.rawValue && m.opcode == UInt8(opcode))
            #expect(m.has(Header.qrBit) && m.has(Header.rdBit) == rd && !m.has(Header.aaBit))
            #expect(m.question.isEmpty && m.answer.isEmpty && m.additional.isEmpty)
            #expect(outcome.rcode == RCode.notImp.rawValue)
        }
        // NOTIFY is an opcode we implement: its malformed body is FORMERR.
        let notify: [UInt8] = [0x12, 0x34, 4 << 3, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        #expect(try Message.decode(server.respond(notify).1).rcode == RCode.formErr.rawValue)
    }

    @Test("CH TXT version.bind: REFUSED by default, answered when configured (RFC 4892 §2 convention)")
    func chaosVersion() throws {
        let query = Message.query(name("VERSION.BIND."), .txt, class: .ch)
        let refused = try server.ask(query)
        #expect(refused.rcode == RCode.refused.rawValue && refused.answer.isEmpty)
        let configured = try Fixture.server(
            Zones.all, options: ResponderOptions(version: "carousel 1.0", identity: "ns-a"))
        let r = try configured.ask(query)
        #expect(r.rcode == RCode.noError.rawValue && r.has(Header.aaBit))
        #expect(r.answer == ["VERSION.BIND. 0 TXT \"carousel 1.0\""])
        #expect(r.message.answer.map(\.rrClass) == [.ch])
        #expect(
            try configured.ask(Message.query(name("id.server."), .txt, class: .ch)).answer == [
                "id.server. 0 TXT \"ns-a\""
            ])
        #expect(
            try configured.ask(Message.query(name("version.bind."), .a, class: .ch)).rcode == RCode.refused.rawValue)
        #expect(
            try configured.ask(Message.query(name("other.bind."), .txt, class: .ch)).rcode == RCode.refused.rawValue)
    }

    @Test("zone transfers are refused (RFC 5936 §6)", arguments: [RRType.axfr, .ixfr])
    func transfersRefused(type: RRType) throws {
        let r = try server.ask("example.com.", type, over: .tcp)
        #expect(r.rcode == RCode.refused.rawValue)
        #expect(r.answer.isEmpty)
    }

    @Test("other classes: REFUSED; class ANY answers from IN (RFC 1035 §3.2.5)")
    func classes() throws {
        #expect(
            try server.ask(Message.query(name("mail.example.com."), .a, class: DNSClass(rawValue: 4))).rcode
                == RCode.refused.rawValue)
        #expect(
            try server.ask(Message.query(name("mail.example.com."), .a, class: .any)).answer
                == ["mail.example.com. 3600 A 192.0.2.25"])
    }

    @Test("malformed queries: FORMERR echoing id and opcode; responses and runts dropped (RFC 1035 §4.1.1)")
    func malformed() throws {
        var twoQuestions = Message.query(id: 0x7777, name("example.com."), .a)
        twoQuestions.question.append(twoQuestions.question[0])
        let (outcome, bytes) = server.respond(twoQuestions.encode())
        let m = try Message.decode(bytes)
        #expect(m.id == 0x7777 && m.rcode == RCode.formErr.rawValue && m.question.isEmpty)
        #expect(m.has(Header.qrBit) && m.has(Header.rdBit))
        #expect(outcome.rcode == RCode.formErr.rawValue)

        var trailing = Message.query(id: 0x7778, name("example.com."), .a).encode()
        trailing.append(0)
        let withQuestion = try Message.decode(server.respond(trailing).1)
        #expect(
            withQuestion.rcode == RCode.formErr.rawValue && withQuestion.question.map(\.name) == [name("example.com.")])

        var response = Message.query(name("example.com."), .a)
        response.flags |= Header.qrBit
        #expect(server.respond(response.encode()).0 == .dropped)
        #expect(server.respond([1, 2, 3]).0 == .dropped)
    }
}
