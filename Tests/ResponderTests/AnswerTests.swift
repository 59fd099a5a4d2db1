import DNSWire
import DNSZone
import Responder
import Testing

@Suite("Responder: answers (RFC 1034 §4.3.2)")
struct AnswerTests {
    let server: Server
    init() throws { server = try Fixture.server(Zones.all) }

    @Test("exact answer: AA=1, RA=0, RD and CD copied, question echoed (RFC 1035 §4.1.1, RFC 4035 §3.1.6)")
    func exactAnswer() throws {
        let r = try server.ask(Message.query(id: 7, name("mail.example.com."), .a, flags: Header.rdBit | Header.cdBit))
        #expect(r.rcode == RCode.noError.rawValue)
        #expect(r.has(Header.aaBit) && r.has(Header.rdBit) && r.has(Header.cdBit))
        #expect(!r.has(Header.raBit) && !r.has(Header.tcBit) && !r.has(Header.adBit))
        #expect(r.message.question == [Question(name: name("mail.example.com."), type: .a)])
        #expect(r.answer == ["mail.example.com. 3600 A 192.0.2.25"])
        #expect(r.authority.isEmpty && r.additional.isEmpty)
        #expect(r.message.edns == nil)

        let noRD = try server.ask(Message.query(name("mail.example.com."), .a, flags: 0))
        #expect(!noRD.has(Header.rdBit) && noRD.has(Header.aaBit))
        #expect(noRD.outcome.length == noRD.bytes.count && noRD.outcome.rcode == 0)
        #expect(noRD.outcome.qtype == 1 && !noRD.outcome.truncated)
    }

    @Test("the apex's SOA, NS and TXT with several strings")
    func apexData() throws {
        #expect(
            try server.ask("example.com.", .soa).answer == [
                "example.com. 3600 SOA ns1.example.com. hostmaster.example.com. 2024010101 7200 900 1209600 300"
            ])
        #expect(
            try server.ask("example.com.", .ns).answer == [
                "example.com. 3600 NS ns1.example.com.", "example.com. 3600 NS ns2.example.com.",
            ])
        #expect(try server.ask("txt.example.com.", .txt).answer == ["txt.example.com. 3600 TXT \"hello\" \"world\""])
    }

    @Test("NXDOMAIN: AA, the zone's SOA in authority with TTL min(SOA TTL, MINIMUM) (RFC 2308 §3)")
    func nxDomain() throws {
        let r = try server.ask("nothing.example.com.", .a)
        #expect(r.rcode == RCode.nxDomain.rawValue)
        #expect(r.has(Header.aaBit))
        #expect(r.answer.isEmpty && r.additional.isEmpty)
        #expect(
            r.authority == [
                "example.com. 300 SOA ns1.example.com. hostmaster.example.com. 2024010101 7200 900 1209600 300"
            ])
        // SOA TTL 60 below MINIMUM 300: 60.
        let org = try server.ask("nothing.example.org.", .a)
        #expect(org.rcode == RCode.nxDomain.rawValue)
        #expect(org.message.authority.map(\.ttl) == [60])
        // Below an existing leaf too.
        #expect(try server.ask("x.mail.example.com.", .a).rcode == RCode.nxDomain.rawValue)
    }

    @Test("NODATA: NOERROR, no answer, SOA in authority (RFC 2308 §2.2)")
    func noData() throws {
        let r = try server.ask("mail.example.com.", .mx)
        #expect(r.rcode == RCode.noError.rawValue && r.has(Header.aaBit))
        #expect(r.answer.isEmpty)
        #expect(
            r.authority == [
                "example.com. 300 SOA ns1.example.com. hostmaster.example.com. 2024010101 7200 900 1209600 300"
            ])
    }

    @Test(
        "an empty non-terminal exists: NODATA, not NXDOMAIN (RFC 8020 §2, RFC 4592 §2.2.2)",
        arguments: [
            "b.c.example.com.", "c.example.com.",
        ])
    func emptyNonTerminal(qname: String) throws {
        let r = try server.ask(qname, .a)
        #expect(r.rcode == RCode.noError.rawValue)
        #expect(r.answer.isEmpty && r.authority.count == 1 && r.message.authority[0].type == .soa)
    }

    @Test("CNAME in the zone: the chain, then the target's data, AA=1 (RFC 1034 §3.6.2, §4.3.2 step 3a)")
    func cnameChain() throws {
        let r = try server.ask("chain1.example.com.", .a)
        #expect(r.rcode == RCode.noError.rawValue && r.has(Header.aaBit))
        #expect(
            Array(r.answer.prefix(2)) == [
                "chain1.example.com. 3600 CNAME chain2.example.com.", "chain2.example.com. 3600 CNAME www.example.com.",
            ])
        #expect(r.message.answer.dropFirst(2).map(\.type) == [.a, .a, .a, .a])
        // Asking for the CNAME itself does not follow it.
        #expect(
            try server.ask("alias.example.com.", .cname).answer == ["alias.example.com. 3600 CNAME www.example.com."])
    }

    @Test("CNAME into another zone served here (RFC 1034 §4.3.2 step 3a)")
    func cnameCrossZone() throws {
        let r = try server.ask("cross.example.com.", .a)
        #expect(r.rcode == RCode.noError.rawValue && r.has(Header.aaBit))
        #expect(r.answer == ["cross.example.com. 3600 CNAME www.example.org.", "www.example.org. 60 A 192.0.2.81"])
        // …and to the child zone below a cut whose zone we also serve.
        #expect(
            try server.ask("tochild.example.com.", .a).answer == [
                "tochild.example.com. 3600 CNAME www.child.example.com.", "www.child.example.com. 3600 A 192.0.2.210",
            ])
    }

    @Test(
        "a CNAME loop stops after each name once (RFC 1034 §3.6.2)",
        arguments: ["loop1.example.com.", "self.example.com."])
    func cnameLoop(qname: String) throws {
        let r = try server.ask(qname, .a)
        #expect(r.rcode == RCode.noError.rawValue)
        #expect(r.message.answer.allSatisfy { $0.type == .cname })
        #expect(r.message.answer.count == (qname.hasPrefix("self") ? 1 : 2))
        #expect(Set(r.message.answer.map(\.name)).count == r.message.answer.count)
    }

    @Test("a CNAME to a name outside our zones: the CNAME alone, NOERROR (RFC 1034 §4.3.2 step 3a)")
    func cnameOutside() throws {
        let r = try server.ask("out.example.com.", .a)
        #expect(r.rcode == RCode.noError.rawValue && r.has(Header.aaBit))
        #expect(r.answer == ["out.example.com. 3600 CNAME www.elsewhere.net."])
        #expect(r.authority.isEmpty)
    }

    @Test("a CNAME to a missing name: NXDOMAIN for the target, CNAME kept (RFC 6604 §2.1)")
    func cnameDangling() throws {
        let r = try server.ask("dangling.example.com.", .a)
        #expect(r.rcode == RCode.nxDomain.rawValue && r.has(Header.aaBit))
        #expect(r.answer == ["dangling.example.com. 3600 CNAME nothing.example.com."])
        #expect(r.message.authority.map(\.type) == [.soa])
    }

    @Test("a wildcard CNAME: owner is the qname, then the target (RFC 4592 §4.3)")
    func wildcardCNAME() throws {
        let r = try server.ask("anything.wild.example.com.", .a)
        #expect(Array(r.answer.prefix(1)) == ["anything.wild.example.com. 3600 CNAME www.example.com."])
        #expect(r.message.answer.count == 5)
    }

    @Test(
        "referral: AA=0, the cut's NS in authority, in-zone glue in additional (RFC 1034 §4.3.2 step 3b)",
        arguments: [
            ("host.sub.example.com.", RRType.a), ("sub.example.com.", .a), ("sub.example.com.", .ns),
            ("ns1.sub.example.com.", .a), ("x.sub.example.com.", .ds),
        ])
    func referral(qname: String, type: RRType) throws {
        let r = try server.ask(qname, type)
        #expect(r.rcode == RCode.noError.rawValue)
        #expect(!r.has(Header.aaBit))
        #expect(r.answer.isEmpty)
        #expect(
            r.authority == [
                "sub.example.com. 3600 NS ns1.sub.example.com.", "sub.example.com. 3600 NS ns.elsewhere.net.",
            ])
        #expect(
            r.message.additional.map { "\($0.name) \($0.type)" } == [
                "ns1.sub.example.com. A", "ns1.sub.example.com. AAAA",
            ])
    }

    @Test("a CNAME into a delegated name: the CNAME, then the referral (RFC 1034 §4.3.2 step 3b)")
    func cnameToReferral() throws {
        let r = try server.ask("tosub.example.com.", .a)
        #expect(r.rcode == RCode.noError.rawValue)
        #expect(r.answer == ["tosub.example.com. 3600 CNAME host.sub.example.com."])
        #expect(r.message.authority.map(\.type) == [.ns, .ns])
    }

    @Test("DS at a cut where both sides are served comes from the parent (RFC 4035 §3.1.4.1)")
    func dsFromParent() throws {
        let r = try server.ask("child.example.com.", .ds)
        #expect(r.rcode == RCode.noError.rawValue && r.has(Header.aaBit))
        #expect(r.message.answer.map { "\($0.name) \($0.type)" } == ["child.example.com. DS"])
        // No DS in the parent: NODATA with the parent's SOA.
        let nods = try server.ask("nods.example.com.", .ds)
        #expect(nods.rcode == RCode.noError.rawValue && nods.has(Header.aaBit) && nods.answer.isEmpty)
        #expect(nods.message.authority.map { "\($0.name) \($0.type)" } == ["example.com. SOA"])
        // Everything else at the child apex comes from the child.
        #expect(try server.ask("child.example.com.", .soa).message.answer.map(\.name) == [name("child.example.com.")])
        let ns = try server.ask("child.example.com.", .ns)
        #expect(ns.has(Header.aaBit) && ns.answer == ["child.example.com. 3600 NS ns1.child.example.com."])
        // With only the parent loaded, DS at the cut is still the parent's (it is authoritative there).
        let parentOnly = try Fixture.server([Zones.exampleCom])
        let p = try parentOnly.ask("child.example.com.", .ds)
        #expect(p.has(Header.aaBit) && p.message.answer.map(\.type) == [.ds])
        #expect(!(try parentOnly.ask("child.example.com.", .a)).has(Header.aaBit))
    }

    @Test(
        "outside every zone: REFUSED, no records, question echoed (RFC 1034 §4.3.1)",
        arguments: ["www.example.net.", "com.", ".", "example.co."])
    func refused(qname: String) throws {
        let r = try server.ask(qname, .a)
        #expect(r.rcode == RCode.refused.rawValue)
        #expect(!r.has(Header.aaBit))
        #expect(r.answer.isEmpty && r.authority.isEmpty && r.additional.isEmpty)
        #expect(r.message.question.map(\.name) == [name(qname)])
    }

    @Test("ANY gets one RRset, not the whole node (RFC 8482 §4.2)")
    func anyQuery() throws {
        let r = try server.ask("www.example.com.", .any)
        #expect(r.rcode == RCode.noError.rawValue && r.has(Header.aaBit))
        #expect(!r.message.answer.isEmpty)
        #expect(Set(r.message.answer.map(\.type)).count == 1)
        let apex = try server.ask("example.com.", .any)
        #expect(Set(apex.message.answer.map(\.type)).count == 1)
        #expect(try server.ask("b.c.example.com.", .any).answer.isEmpty)
    }

    @Test("0x20: the question and the answer owner keep the client's case byte for byte (RFC 4343 §4)")
    func caseEcho() throws {
        let query = Message.query(id: 99, try DNSName("mAiL.ExAmPlE.cOm."), .a)
        let r = try server.ask(query)
        let bytes = query.encode()
        #expect(Array(r.bytes[12..<(12 + 22)]) == Array(bytes[12..<(12 + 22)]))
        #expect(r.message.question[0].name.wire == name("mAiL.ExAmPlE.cOm.").wire)
        #expect(r.message.answer.map { $0.name.wire } == [name("mAiL.ExAmPlE.cOm.").wire])
        // Negative answers: the SOA owner points into the client's spelling too.
        let nx = try server.ask(Message.query(try DNSName("NoThInG.eXaMpLe.CoM."), .a))
        #expect(nx.message.authority[0].name.wire == name("eXaMpLe.CoM.").wire)
    }

    @Test("rotation: 4 A records, 8 queries, the first answer cycles through all 4 in order, twice")
    func rotation() throws {
        let server = try Fixture.server(Zones.all)  // fresh counters
        var firsts: [String] = []
        for i in 0..<8 {
            let r = try server.ask("www.example.com.", .a, id: UInt16(i))
            let addresses = r.message.answer.map { Summary.rdata($0) }
            firsts.append(addresses[0])
            // Each answer is the stored order, rotated: all four, none twice.
            let stored = ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"]
            #expect(addresses == Array(stored[(i % 4)...] + stored[..<(i % 4)]))
        }
        #expect(
            firsts == [
                "192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4",
            ])
    }

    @Test("rotation does not apply to NS or MX sets")
    func noRotationForNSAndMX() throws {
        let server = try Fixture.server(Zones.all)
        for _ in 0..<3 {
            #expect(
                try server.ask("example.com.", .mx).answer == [
                    "example.com. 3600 MX 10 mail.example.com.", "example.com. 3600 MX 20 mail2.example.com.",
                ])
            #expect(
                try server.ask("example.com.", .ns).answer == [
                    "example.com. 3600 NS ns1.example.com.", "example.com. 3600 NS ns2.example.com.",
                ])
        }
    }
}

func name(_ text: String) -> DNSName { try! DNSName(text) }
