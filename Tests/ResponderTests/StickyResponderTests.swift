import Balancer
import DNSWire
import DNSZone
import Health
import Responder
import Testing

/// Sticky pools through the responder: the client's subnet from ECS or the source address, the
/// ECS option echoed with the scope the answer holds for (RFC 7871 §7.2.1).
@Suite("Responder: sticky pools and EDNS Client Subnet")
struct StickyResponderTests {
    static let zone = (
        "example.com.",
        """
        $TTL 300
        @      IN SOA ns1 hostmaster 1 7200 900 1209600 300
        @      IN NS  ns1
        ns1    IN A   192.0.2.53
        app    IN A   192.0.2.11
        app    IN A   192.0.2.12
        app    IN A   192.0.2.13
        app    IN A   192.0.2.14
        app    IN A   192.0.2.15
        app    IN A   192.0.2.16
        alias  IN CNAME app
        www    IN A   192.0.2.1

        """
    )

    let server: Server

    init() throws {
        let catalog = Catalog(zones: [try Fixture.zone(Self.zone.0, Self.zone.1)])
        let pools = [Pool(name: "app.example.com", ttl: 20, maxAnswers: 2, order: .sticky, check: Check(kind: .none))]
        let plan = BalancePlan.build(catalog: catalog, pools: pools, ids: [:])
        server = Server(snapshot: Snapshot(catalog: catalog, options: ResponderOptions(), plan: plan))
    }

    static func ecs(_ address: [UInt8], _ source: UInt8, family: UInt16 = 1) -> EDNSOption {
        EDNSOption(code: EDNSOptionCode.clientSubnet, data: [0, UInt8(family), source, 0] + address)
    }

    func ask(_ name: String, _ options: [EDNSOption], from client: [UInt8]? = nil) throws -> Server.Reply {
        var s = server
        if let client { s.client = ClientAddress(client) }
        return try s.ask(Message.query(try DNSName(name), .a, edns: EDNS(payload: 1232), ednsOptions: options))
    }

    /// The answer's ECS option as (family, source, scope, address).
    func echoed(_ r: Server.Reply) -> [(UInt16, UInt8, UInt8, [UInt8])] {
        r.message.ednsOptions.filter { $0.code == EDNSOptionCode.clientSubnet }.map {
            (UInt16($0.data[0]) << 8 | UInt16($0.data[1]), $0.data[2], $0.data[3], Array($0.data[4...]))
        }
    }

    @Test("ECS /24: the same two addresses every time, and the option echoed with scope 24")
    func sameAnswerEveryTime() throws {
        let first = try ask("app.example.com.", [Self.ecs([198, 51, 100], 24)])
        #expect(first.message.answer.count == 2 && first.message.answer.allSatisfy { $0.ttl == 20 })
        for _ in 0..<6 {
            #expect(try ask("app.example.com.", [Self.ecs([198, 51, 100], 24)]).answer == first.answer)
        }
        let e = echoed(first)
        #expect(e.count == 1 && e[0].0 == 1 && e[0].1 == 24 && e[0].2 == 24 && e[0].3 == [198, 51, 100])
        #expect(first.outcome.clientSubnet == .ipv4 && first.outcome.usedClientSubnet)
        // A /32 source is cut to the pool's /24: the same answer, scope 24.
        let host = try ask("app.example.com.", [Self.ecs([198, 51, 100, 77], 32)])
        #expect(host.answer == first.answer && echoed(host).first?.2 == 24 && echoed(host).first?.1 == 32)
        // A /16 source is the key as it is: scope 16.
        #expect(echoed(try ask("app.example.com.", [Self.ecs([198, 51], 16)])).first?.2 == 16)
    }

    @Test("different subnets spread over the members")
    func spread() throws {
        var seen: Set<[String]> = []
        for c in 0..<64 { seen.insert(try ask("app.example.com.", [Self.ecs([198, 51, UInt8(c)], 24)]).answer) }
        #expect(seen.count > 5, "64 subnets got only \(seen.count) different answers")
    }

    @Test("a CNAME into a sticky pool: the chain's answer holds for the subnet (scope 24)")
    func throughACNAME() throws {
        let r = try ask("alias.example.com.", [Self.ecs([198, 51, 100], 24)])
        #expect(r.message.answer.map(\.type) == [.cname, .a, .a])
        #expect(echoed(r).first?.2 == 24)
        let direct = try ask("app.example.com.", [Self.ecs([198, 51, 100], 24)])
        #expect(Array(r.answer.dropFirst()).map { $0.replacingOccurrences(of: "alias", with: "app") } == direct.answer)
    }

    @Test("names outside sticky pools: ECS ignored but echoed, scope 0")
    func ignoredButEchoed() throws {
        let r = try ask("www.example.com.", [Self.ecs([198, 51, 100], 24)])
        #expect(r.answer == ["www.example.com. 300 A 192.0.2.1"])
        let e = echoed(r)
        #expect(e.count == 1 && e[0].1 == 24 && e[0].2 == 0 && e[0].3 == [198, 51, 100])
        #expect(r.outcome.clientSubnet == .ipv4 && !r.outcome.usedClientSubnet)
        #expect(echoed(try ask("nope.example.com.", [Self.ecs([198, 51, 100], 24)])).first?.2 == 0)
    }

    @Test("ECS source 0 means no client information: rotation, scope 0")
    func sourceZero() throws {
        var firsts: Set<String> = []
        for _ in 0..<6 {
            let r = try ask("app.example.com.", [Self.ecs([], 0)])
            #expect(echoed(r).first.map { $0.1 == 0 && $0.2 == 0 } == true)
            firsts.insert(r.answer[0])
        }
        #expect(firsts.count == 6, "rotates through the six members: \(firsts)")
    }

    @Test("without ECS the resolver's address is the key: two addresses of one /24 get one answer")
    func sourceAddress() throws {
        let a = try ask("app.example.com.", [], from: [127, 0, 1, 5])
        let b = try ask("app.example.com.", [], from: [127, 0, 1, 6])
        #expect(a.answer == b.answer && a.message.answer.count == 2)
        #expect(echoed(a).isEmpty, "no ECS in the query, none in the answer")
        var seen: Set<[String]> = []
        for n in 0..<32 { seen.insert(try ask("app.example.com.", [], from: [127, 0, UInt8(n), 9]).answer) }
        #expect(seen.count > 3)
    }

    @Test("IPv6 subnets are keys too (/56 by default)")
    func ipv6() throws {
        let net: [UInt8] = [0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x02]
        let r = try ask("app.example.com.", [Self.ecs(net, 56, family: 2)])
        #expect(echoed(r).first.map { $0.0 == 2 && $0.2 == 56 } == true)
        #expect(r.outcome.clientSubnet == .ipv6 && r.outcome.usedClientSubnet)
        #expect(try ask("app.example.com.", [Self.ecs(net + [0x80], 64, family: 2)]).answer == r.answer)
    }
}
