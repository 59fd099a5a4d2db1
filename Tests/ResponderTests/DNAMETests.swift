import DNSWire
import DNSZone
import Responder
import Testing

/// DNAME redirection (RFC 6672): a name below the DNAME's owner is answered with the DNAME, a
/// CNAME synthesized from it, and then whatever the new name gives, as NSD and Knot do.
@Suite("Responder: DNAME (RFC 6672)")
struct DNAMETests {
    static let old = (
        "old.example.",
        """
        $TTL 3600
        @        IN SOA ns.old.example. hostmaster.old.example. 1 7200 900 1209600 300
        @        IN NS  ns
        ns       IN A   192.0.2.53
        shop  600 IN DNAME shop.new.example.
        away     IN DNAME elsewhere.net.
        loop     IN DNAME x.loop.old.example.
        x        IN DNAME aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.new.example.
        """
    )
    static let new = (
        "new.example.",
        """
        $TTL 3600
        @        IN SOA ns.new.example. hostmaster.new.example. 1 7200 900 1209600 300
        @        IN NS  ns
        ns       IN A   192.0.2.54
        www.shop 60 IN A 192.0.2.7
        cart.shop   IN CNAME www.shop
        """
    )
    let server: Server
    init() throws { server = try Fixture.server([Self.old, Self.new]) }

    @Test("below the owner: DNAME, the synthesized CNAME with the DNAME's TTL, then the target's answer")
    func synthesized() throws {
        let r = try server.ask("www.shop.old.example.", .a)
        #expect(r.rcode == RCode.noError.rawValue && r.has(Header.aaBit))
        #expect(
            r.answer == [
                "shop.old.example. 600 DNAME shop.new.example.",
                "www.shop.old.example. 600 CNAME www.shop.new.example.",
                "www.shop.new.example. 60 A 192.0.2.7",
            ])
        // Deeper names keep their whole prefix; a CNAME at the target is followed as usual.
        let cart = try server.ask("cart.shop.old.example.", .a)
        #expect(
            cart.answer == [
                "shop.old.example. 600 DNAME shop.new.example.",
                "cart.shop.old.example. 600 CNAME cart.shop.new.example.",
                "cart.shop.new.example. 3600 CNAME www.shop.new.example.",
                "www.shop.new.example. 60 A 192.0.2.7",
            ])
    }

    @Test("the synthesized CNAME's owner is in the client's case, its target lower-cased (as NSD)")
    func caseKept() throws {
        let r = try server.ask("WWW.Shop.old.example.", .a)
        #expect(r.answer.count == 3)
        #expect(r.message.answer[1].name.description == "WWW.Shop.old.example.")
        #expect(r.answer[1].hasSuffix("CNAME www.shop.new.example."), "\(r.answer)")
    }

    @Test("the new name does not exist: NXDOMAIN for it, with the target zone's SOA (RFC 6604 §2.1)")
    func targetMissing() throws {
        let r = try server.ask("nothing.shop.old.example.", .a)
        #expect(r.rcode == RCode.nxDomain.rawValue)
        #expect(
            r.answer == [
                "shop.old.example. 600 DNAME shop.new.example.",
                "nothing.shop.old.example. 600 CNAME nothing.shop.new.example.",
            ])
        #expect(r.authority.first?.hasPrefix("new.example. 300 SOA") == true, "\(r.authority)")
    }

    @Test("a target outside our zones: DNAME and CNAME, the rest is the resolver's")
    func targetElsewhere() throws {
        let r = try server.ask("www.away.old.example.", .aaaa)
        #expect(r.rcode == RCode.noError.rawValue && r.has(Header.aaBit))
        #expect(
            r.answer == [
                "away.old.example. 3600 DNAME elsewhere.net.",
                "www.away.old.example. 3600 CNAME www.elsewhere.net.",
            ])
    }

    @Test("the owner itself is not redirected: its DNAME on request, NODATA otherwise")
    func ownerItself() throws {
        #expect(try server.ask("shop.old.example.", .dname).answer == ["shop.old.example. 600 DNAME shop.new.example."])
        let a = try server.ask("shop.old.example.", .a)
        #expect(a.rcode == RCode.noError.rawValue && a.answer.isEmpty)
    }

    @Test("a name that would pass 255 bytes: YXDOMAIN with the DNAME (RFC 6672 §2.2)")
    func tooLong() throws {
        // x.old.example. (15 bytes) → a 60-byte label under new.example. (74 bytes): two 60-byte
        // labels in front fit (196 bytes), three do not (257).
        let label = String(repeating: "b", count: 60)
        let fits = try server.ask("\(label).\(label).x.old.example.", .a)
        #expect(fits.rcode == RCode.nxDomain.rawValue && fits.answer.count == 2, "\(fits.answer)")
        let r = try server.ask("\(label).\(label).\(label).x.old.example.", .a)
        #expect(r.rcode == RCode.yxDomain.rawValue && r.has(Header.aaBit))
        #expect(r.answer == ["x.old.example. 3600 DNAME \(String(repeating: "a", count: 60)).new.example."])
    }

    @Test("a DNAME whose target lies below itself ends at the chain limit, never loops")
    func selfReferential() throws {
        let r = try server.ask("a.loop.old.example.", .a)
        #expect(r.rcode == RCode.noError.rawValue || r.rcode == RCode.yxDomain.rawValue)
        #expect(r.answer.filter { $0.contains(" CNAME ") }.count <= 8, "the chain limit")
        #expect(!r.has(Header.tcBit))
    }
}
