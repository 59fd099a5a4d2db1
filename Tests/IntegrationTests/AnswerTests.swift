// Answers over UDP from the real binary, read with the real dig: the RFC 1034 §4.3.2 lookup,
// RFC 2308 negative answers, RFC 4592 wildcards, CNAME chains, referrals and nested zones.

import Foundation
import Testing

private let www = ["www.example.test. 300 IN A 192.0.2.1", "www.example.test. 300 IN A 192.0.2.2"]

@Suite("Answers")
struct AnswerTests {
    static let exact: [Expected] = [
        Expected("www.example.test A", answer: www, "two A records, TTL 300"),
        Expected("www.example.test AAAA", answer: ["www.example.test. 300 IN AAAA 2001:db8::1"], "AAAA"),
        Expected(
            "example.test MX",
            answer: [
                "example.test. 3600 IN MX 10 mail.example.test.", "example.test. 3600 IN MX 20 mail2.example.test.",
            ],
            additional: nil, "MX (additional addresses optional)"),
        Expected(
            "txt.example.test TXT", answer: ["txt.example.test. 3600 IN TXT \"hello world\" \"second string\""],
            "TXT with two strings"),
        Expected(
            "_sip._tcp.example.test SRV", answer: ["_sip._tcp.example.test. 3600 IN SRV 10 20 5060 sip.example.test."],
            additional: nil, "SRV"),
        Expected("example.test CAA", answer: ["example.test. 3600 IN CAA 0 issue \"ca.example.net\""], "CAA"),
        Expected(
            "unknown.example.test TYPE65000", answer: ["unknown.example.test. 3600 IN TYPE65000 \\# 4 0A000001"],
            "RFC 3597 unknown type served as raw rdata"),
        Expected(
            "example.test SOA",
            answer: [
                "example.test. 3600 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 300"
            ],
            "SOA at the apex with its own TTL"),
        Expected(
            "example.test NS",
            answer: ["example.test. 3600 IN NS ns1.example.test.", "example.test. 3600 IN NS ns2.example.test."],
            additional: nil, "apex NS is authoritative data"),
        Expected("WWW.EXAMPLE.TEST A", answer: www, "names match case-insensitively"),
    ]

    static let negative: [Expected] = [
        Expected(
            "nx.example.test A", status: "NXDOMAIN", authority: [NegativeSOA.example], "NXDOMAIN, SOA TTL = minimum 300"
        ),
        Expected(
            "nx.other.test A", status: "NXDOMAIN", authority: [NegativeSOA.other], "NXDOMAIN, SOA TTL = SOA TTL 60"),
        Expected("www.example.test MX", authority: [NegativeSOA.example], "NODATA: the name exists, the type does not"),
        Expected("b.c.example.test A", authority: [NegativeSOA.example], "empty non-terminal is NODATA, not NXDOMAIN"),
        Expected("c.example.test A", authority: [NegativeSOA.example], "empty non-terminal two levels up"),
        Expected("x.c.example.test A", status: "NXDOMAIN", authority: [NegativeSOA.example], "below an ENT"),
        Expected("nx.child.example.test A", status: "NXDOMAIN", authority: [NegativeSOA.child], "the child's SOA"),
    ]

    static let wildcards: [Expected] = [
        Expected(
            "foo.wild.example.test A", answer: ["foo.wild.example.test. 3600 IN A 192.0.2.80"], "owner is the qname"),
        Expected(
            "a.b.foo.wild.example.test A", answer: ["a.b.foo.wild.example.test. 3600 IN A 192.0.2.80"],
            "a wildcard matches several labels"),
        Expected(
            "foo.wild.example.test TXT", answer: ["foo.wild.example.test. 3600 IN TXT \"wildcard\""], "other type"),
        Expected("foo.wild.example.test MX", authority: [NegativeSOA.example], "NODATA at a wildcard owner"),
        Expected(
            "exists.wild.example.test A", authority: [NegativeSOA.example], "an existing name blocks the wildcard"),
        Expected(
            "x.exists.wild.example.test A", status: "NXDOMAIN", authority: [NegativeSOA.example],
            "no wildcard match below an existing name (RFC 4592 §2.2.1)"),
        Expected("wild.example.test A", authority: [NegativeSOA.example], "the wildcard's parent is an ENT"),
        Expected(
            "*.wild.example.test A", answer: ["*.wild.example.test. 3600 IN A 192.0.2.80"], "the wildcard name itself"),
        Expected(
            "foo.cwild.example.test A", answer: ["foo.cwild.example.test. 3600 IN CNAME www.example.test."] + www,
            "a CNAME synthesised from a wildcard is followed"),
    ]

    static let cnames: [Expected] = [
        Expected(
            "alias.example.test A",
            answer: [
                "alias.example.test. 3600 IN CNAME alias2.example.test.",
                "alias2.example.test. 3600 IN CNAME www.example.test.",
            ]
                + www, "a two-step chain inside the zone"),
        Expected(
            "alias.example.test CNAME", answer: ["alias.example.test. 3600 IN CNAME alias2.example.test."],
            "QTYPE CNAME is not followed"),
        Expected(
            "toother.example.test A",
            answer: ["toother.example.test. 3600 IN CNAME www.other.test.", "www.other.test. 60 IN A 198.51.100.10"],
            "into another zone this server serves"),
        Expected(
            "tochild.example.test A",
            answer: [
                "tochild.example.test. 3600 IN CNAME www.child.example.test.",
                "www.child.example.test. 600 IN A 192.0.2.101",
            ],
            "into the nested child zone"),
        Expected(
            "back.other.test A",
            answer: [
                "back.other.test. 60 IN CNAME alias.example.test.",
                "alias.example.test. 3600 IN CNAME alias2.example.test.",
                "alias2.example.test. 3600 IN CNAME www.example.test.",
            ] + www, "across zones, then a chain"),
        Expected(
            "outside.example.test A", answer: ["outside.example.test. 3600 IN CNAME www.example.net."],
            "a target outside every zone: just the CNAME, no recursion"),
        Expected(
            "toother.example.test MX",
            answer: ["toother.example.test. 3600 IN CNAME www.other.test."], authority: nil,
            "chain ends in NODATA in the other zone"),
    ]

    static let referrals: [Expected] = [
        Expected(
            "www.deleg.example.test A", aa: false, answer: [],
            authority: [
                "deleg.example.test. 3600 IN NS ns.deleg.example.test.",
                "deleg.example.test. 3600 IN NS ns.other.test.",
            ],
            additional: [
                "ns.deleg.example.test. 3600 IN A 192.0.2.99", "ns.deleg.example.test. 3600 IN AAAA 2001:db8::99",
            ],
            "referral: AA=0, NS in authority, glue in additional"),
        Expected(
            "deleg.example.test NS", aa: false, answer: [],
            authority: [
                "deleg.example.test. 3600 IN NS ns.deleg.example.test.",
                "deleg.example.test. 3600 IN NS ns.other.test.",
            ],
            additional: [
                "ns.deleg.example.test. 3600 IN A 192.0.2.99", "ns.deleg.example.test. 3600 IN AAAA 2001:db8::99",
            ],
            "NS at the cut is not authoritative: a referral"),
        Expected(
            "deleg.example.test DS", authority: [NegativeSOA.example],
            "DS at a cut is the parent's: NODATA when it has none (RFC 4035 §3.1.4.1)"),
        Expected(
            "child.example.test DS",
            answer: [
                "child.example.test. 3600 IN DS 54321 13 2 "
                    + "2BB183AF5F22588179A53B0A98631FAD1A292118B9F2BAF6C0B6D5F5 B3D9B1A4"
            ], "DS answered from the parent although the child is served too"),
        Expected(
            "child.example.test NS", answer: ["child.example.test. 600 IN NS ns1.child.example.test."], additional: nil,
            "the child zone answers for its apex"),
        Expected(
            "www.child.example.test A", answer: ["www.child.example.test. 600 IN A 192.0.2.101"],
            "data in the nested zone"),
        Expected("www.example.com A", status: "REFUSED", aa: false, answer: [], "outside every zone"),
        Expected("test SOA", status: "REFUSED", aa: false, answer: [], "above every zone"),
        Expected(". NS", status: "REFUSED", aa: false, answer: [], "the root: no recursion, no hints"),
    ]

    @Test("exact answers", arguments: exact)
    func exactAnswers(_ expected: Expected) async throws {
        check(try await Dig.query(try await sharedCarousel(), expected.query), expected)
    }

    @Test("NXDOMAIN and NODATA", arguments: negative)
    func negativeAnswers(_ expected: Expected) async throws {
        check(try await Dig.query(try await sharedCarousel(), expected.query), expected)
    }

    @Test("wildcards (RFC 4592)", arguments: wildcards)
    func wildcardAnswers(_ expected: Expected) async throws {
        check(try await Dig.query(try await sharedCarousel(), expected.query), expected)
    }

    @Test("CNAME chains", arguments: cnames)
    func cnameAnswers(_ expected: Expected) async throws {
        check(try await Dig.query(try await sharedCarousel(), expected.query), expected)
    }

    @Test("referrals, nested zones and REFUSED", arguments: referrals)
    func referralAnswers(_ expected: Expected) async throws {
        check(try await Dig.query(try await sharedCarousel(), expected.query), expected)
    }

    @Test("a CNAME loop terminates")
    func cnameLoop() async throws {
        let response = try await Dig.query(try await sharedCarousel(), "loop1.example.test", "A")
        #expect(response.status == "NOERROR" || response.status == "SERVFAIL", "\(response)")
        #expect(
            response.answer.contains(DigRecord("loop1.example.test. 3600 IN CNAME loop2.example.test.")), "\(response)")
        #expect(response.answer.count <= 16, "the loop is cut short\n\(response)")
    }

    @Test(
        "QTYPE ANY gets one RRset (RFC 8482)", arguments: ["example.test", "www.example.test", "foo.wild.example.test"])
    func minimalAny(name: String) async throws {
        let response = try await Dig.query(try await sharedCarousel(), name, "ANY")
        #expect(response.status == "NOERROR" && response.aa, "\(response)")
        let rrsets = Set(response.answer.map { "\($0.owner) \($0.type)" })
        #expect(rrsets.count == 1, "exactly one RRset\n\(response)")
        #expect(response.answer.allSatisfy { $0.owner == name.lowercased() + "." }, "\(response)")
    }

    @Test("QCLASS ANY is answered from class IN, never authoritatively (RFC 1035 §6.2)")
    func qclassAny() async throws {
        let response = try await Dig.query(try await sharedCarousel(), "-c", "ANY", "-t", "A", "-q", "www.example.test")
        #expect(response.status == "NOERROR" && response.answer.count == 2, "\(response)")
        #expect(!response.aa, "a QCLASS=* answer cannot be authoritative for every class\n\(response)")
    }

    @Test("the CD bit is copied (RFC 4035 §3.1.6), AD is not set for unsigned data")
    func cdAndAD() async throws {
        let response = try await Dig.query(try await sharedCarousel(), "+cdflag", "+adflag", "www.example.test")
        #expect(response.flags.contains("cd") && !response.flags.contains("ad"), "\(response)")
    }

    @Test("address RRsets rotate between answers, always the whole set")
    func rotation() async throws {
        let endpoint = try await sharedCarousel()
        var query = RawQuery("many.example.test.")
        query.opts = [(1232, 0, [])]
        var firsts = Set<[UInt8]>()
        var sets = Set<[[UInt8]]>()
        for _ in 0..<6 {
            let message = try RawMessage(try #require(try await UDP.exchange(query.bytes, with: endpoint)))
            try #require(message.answer.count == 40)
            firsts.insert(message.answer[0].rdata)
            sets.insert(message.answer.map(\.rdata).sorted { $0.lexicographicallyPrecedes($1) })
        }
        #expect(firsts.count > 1, "the first record changes between answers")
        #expect(sets.count == 1, "every answer holds the same records")
    }

    @Test("header: AA=1, RA=0, RD copied, ID echoed", arguments: [true, false])
    func headerFlags(rd: Bool) async throws {
        let endpoint = try await sharedCarousel()
        var query = RawQuery("www.example.test.", type: 1)
        query.rd = rd
        let reply = try #require(try await UDP.exchange(query.bytes, with: endpoint))
        let message = try RawMessage(reply)
        #expect(message.id == query.id)
        #expect(message.qr && message.aa && !message.ra && !message.tc)
        #expect(message.rd == rd)
        #expect(message.opcode == 0 && message.rcode == 0)
        #expect(message.ancount == 2)
        let dig = try await Dig.query(endpoint, rd ? "+rec" : "+norec", "www.example.test")
        #expect(dig.rd == rd && dig.aa && !dig.ra, "\(dig)")
    }

    @Test(
        "0x20: the question is echoed byte for byte",
        arguments: ["WwW.eXaMpLe.TeSt.", "NX.Example.TEST.", "wWw.DeLeG.example.TEST."])
    func questionCase(name: String) async throws {
        let endpoint = try await sharedCarousel()
        let query = RawQuery(name, type: 1)
        let reply = try #require(try await UDP.exchange(query.bytes, with: endpoint))
        let message = try RawMessage(reply)
        #expect(message.questionBytes == Array(query.bytes[12...]))
        #expect(message.qdcount == 1)
        let viaTCP = try #require(try await TCPConnection.exchange(query.bytes, with: endpoint))
        #expect(try RawMessage(viaTCP).questionBytes == Array(query.bytes[12...]))
        // dig prints the question as received
        let dig = try await Dig.query(endpoint, name, "A")
        #expect(dig.question.first?.hasPrefix(name) == true, "\(dig)")
    }

    @Test(
        "kdig agrees (a second client)",
        arguments: [
            ("www.example.test", "A", "NOERROR", 2), ("nx.example.test", "A", "NXDOMAIN", 0),
            ("foo.cwild.example.test", "A", "NOERROR", 3), ("www.example.com", "A", "REFUSED", 0),
        ])
    func kdigAgrees(name: String, type: String, status: String, answers: Int) async throws {
        let responses = try await Dig.kdig(try await sharedCarousel(), [name, type])
        let response = try #require(responses.first)
        #expect(response.status == status, "\(response)")
        #expect(response.answer.count == answers, "\(response)")
        #expect(response.aa == (status != "REFUSED"), "\(response)")
    }
}
