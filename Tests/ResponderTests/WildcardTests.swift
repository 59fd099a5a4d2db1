import DNSWire
import Responder
import Testing

/// The example zone and queries of RFC 4592 §2.2.1, each with the result the RFC gives.
@Suite("Responder: wildcards (RFC 4592)")
struct WildcardTests {
    enum Expected: Sendable {
        case answer([String])
        case nodata
        case nxDomain
        case referral
    }

    static let cases: [(String, RRType, Expected)] = [
        // §2.2.1 "The following responses would be synthesized from one of the wildcards in the zone"
        ("host3.example.", .mx, .answer(["host3.example. 3600 MX 10 host1.example."])),
        ("host3.example.", .a, .nodata),
        ("foo.bar.example.", .txt, .answer(["foo.bar.example. 3600 TXT \"this is a wildcard\""])),
        // §2.2.1 "The following responses would not be synthesized from any of the wildcards"
        ("host1.example.", .mx, .nodata),  // host1.example. exists
        ("sub.*.example.", .mx, .nodata),  // sub.*.example. exists
        ("_telnet._tcp.host1.example.", .srv, .nxDomain),  // _tcp.host1.example. exists, has no `*` child
        ("host.subdel.example.", .a, .referral),  // subdel.example. is a cut
        ("ghost.*.example.", .mx, .nxDomain),  // *.example. exists; `*` is not a wildcard below it
        // §2.2.2 empty non-terminals exist: no synthesis at or below them
        ("host2.example.", .a, .nodata),
        ("_tcp.host2.example.", .a, .nodata),
        ("x._tcp.host2.example.", .a, .nxDomain),
        // The wildcard's own name answers like any other name (§2.1.1: asking for `*` literally).
        ("*.example.", .txt, .answer(["*.example. 3600 TXT \"this is a wildcard\""])),
        ("sub.*.example.", .txt, .answer(["sub.*.example. 3600 TXT \"this is not a wildcard\""])),
        ("host1.example.", .a, .answer(["host1.example. 3600 A 192.0.2.1"])),
    ]

    @Test("RFC 4592 §2.2.1 example queries", arguments: cases)
    func rfcExample(qname: String, type: RRType, expected: Expected) throws {
        let server = try Fixture.server([Zones.rfc4592])
        let r = try server.ask(qname, type)
        switch expected {
        case .answer(let records):
            #expect(r.rcode == RCode.noError.rawValue && r.has(Header.aaBit))
            #expect(r.answer == records)
            #expect(r.authority.isEmpty)
        case .nodata:
            #expect(r.rcode == RCode.noError.rawValue && r.has(Header.aaBit))
            #expect(r.answer.isEmpty)
            #expect(r.authority == ["example. 300 SOA ns.example.com. hostmaster.example.com. 1 7200 900 1209600 300"])
        case .nxDomain:
            #expect(r.rcode == RCode.nxDomain.rawValue && r.has(Header.aaBit))
            #expect(r.answer.isEmpty)
            #expect(r.authority == ["example. 300 SOA ns.example.com. hostmaster.example.com. 1 7200 900 1209600 300"])
        case .referral:
            #expect(r.rcode == RCode.noError.rawValue && !r.has(Header.aaBit))
            #expect(r.answer.isEmpty)
            #expect(
                r.authority == ["subdel.example. 3600 NS ns.example.com.", "subdel.example. 3600 NS ns.example.net."])
        }
    }

    @Test("a synthesized answer's owner is the qname in the client's case (RFC 4592 §3.3.1)")
    func synthesizedOwnerCase() throws {
        let server = try Fixture.server([Zones.rfc4592])
        let r = try server.ask(Message.query(try DNSName("HoSt3.ExAmPlE."), .mx))
        #expect(r.message.answer.map { $0.name.wire } == [name("HoSt3.ExAmPlE.").wire])
        // The rdata is the wildcard's. Compression matches case-insensitively, so its `example.`
        // points at the client's `ExAmPlE.`: same name, the client's spelling (a design choice,
        // ResponseWriter+Names.swift; BIND and NSD do the same).
        #expect(r.answer.map { $0.lowercased() } == ["host3.example. 3600 mx 10 host1.example."])
        #expect(r.answer == ["HoSt3.ExAmPlE. 3600 MX 10 host1.ExAmPlE."])
    }
}
