import DNSWire
import DNSZone
import Foundation
import Responder
import Testing

/// The EDE options of a reply, as (INFO-CODE, EXTRA-TEXT).
func extendedErrors(_ m: Message) -> [(code: UInt16, text: String)] {
    m.ednsOptions.filter { $0.code == EDNSOptionCode.extendedError }.map {
        (UInt16($0.data[0]) << 8 | UInt16($0.data[1]), String(decoding: $0.data.dropFirst(2), as: UTF8.self))
    }
}

@Suite("Responder: Extended DNS Errors (RFC 8914), AA only on authoritative data")
struct ExtendedErrorTests {
    let server: Server
    init() throws { server = try Fixture.server(Zones.all) }

    let edns = EDNS(payload: 1232)

    @Test("REFUSED outside every zone: EDE 20 without text, as NSD and Knot; AA clear")
    func outsideEveryZone() throws {
        let r = try server.ask("www.example.net.", .a, edns: edns)
        #expect(r.rcode == RCode.refused.rawValue && !r.has(Header.aaBit))
        #expect(extendedErrors(r.message).map(\.code) == [ExtendedErrorCode.notAuthoritative])
        #expect(extendedErrors(r.message).first?.text == "")
        // Without an OPT in the query there is none in the answer (RFC 6891 §7), so no EDE.
        let plain = try server.ask("www.example.net.", .a)
        #expect(plain.rcode == RCode.refused.rawValue && plain.message.edns == nil)
    }

    @Test(
        "REFUSED for a class not served: EDE 21; CH names other than the identities: 21; an identity not configured: 18"
    )
    func classesAndIdentities() throws {
        let hs = try server.ask(Message.query(name("www.example.com."), .a, class: DNSClass(rawValue: 4), edns: edns))
        #expect(hs.rcode == RCode.refused.rawValue && !hs.has(Header.aaBit))
        #expect(extendedErrors(hs.message).map(\.code) == [ExtendedErrorCode.notSupported])
        let chA = try server.ask(Message.query(name("www.example.com."), .a, class: .ch, edns: edns))
        #expect(extendedErrors(chA.message).map(\.code) == [ExtendedErrorCode.notSupported])
        let foo = try server.ask(Message.query(name("foo.bind."), .txt, class: .ch, edns: edns))
        #expect(extendedErrors(foo.message).map(\.code) == [ExtendedErrorCode.notSupported])
        let version = try server.ask(Message.query(name("version.bind."), .txt, class: .ch, edns: edns))
        #expect(version.rcode == RCode.refused.rawValue)
        #expect(extendedErrors(version.message).map(\.code) == [ExtendedErrorCode.prohibited])
    }

    @Test("NOTIMP, FORMERR and BADVERS carry neither AA nor an EDE")
    func otherErrors() throws {
        let notimp = try server.ask(Message.query(name("example.com."), .soa, flags: 2 << 11, edns: edns))
        #expect(
            notimp.rcode == RCode.notImp.rawValue && !notimp.has(Header.aaBit) && notimp.message.ednsOptions.isEmpty)
        let meta = try server.ask(Message.query(name("example.com."), .opt, edns: edns))
        #expect(meta.rcode == RCode.formErr.rawValue && !meta.has(Header.aaBit))
        let badvers = try server.ask(Message.query(name("example.com."), .soa, edns: EDNS(payload: 1232, version: 1)))
        #expect(badvers.rcode == RCode.badVers.rawValue && !badvers.has(Header.aaBit))
    }

    static let reason = "zone expired: no answer from 192.0.2.53:53 within the SOA's EXPIRE"

    func withUnavailable(_ origin: String, options: ResponderOptions = ResponderOptions()) throws -> Server {
        let zones = try Zones.all.filter { $0.0 != origin }.map { try Fixture.zone($0.0, $0.1) }
        let catalog = Catalog(zones: zones, unavailable: [UnavailableZone(origin: name(origin), reason: Self.reason)])
        return Server(snapshot: Snapshot(catalog: catalog, options: options))
    }

    @Test("a zone configured here without data: SERVFAIL with EDE 24 and the reason; its parent keeps DS at the cut")
    func unavailableZone() throws {
        let server = try withUnavailable("lost.example.net.")
        let r = try server.ask("www.lost.example.net.", .a, edns: edns)
        #expect(r.rcode == RCode.servFail.rawValue && !r.has(Header.aaBit) && r.answer.isEmpty)
        #expect(extendedErrors(r.message).map(\.code) == [ExtendedErrorCode.invalidData])
        #expect(extendedErrors(r.message).first?.text == Self.reason)
        #expect(try server.ask("lost.example.net.", .soa).rcode == RCode.servFail.rawValue)
        // Beside it, the other zones answer as before.
        #expect(try server.ask("www.example.com.", .a).rcode == RCode.noError.rawValue)
        #expect(try server.ask("www.example.net.", .a).rcode == RCode.refused.rawValue)

        // Nested below a zone that is served: its names are SERVFAIL, not a referral, and the
        // parent still answers DS at the cut (RFC 4035 §3.1.4.1).
        let nested = try withUnavailable("nods.example.com.")
        let below = try nested.ask("ns1.nods.example.com.", .a, edns: edns)
        #expect(below.rcode == RCode.servFail.rawValue)
        #expect(extendedErrors(below.message).map(\.code) == [ExtendedErrorCode.invalidData])
        let ds = try nested.ask("nods.example.com.", .ds)
        #expect(ds.rcode == RCode.noError.rawValue && ds.has(Header.aaBit))
        #expect(ds.authority.first?.hasPrefix("example.com. 300 SOA") == true, "\(ds.authority)")
        // A CNAME into it ends in SERVFAIL (RFC 6604 §2.1: the rcode of the last name).
        let tosub = try Fixture.server([
            Zones.exampleCom,
            ("alias.test.", "@ IN SOA ns. h. 1 1 1 1 1\n@ IN NS ns.example.com.\nx IN CNAME www.lost.example.net.\n"),
        ])
        let catalog = Catalog(
            zones: tosub.snapshot.catalog.zones,
            unavailable: [UnavailableZone(origin: name("lost.example.net."), reason: Self.reason)])
        let chained = try Server(snapshot: Snapshot(catalog: catalog, options: ResponderOptions())).ask(
            "x.alias.test.", .a, edns: edns)
        #expect(chained.rcode == RCode.servFail.rawValue && chained.message.answer.map(\.type) == [.cname])
        #expect(!chained.has(Header.aaBit))
    }

    @Test("an EDE that does not fit the UDP limit is left out, never the answer (RFC 8914 §3)")
    func extendedErrorLeftOutWhenFull() throws {
        // A 255-byte question, a 200-byte reason and a 250-byte NSID: all three are 700 bytes.
        var options = ResponderOptions()
        options.nsid = Array(repeating: UInt8(ascii: "n"), count: 250)
        let long = String(repeating: String(repeating: "a", count: 60) + ".", count: 3) + "lost.example.net."
        let reason = String(repeating: "r", count: 300)
        let zones = try Zones.all.map { try Fixture.zone($0.0, $0.1) }
        let catalog = Catalog(
            zones: zones, unavailable: [UnavailableZone(origin: name("lost.example.net."), reason: reason)])
        let server = Server(snapshot: Snapshot(catalog: catalog, options: options))
        var query = Message.query(name(long), .a, edns: EDNS(payload: 512))
        query.ednsOptions = [EDNSOption(code: EDNSOptionCode.nsid, data: [])]
        let small = try server.ask(query)
        #expect(small.rcode == RCode.servFail.rawValue && small.bytes.count <= 512)
        #expect(small.message.ednsOptions.map(\.code) == [EDNSOptionCode.nsid], "the NSID stays, the EDE goes")
        // With room, both come; the reason is cut to 200 bytes.
        query.edns = EDNS(payload: 1232)
        let roomy = try server.ask(query)
        #expect(roomy.message.ednsOptions.map(\.code) == [EDNSOptionCode.nsid, EDNSOptionCode.extendedError])
        #expect(extendedErrors(roomy.message).first?.text.count == 200)
    }
}

@Suite("Responder: addresses of in-zone name servers with NS answers (RFC 1035 §6.3.2)")
struct NameServerAddressTests {
    @Test("the apex NS set brings the A and AAAA of its in-zone targets, not of out-of-zone ones")
    func apexNS() throws {
        let server = try Fixture.server([
            (
                "ns.test.",
                """
                $TTL 300
                @    IN SOA ns1 h 1 1 1 1 1
                @    IN NS  ns1
                @    IN NS  ns2
                @    IN NS  ns.elsewhere.example.
                ns1  IN A   192.0.2.1
                ns1  IN AAAA 2001:db8::1
                ns2  IN A   192.0.2.2

                """
            )
        ])
        let r = try server.ask("ns.test.", .ns)
        #expect(r.has(Header.aaBit) && !r.has(Header.tcBit) && r.message.answer.count == 3)
        #expect(
            r.additional == [
                "ns1.ns.test. 300 A 192.0.2.1", "ns2.ns.test. 300 A 192.0.2.2",
                "ns1.ns.test. 300 AAAA \\# 16 20010db8000000000000000000000001",
            ])
        // Another question at the apex gets no additional records (minimal responses).
        #expect(try server.ask("ns.test.", .soa).additional.isEmpty)
    }

    @Test("addresses that do not fit are left out without TC")
    func nsAddressesDoNotTruncate() throws {
        let targets = (1...13).map { "ns\($0)-padding-names" }
        let zone =
            "@ IN SOA ns1 h 1 1 1 1 1\n" + targets.map { "@ IN NS \($0)\n" }.joined()
            + targets.enumerated().map { "\($1) IN A 192.0.2.\($0 + 1)\n\($1) IN AAAA 2001:db8::\($0 + 1)\n" }.joined()
        let server = try Fixture.server([("big.test.", zone)])
        let r = try server.ask("big.test.", .ns)
        #expect(r.message.answer.count == 13 && !r.has(Header.tcBit) && !r.outcome.truncated)
        #expect(r.bytes.count <= 512 && r.message.additional.count < 26 && !r.message.additional.isEmpty)
        let tcp = try server.ask("big.test.", .ns, over: .tcp)
        #expect(tcp.message.additional.count == 26)
    }
}
