// Sticky pools with real clients: dig and kdig with +subnet, dig from two addresses of one /24,
// `carousel explain`, /status's shares, and Unbound with subnetcache sending ECS to Carousel.

import Foundation
import Testing

@Suite("Sticky pools and EDNS Client Subnet, with dig, kdig and Unbound", .serialized)
struct StickyIntegrationTests {
    static let members = (1...8).map { "192.0.2.\(10 + $0)" }

    static let zone = """
        $TTL 300
        @      IN SOA ns1 hostmaster 1 7200 900 1209600 300
        @      IN NS  ns1
        ns1    IN A   192.0.2.53
        www    IN A   192.0.2.1
        alias  IN CNAME app

        """ + members.map { "app IN A \($0)\n" }.joined()

    /// The members are not checked (`check: none`): the tests are about who gets which.
    static func config(_ extra: String = "") -> String {
        """
        pools:
          - name: app.sticky.test
            order: sticky
            max_answers: 2
            ttl: 20
            check: { type: none }
        \(extra)
        """
    }

    /// dig's `; CLIENT-SUBNET: 198.51.100.0/24/24` or kdig's `;; CLIENT-SUBNET: 198.51.100.0/24/24`.
    static func subnet(_ r: DigResponse) -> String? {
        r.ednsOptions.first { $0.hasPrefix("CLIENT-SUBNET: ") }.map { String($0.dropFirst("CLIENT-SUBNET: ".count)) }
    }

    @Test("dig +subnet and kdig +subnet: the same two addresses every time, the option echoed with scope 24")
    func digAndKdig() async throws {
        try await withConfiguredCarousel(zones: ["sticky.test.zone": Self.zone], config: Self.config()) { server in
            let first = try await Dig.query(server.endpoint, "+subnet=198.51.100.0/24", "app.sticky.test", "A")
            #expect(first.status == "NOERROR" && first.addresses.count == 2, "\(first)")
            #expect(Self.subnet(first) == "198.51.100.0/24/24", "\(first)")
            for _ in 0..<5 {
                let again = try await Dig.query(server.endpoint, "+subnet=198.51.100.0/24", "app.sticky.test", "A")
                #expect(again.addresses == first.addresses, "\(again)")
            }
            let kdig = try #require(
                try await Dig.kdig(server.endpoint, ["+subnet=198.51.100.0/24", "app.sticky.test", "A"]).last)
            #expect(kdig.addresses == first.addresses, "\(kdig)")
            #expect(Self.subnet(kdig) == "198.51.100.0/24/24", "kdig agrees\n\(kdig)")
            // A CNAME into the pool holds for the subnet too; a name outside it for every client.
            let alias = try await Dig.query(server.endpoint, "+subnet=198.51.100.0/24", "alias.sticky.test", "A")
            #expect(alias.addresses == first.addresses && Self.subnet(alias) == "198.51.100.0/24/24", "\(alias)")
            let www = try await Dig.query(server.endpoint, "+subnet=198.51.100.0/24", "www.sticky.test", "A")
            #expect(Self.subnet(www) == "198.51.100.0/24/0", "ECS echoed with scope 0\n\(www)")
            // Other subnets spread over the members.
            var answers: Set<[String]> = []
            for c in 0..<24 {
                let r = try await Dig.query(server.endpoint, "+subnet=198.51.\(c).0/24", "app.sticky.test", "A")
                answers.insert(r.addresses)
            }
            #expect(answers.count > 4, "24 subnets got \(answers.count) different answers")
            // A malformed option (bits set past a /20): FORMERR, the question echoed.
            var raw = RawQuery("app.sticky.test.", type: 1)
            raw.opts = [(1232, 0, [0, 8, 0, 7, 0, 1, 20, 0, 198, 51, 100])]
            let reply = try #require(try await UDP.exchange(raw.bytes, with: server.endpoint))
            let m = try RawMessage(reply)
            #expect(m.rcode == 1 && m.ancount == 0 && m.qdcount == 1, "FORMERR for bits past the prefix")
        }
    }

    @Test("without ECS the resolver's address is the key: 127.0.1.5 and 127.0.1.6 get one answer")
    func sourceAddresses() async throws {
        try await withConfiguredCarousel(zones: ["sticky.test.zone": Self.zone], config: Self.config()) { server in
            let a = try await Dig.query(server.endpoint, "-b", "127.0.1.5", "app.sticky.test", "A")
            let b = try await Dig.query(server.endpoint, "-b", "127.0.1.6", "app.sticky.test", "A")
            #expect(a.addresses.count == 2 && a.addresses == b.addresses, "\(a)\n\(b)")
            #expect(Self.subnet(a) == nil, "no ECS asked, none answered")
            var answers: Set<[String]> = []
            for n in 1...16 {
                answers.insert(
                    try await Dig.query(server.endpoint, "-b", "127.0.\(n).9", "app.sticky.test", "A").addresses)
            }
            #expect(answers.count > 2, "16 /24s got \(answers.count) different answers")
        }
    }

    @Test("carousel explain, /explain and /status: the key, the ranks, each member's share of clients")
    func explainAndStatus() async throws {
        try await withConfiguredCarousel(zones: ["sticky.test.zone": Self.zone], config: Self.config()) { server in
            let dug = try await Dig.query(server.endpoint, "+subnet=198.51.100.0/24", "app.sticky.test", "A")
            let cli = try await Admin.cli(
                ["explain", "app.sticky.test", "--client", "198.51.100.7"], url: server.adminURL)
            #expect(cli.status == 0, "\(cli.stderr)")
            #expect(cli.stdout.contains("key 198.51.100.0/24, ECS scope 24"), "\(cli.stdout)")
            #expect(
                cli.stdout.contains("app.sticky.test. A for 198.51.100.7: \(dug.addresses.joined(separator: ", "))"),
                "\(cli.stdout)")
            let json = try await Admin.request(
                "GET", server.adminURL + "/explain?name=alias.sticky.test&client=198.51.100.7")
            let e = try #require(try JSONSerialization.jsonObject(with: Data(json.body.utf8)) as? [String: Any])
            #expect(e["answer"] as? [String] == dug.addresses, "\(json.body)")
            #expect(e["chain"] as? [String] == ["app.sticky.test."] && e["pool"] as? String == "app.sticky.test")
            let members = try #require(e["members"] as? [[String: Any]])
            #expect(members.count == 8 && members.map { $0["rank"] as? Int } == (1...8).map { $0 })
            #expect(members.prefix(2).map { $0["address"] as? String } == dug.addresses.map { Optional($0) })
            #expect(members.filter { $0["in_answer"] as? Bool == true }.count == 2)
            let bad = try await Admin.request("GET", server.adminURL + "/explain?name=app.sticky.test&client=nowhere")
            #expect(bad.status == 400, "\(bad.body)")

            let status = try await Admin.status(server.adminURL)
            let pool = try #require((status["pools"] as? [[String: Any]])?.first)
            #expect((pool["sticky_prefixes"] as? [String: Int]) == ["ipv4": 24, "ipv6": 56], "\(pool)")
            let set = try #require((pool["sets"] as? [[String: Any]])?.first)
            let shares = (set["members"] as? [[String: Any]] ?? []).compactMap { $0["share"] as? Double }
            #expect(shares.count == 8 && abs(shares.reduce(0, +) - 1) < 0.001, "\(shares)")
            #expect(shares.allSatisfy { abs($0 - 1.0 / 8) < 0.04 }, "equal weights, equal shares: \(shares)")
            let metrics = try await Admin.request("GET", server.adminURL + "/metrics").body
            #expect(
                (metric(metrics, "carousel_ecs_queries_total{family=\"ipv4\",used=\"true\"}") ?? 0) >= 1, "\(metrics)")
        }
    }

    @Test(
        "through Unbound with subnetcache: each /24 gets what Carousel gives it directly, cached per subnet")
    func throughUnbound() async throws {
        try Peers.require("unbound")
        try await withConfiguredCarousel(zones: ["sticky.test.zone": Self.zone], config: Self.config()) { server in
            try await withUnbound(zone: "sticky.test.", authority: server.endpoint, clientSubnet: true) { unbound in
                for n in [3, 4, 5, 6] {
                    let direct = try await Dig.query(server.endpoint, "+subnet=127.0.\(n).0/24", "app.sticky.test", "A")
                    let before = try await Self.ecsQueries(server)
                    let first = try await Dig.query(unbound.endpoint, "-b", "127.0.\(n).5", "app.sticky.test", "A")
                    // The same members (Unbound rotates the order of what it hands out: rrset-roundrobin).
                    #expect(
                        Set(first.addresses) == Set(direct.addresses) && first.addresses.count == 2,
                        "client in 127.0.\(n).0/24\n\(first)\n\(direct)")
                    let afterFirst = try await Self.ecsQueries(server)
                    let second = try await Dig.query(unbound.endpoint, "-b", "127.0.\(n).6", "app.sticky.test", "A")
                    #expect(Set(second.addresses) == Set(direct.addresses), "\(second)")
                    let afterSecond = try await Self.ecsQueries(server)
                    #expect(afterFirst - before == 1, "Unbound asked Carousel once, with ECS, for 127.0.\(n).0/24")
                    #expect(afterSecond == afterFirst, "the second client of the /24 is answered from Unbound's cache")
                }
                report("Unbound subnetcache: 4 subnets, one ECS query each to Carousel, the second client cached")
            }
        }
    }

    /// Queries with ECS that Carousel answered from a sticky pool.
    static func ecsQueries(_ server: ConfiguredCarousel) async throws -> Double {
        let text = try await Admin.request("GET", server.adminURL + "/metrics").body
        return metric(text, "carousel_ecs_queries_total{family=\"ipv4\",used=\"true\"}") ?? 0
    }
}
