import Balancer
import DNSWire
import Health
import Testing
import Transfer

@testable import CarouselConfig

@Suite struct ConfigTests {
    func parse(_ text: String) -> Result<Config, Problems> {
        Config.parse(text, file: "carousel.yaml")
    }

    func errors(_ text: String) -> [String] {
        switch parse(text) {
        case .success: return []
        case .failure(let e): return e.errors.map(\.description)
        }
    }

    @Test func emptyFileMeansDefaults() throws {
        let c = try parse("").get()
        #expect(c.listen == [HostPort(host: "127.0.0.1", port: 5353)])
        #expect(c.zones == ["zones"])
        #expect(c.maxUDPPayload == 1232)
        #expect(c.pools.isEmpty)
    }

    @Test func theIssueExampleParses() throws {
        let text = """
            listen: ["127.0.0.1:5353", "[::1]:5353"]
            zones: zones
            state_file: carousel.state
            defaults:
              ttl: 30
              check: { type: tcp, port: 80, interval: 5s, timeout: 2s, rise: 2, fall: 3 }
            pools:
              - name: www.example.com
                ttl: 20
                max_answers: 8
                order: weighted
                weights: { "127.0.0.11": 3 }
                all_down: fallback
                fallback: ["127.0.0.99"]
                check:
                  type: http
                  port: 8080
                  path: /healthz
                  host: www.example.com
                  expect: [200, 204]
                  body: "ok"
                  interval: 1s
                  timeout: 500ms
                  rise: 2
                  fall: 2
              - name: "*.svc.example.com"
            """
        let c = try Config.parse(text, file: "carousel.yaml", baseDirectory: "/etc/carousel").get()
        #expect(c.listen.map(\.description) == ["127.0.0.1:5353", "[::1]:5353"])
        #expect(c.zones == ["/etc/carousel/zones"])
        #expect(c.stateFile == "/etc/carousel/carousel.state")
        #expect(c.pools.count == 2)
        let www = c.pools[0]
        #expect(www.ttl == 20 && www.maxAnswers == 8 && www.order == .weighted && www.allDown == .fallback)
        #expect(www.weights == ["127.0.0.11": 3] && www.fallback == [IPAddress("127.0.0.99")!])
        let http = HTTPProbe(path: "/healthz", host: "www.example.com", expect: [200, 204], body: "ok")
        #expect(www.check.kind == .http(http) && www.check.port == 8080)
        #expect(www.check.timing == Timing(interval: .seconds(1), timeout: .milliseconds(500), rise: 2, fall: 2))
        #expect(c.lines.pools == [8, 26])
        // The second pool inherits the defaults.
        let svc = c.pools[1]
        #expect(svc.ttl == 30 && svc.check.kind == .tcp && svc.check.timing.interval == .seconds(5))
        #expect(svc.check.timing.fall == 3)
    }

    @Test func poolCheckOverridesOnlyWhatItNames() throws {
        let c = try parse(
            """
            defaults:
              check: { type: http, port: 8080, path: /h, interval: 3s, timeout: 1s }
            pools:
              - name: a.example.com
                check: { fall: 5 }
              - name: b.example.com
                check: { type: https }
            """
        ).get()
        #expect(c.pools[0].check.kind == .http(HTTPProbe(path: "/h")) && c.pools[0].check.port == 8080)
        #expect(c.pools[0].check.timing.fall == 5 && c.pools[0].check.timing.interval == .seconds(3))
        #expect(c.pools[1].check.kind == .https(HTTPProbe(path: "/h"), insecure: false) && c.pools[1].check.port == 443)
    }

    @Test func errorsNameTheFileLineAndKey() {
        let e = errors(
            """
            listen: nowhere
            pools:
              - name: www.example.com
                ttl: -1
                order: roundrobin
                check:
                  type: ping
                  timout: 1s
              - ttl: 5
            colour: blue
            """)
        #expect(e.contains("carousel.yaml:1: listen: \"nowhere\" is not ADDRESS:PORT"))
        #expect(e.contains("carousel.yaml:4: pools[0].ttl: -1 is out of range 0...86400"))
        #expect(
            e.contains(
                "carousel.yaml:5: pools[0].order: \"roundrobin\" is not one of rotate, shuffle, weighted, fixed, sticky"
            )
        )
        #expect(e.contains { $0.hasPrefix("carousel.yaml:7: pools[0].check.type: \"ping\" is not one of tcp") })
        #expect(e.contains { $0.hasPrefix("carousel.yaml:8: pools[0].check.timout: unknown key") })
        #expect(e.contains("carousel.yaml:9: pools[1].name: every pool needs a name"))
        #expect(e.contains { $0.hasPrefix("carousel.yaml:10: colour: unknown key") })
    }

    @Test func policiesNeedTheirParameters() {
        let e = errors(
            """
            pools:
              - name: a.example.com
                all_down: fallback
              - name: b.example.com
                order: weighted
              - name: c.example.com
                check: { type: exec }
              - name: d.example.com
                check: { interval: 1s, timeout: 2s }
              - name: a.example.com.
            """)
        #expect(e.contains("carousel.yaml:2: pools[0].fallback: all_down: fallback needs a fallback list of addresses"))
        #expect(e.contains("carousel.yaml:4: pools[1].weights: order: weighted needs weights"))
        #expect(e.contains("carousel.yaml:7: pools[2].check.command: an exec check needs a command"))
        #expect(
            e.contains { $0.hasPrefix("carousel.yaml:9: pools[3].check.timeout: must not be longer than the interval") }
        )
        #expect(e.contains("carousel.yaml:10: pools[4].name: pool a.example.com. is already defined at line 2"))
    }

    @Test func yamlSyntaxErrorsHaveALine() {
        let e = errors("listen: [\"127.0.0.1:53\"\npools:\n  - name: x\n   bad: [")
        #expect(e.count == 1)
        #expect(e.first?.hasPrefix("carousel.yaml:") == true)
        #expect(e.first?.contains("YAML:") == true)
    }

    @Test(arguments: [
        ("500ms", Duration.milliseconds(500)), ("2s", .seconds(2)), ("1m", .seconds(60)), ("1.5s", .milliseconds(1500)),
        ("3", .seconds(3)),
    ])
    func durations(text: String, expected: Duration) {
        #expect(YAMLReader.parseDuration(text) == expected)
    }

    @Test func listenAddresses() {
        #expect(HostPort("127.0.0.1:53") == HostPort(host: "127.0.0.1", port: 53))
        #expect(HostPort("[::1]:5399") == HostPort(host: "::1", port: 5399))
        #expect(HostPort("::1:53") == nil)
        #expect(HostPort("127.0.0.1") == nil)
        #expect(HostPort("127.0.0.1:70000") == nil)
    }

    @Test func dnsCheckExpectsRcodes() throws {
        let c = try parse(
            """
            pools:
              - name: ns.example.com
                check: { type: dns, query: example.com, qtype: soa, expect: [NOERROR, NXDOMAIN] }
            """
        ).get()
        #expect(c.pools[0].check.port == 53)
        #expect(c.pools[0].check.kind == .dns(DNSProbe(query: "example.com", qtype: "SOA", rcodes: [0, 3])))
    }
}

@Suite struct TransferConfigTests {
    @Test func theIssueExampleParses() throws {
        let text = """
            tsig_keys:
              - { name: xfr, algorithm: hmac-sha256, secret: "Y2Fyb3VzZWwtdGVzdC1zZWNyZXQtMDEyMzQ1Njc4OSE=" }
            transfers:
              - zone: example.com
                allow: ["127.0.0.1", "::1/128", "10.0.0.0/8"]
                tsig: xfr
                notify: ["127.0.0.1:5300"]
                publish_health: true
            secondaries:
              - zone: example.net
                primary: "127.0.0.1:5300"
                tsig: xfr
            """
        let c = try Config.parse(text, file: "carousel.yaml").get()
        #expect(c.tsigKeys.count == 1 && c.tsigKeys[0].algorithm == .hmacSHA256 && c.tsigKeys[0].secret.count == 32)
        #expect(c.tsigKeys[0].name == (try DNSName("xfr.")))
        #expect(c.transfers[0].zone == (try DNSName("example.com.")))
        #expect(c.transfers[0].allow.count == 3 && c.transfers[0].publishHealth && c.transfers[0].key == c.tsigKeys[0])
        #expect(c.transfers[0].notify == [HostPort(host: "127.0.0.1", port: 5300)])
        #expect(c.transfers[0].allow[2].contains([10, 1, 2, 3]))
        #expect(!c.transfers[0].allow[0].contains([127, 0, 0, 2]))
        #expect(
            c.secondaries == [
                SecondaryZone(
                    zone: try DNSName("example.net."), primary: HostPort(host: "127.0.0.1", port: 5300),
                    key: c.tsigKeys[0])
            ])
        #expect(c.lines.transfers == [4] && c.lines.secondaries == [10])
    }

    @Test func everyErrorIsListedWithItsLine() {
        let text = """
            tsig_keys:
              - { name: xfr, algorithm: hmac-sha224, secret: "not base64!" }
            transfers:
              - zone: example.com
                allow: ["300.1.1.1", "10.0.0.0/33"]
                tsig: nokey
                notify: ["somewhere"]
                publish_health: maybe
                colour: blue
            secondaries:
              - zone: example.net
            """
        guard case .failure(let e) = Config.parse(text, file: "carousel.yaml") else {
            Issue.record("expected errors")
            return
        }
        let lines = e.errors.map(\.description)
        for expected in [
            "carousel.yaml:2: tsig_keys[0].algorithm: \"hmac-sha224\" is not one of",
            "carousel.yaml:2: tsig_keys[0].secret: expected a base64 secret",
            "carousel.yaml:5: transfers[0].allow: \"300.1.1.1\" is not an address or prefix",
            "carousel.yaml:5: transfers[0].allow: \"10.0.0.0/33\" is not an address or prefix",
            "carousel.yaml:7: transfers[0].notify: \"somewhere\" is not ADDRESS:PORT",
            "carousel.yaml:8: transfers[0].publish_health: expected true or false",
            "carousel.yaml:9: transfers[0].colour: unknown key",
            "carousel.yaml:11: secondaries[0].primary: every secondary zone needs a primary",
        ] {
            #expect(lines.contains { $0.hasPrefix(expected) }, "missing: \(expected) in \(lines)")
        }
    }

    @Test func aSecondaryFileIsResolvedAgainstTheConfigAndKeptOutOfZones() throws {
        let good = """
            zones: "zones"
            secondaries:
              - { zone: example.net, primary: "192.0.2.10", file: "secondary/example.net.zone" }
              - { zone: example.org, primary: "192.0.2.10", file: "/var/lib/carousel/example.org.zone" }
              - { zone: example.info, primary: "192.0.2.10" }
            """
        let c = try Config.parse(good, file: "/etc/carousel/carousel.yaml", baseDirectory: "/etc/carousel").get()
        #expect(
            c.secondaries.map(\.file) == [
                "/etc/carousel/secondary/example.net.zone", "/var/lib/carousel/example.org.zone", nil,
            ])
        #expect(c.secondaries[0].primary == HostPort(host: "192.0.2.10", port: 53))

        let bad = """
            zones: ["zones", "/srv/extra.zone"]
            secondaries:
              - { zone: example.net, primary: "192.0.2.10", file: "zones/example.net.zone" }
              - { zone: example.org, primary: "192.0.2.10", file: "./zones/../zones/sub/../x.zone" }
              - { zone: example.info, primary: "192.0.2.10", file: "/srv/extra.zone" }
              - { zone: example.com, primary: "192.0.2.10", file: "stored/a.zone" }
              - { zone: example.edu, primary: "192.0.2.10", file: "stored/../stored/a.zone" }
              - { zone: example.gov, primary: "192.0.2.10", file: "zones/notes.txt" }
            """
        guard case .failure(let e) = Config.parse(bad, file: "/etc/c/c.yaml", baseDirectory: "/etc/c") else {
            Issue.record("expected errors")
            return
        }
        #expect(
            e.errors.map(\.description) == [
                "/etc/c/c.yaml:3: secondaries[0].file: /etc/c/zones/example.net.zone would also be loaded as a zone file from zones: /etc/c/zones; keep stored copies elsewhere",
                "/etc/c/c.yaml:4: secondaries[1].file: /etc/c/./zones/../zones/sub/../x.zone would also be loaded as a zone file from zones: /etc/c/zones; keep stored copies elsewhere",
                "/etc/c/c.yaml:5: secondaries[2].file: /srv/extra.zone would also be loaded as a zone file from zones: /srv/extra.zone; keep stored copies elsewhere",
                "/etc/c/c.yaml:7: secondaries[4].file: /etc/c/stored/../stored/a.zone is already the file of the zone at line 6",
            ])
    }

    @Test func aNamedKeyMustExist() {
        let text = """
            transfers:
              - zone: example.com
                tsig: xfr
            """
        guard case .failure(let e) = Config.parse(text, file: "c.yaml") else {
            Issue.record("expected errors")
            return
        }
        // At the line of the `tsig:` that names it.
        #expect(e.errors.map(\.description) == ["c.yaml:3: transfers[0].tsig: no key named xfr in tsig_keys"])
    }
}

@Suite struct StickyConfigTests {
    @Test("order: sticky with its prefixes (defaults 24 and 56), max_answers and weights")
    func stickyPool() throws {
        let c = try Config.parse(
            """
            pools:
              - name: app.example.com
                order: sticky
                sticky: { ipv4_prefix: 20, ipv6_prefix: 48 }
                max_answers: 2
                weights: { "192.0.2.11": 3 }
              - name: b.example.com
                order: sticky
            """, file: "carousel.yaml"
        ).get()
        #expect(c.pools[0].order == .sticky && c.pools[0].maxAnswers == 2 && c.pools[0].weights == ["192.0.2.11": 3])
        #expect(c.pools[0].sticky == Pool.StickyPrefixes(ipv4: 20, ipv6: 48))
        #expect(c.pools[1].sticky == Pool.StickyPrefixes(ipv4: 24, ipv6: 56))
    }

    @Test("sticky: out of range, unknown keys, or without order: sticky are errors at their lines")
    func stickyErrors() {
        guard
            case .failure(let e) = Config.parse(
                """
                pools:
                  - name: a.example.com
                    order: sticky
                    sticky: { ipv4_prefix: 33, ipv6_prefix: 129, ipv5: 1 }
                  - name: b.example.com
                    sticky: { ipv4_prefix: 24 }
                """, file: "carousel.yaml")
        else {
            Issue.record("expected errors")
            return
        }
        let lines = e.errors.map(\.description)
        for expected in [
            "carousel.yaml:4: pools[0].sticky.ipv4_prefix: 33 is out of range 0...32",
            "carousel.yaml:4: pools[0].sticky.ipv6_prefix: 129 is out of range 0...128",
            "carousel.yaml:4: pools[0].sticky.ipv5: unknown key",
            "carousel.yaml:6: pools[1].sticky: is for order: sticky",
        ] {
            #expect(lines.contains { $0.hasPrefix(expected) }, "missing: \(expected) in \(lines)")
        }
    }
}

@Suite struct TierConfigTests {
    @Test("tiers with min_up as a count or a percentage, slow_start and agent, as in the issue")
    func theIssueExample() throws {
        let c = try Config.parse(
            """
            pools:
              - name: www.example.com
                tiers:
                  - { members: ["192.0.2.1", "192.0.2.2"], min_up: 1 }
                  - { members: ["198.51.100.1", "2001:DB8::1"], min_up: "50%" }
                slow_start: 30s
                check: { type: http, port: 8080, path: /healthz, interval: 1s, timeout: 500ms, rise: 2, fall: 2 }
                agent: { port: 9999, interval: 2s, timeout: 1s }
              - name: b.example.com
                agent: { port: 9998 }
            """, file: "carousel.yaml"
        ).get()
        let www = c.pools[0]
        #expect(
            www.tiers == [
                Pool.Tier(members: ["192.0.2.1", "192.0.2.2"], minUp: .count(1)),
                Pool.Tier(members: ["198.51.100.1", "2001:db8::1"], minUp: .percent(50)),
            ])
        #expect(www.slowStart == .seconds(30))
        #expect(www.agent == AgentCheck(port: 9999, interval: .seconds(2), timeout: .seconds(1)))
        #expect(c.pools[1].agent == AgentCheck(port: 9998), "interval 2s and timeout 1s by default")
        #expect(c.pools[1].tiers.isEmpty && c.pools[1].slowStart == nil)
    }

    @Test("tier, slow_start and agent mistakes are errors at their lines")
    func errors() {
        guard
            case .failure(let e) = Config.parse(
                """
                pools:
                  - name: a.example.com
                    tiers:
                      - { members: ["192.0.2.1", "192.0.2.1"] }
                      - { members: ["192.0.2.2"], min_up: 2 }
                      - { members: ["192.0.2.3"], min_up: "150%" }
                      - { members: [] }
                      - { members: ["web1"], min: 1 }
                  - name: b.example.com
                    slow_start: 100ms
                    agent: { interval: 1s, timeout: 2s }
                """, file: "carousel.yaml")
        else {
            Issue.record("expected errors")
            return
        }
        let lines = e.errors.map(\.description)
        for expected in [
            "carousel.yaml:4: pools[0].tiers[0].members: 192.0.2.1 is already in tier 1",
            "carousel.yaml:5: pools[0].tiers[1].min_up: 2 is more than the tier's 1 members",
            "carousel.yaml:6: pools[0].tiers[2].min_up: 150% is not between 1% and 100%",
            "carousel.yaml:7: pools[0].tiers[3].members: every tier needs members",
            "carousel.yaml:8: pools[0].tiers[4].members: \"web1\" is not an IP address",
            "carousel.yaml:8: pools[0].tiers[4].min: unknown key (known: members, min_up)",
            "carousel.yaml:11: pools[1].agent.port: an agent needs the port it listens on",
            "carousel.yaml:11: pools[1].agent.timeout: must not be longer than the interval (1.0 seconds)",
        ] {
            #expect(lines.contains(expected), "missing \(expected) in \(lines)")
        }
        #expect(lines.contains { $0.hasPrefix("carousel.yaml:10: pools[1].slow_start:") }, "\(lines)")
    }
}
