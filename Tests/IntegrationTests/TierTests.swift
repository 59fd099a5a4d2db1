// Tiers, agents and slow start with real parts: backends killed with SIGKILL, an NSD secondary
// following publish_health, agents that say what the test writes, HAProxy 2.6 reading the same
// agents, and `carousel agent` under a CPU hog.

import Foundation
import Testing

@Suite("Tiers, agents and slow start: standby failover, reported load, HAProxy's agent-check", .serialized)
struct TierIntegrationTests {
    static let rise = 2
    static let fall = 2

    /// A tiered pool over `www.tiers.test`: the first tier's addresses with `min_up`, the rest as
    /// the standby tier.
    static func tiered(_ backends: Backends, first: Int, minUp: String, extra: String = "") -> String {
        let quoted = backends.addresses.map { "\"\($0)\"" }
        return """
            pools:
              - name: www.tiers.test
                ttl: 20
                check: \(fastCheck(port: backends.port))
                tiers:
                  - { members: [\(quoted.prefix(first).joined(separator: ", "))], min_up: \(minUp) }
                  - { members: [\(quoted.dropFirst(first).joined(separator: ", "))] }
            \(extra)
            """
    }

    static func zone(_ addresses: [String]) -> String { balancedZone("tiers.test.", addresses: addresses) }

    static func set(_ status: [String: Any]) -> [String: Any]? {
        ((status["pools"] as? [[String: Any]])?.first?["sets"] as? [[String: Any]])?.first
    }

    @Test(
        "kill both primaries: the standby answers (TTL halved), at the fall-th failed probe; one back: it leaves at the rise-th"
    )
    func standbyFailover() async throws {
        try await withBackends(3) { backends in
            let (a, b, standby) = (backends.addresses[0], backends.addresses[1], backends.addresses[2])
            try await withConfiguredCarousel(
                zones: ["tiers.test.zone": Self.zone(backends.addresses)],
                config: Self.tiered(backends, first: 2, minUp: "1")
            ) { server in
                let first = try await Poll.dig(server.endpoint, ["www.tiers.test", "A"]) {
                    Set($0.addresses) == [a, b]
                }
                #expect(first.response.answer.allSatisfy { $0.ttl == 20 }, "\(first.response)")
                // One primary down: the first tier still has min_up 1.
                try await backends.kill(a)
                let one = try await Poll.dig(server.endpoint, ["www.tiers.test", "A"]) { $0.addresses == [b] }
                #expect(!one.response.addresses.contains(standby))

                let killed = ContinuousClock.now
                let probesAtKill = try await Admin.probes(server.adminURL, b)
                try await backends.kill(b)
                let failover = try await Poll.dig(server.endpoint, ["www.tiers.test", "A"], since: killed) {
                    $0.addresses == [standby]
                }
                let probes = try await Admin.probes(server.adminURL, b) - probesAtKill
                report("tiers: the standby answered \(secs(failover.seconds)) (\(probes) probes) after SIGKILL")
                FailoverTests.expectProbes(probes, within: Self.fall, "the standby answered")
                #expect(failover.response.answer.allSatisfy { $0.ttl == 10 }, "TTL halved\n\(failover.response)")
                let status = try await Admin.status(server.adminURL)
                let set = try #require(Self.set(status))
                #expect(set["answering_tier"] as? Int == 2, "\(set)")
                let reason = set["tier_reason"] as? String ?? ""
                #expect(reason.contains("tier 1 has 0 of 2 usable") && reason.contains("tier 2 answers"), "\(reason)")
                let cli = try await Admin.cli(["status"], url: server.adminURL)
                #expect(cli.stdout.contains("tier 2 answers"), "\(cli.stdout)")
                let explain = try await Admin.cli(
                    ["explain", "www.tiers.test", "--client", "192.0.2.7"], url: server.adminURL)
                #expect(explain.stdout.contains("tier 2 answers"), "\(explain.stdout)")

                try await backends.restart(a)
                let listening = ContinuousClock.now
                let probesAtRestart = try await Admin.probes(server.adminURL, a)
                let back = try await Poll.dig(server.endpoint, ["www.tiers.test", "A"], since: listening) {
                    $0.addresses == [a]
                }
                let probesBack = try await Admin.probes(server.adminURL, a) - probesAtRestart
                report("tiers: the standby left \(secs(back.seconds)) (\(probesBack) probes) after a primary listened")
                FailoverTests.expectProbes(probesBack, within: Self.rise, "the standby left")
                #expect(back.response.answer.allSatisfy { $0.ttl == 10 }, "b is still down: halved\n\(back.response)")
                let standbyRow = try #require(Admin.member(try await Admin.status(server.adminURL), standby))
                #expect(standbyRow["in_answers"] as? Bool == false && standbyRow["state"] as? String == "up")
                #expect((standbyRow["why"] as? String ?? "").hasPrefix("standby"), "\(standbyRow)")
            }
        }
    }

    @Test("min_up \"50%\" on a tier of four: two up still answer, one up fails over to the standby")
    func minUpPercent() async throws {
        try await withBackends(5) { backends in
            let first = Array(backends.addresses.prefix(4))
            let standby = backends.addresses[4]
            try await withConfiguredCarousel(
                zones: ["tiers.test.zone": Self.zone(backends.addresses)],
                config: Self.tiered(backends, first: 4, minUp: "\"50%\"")
            ) { server in
                _ = try await Poll.dig(server.endpoint, ["www.tiers.test", "A"]) { Set($0.addresses) == Set(first) }
                try await backends.kill(first[0])
                try await backends.kill(first[1])
                let two = try await Poll.dig(server.endpoint, ["www.tiers.test", "A"]) {
                    Set($0.addresses) == Set(first[2...])
                }
                #expect(!two.response.addresses.contains(standby), "two of four is 50 %: tier 1 answers")
                try await backends.kill(first[2])
                let one = try await Poll.dig(server.endpoint, ["www.tiers.test", "A"]) { $0.addresses == [standby] }
                #expect(one.response.answer.allSatisfy { $0.ttl == 10 }, "\(one.response)")
                let set = try #require(Self.set(try await Admin.status(server.adminURL)))
                let tiers = set["tiers"] as? [[String: Any]] ?? []
                #expect(tiers.first?["usable"] as? Int == 1 && tiers.first?["min_up"] as? Int == 2, "\(tiers)")
            }
        }
    }

    @Test("publish_health with tiers: an NSD secondary fails over to the standby and back")
    func nsdSecondaryFollows() async throws {
        try Peers.require("nsd")
        try await withBackends(3) { backends in
            let (a, b, standby) = (backends.addresses[0], backends.addresses[1], backends.addresses[2])
            let peerPort = try Ports.free()
            let config =
                """
                transfers:
                  - zone: tiers.test
                    allow: ["127.0.0.1"]
                    notify: ["127.0.0.1:\(peerPort)"]
                    publish_health: true

                """ + Self.tiered(backends, first: 2, minUp: "1")
            try await withConfiguredCarousel(
                zones: ["tiers.test.zone": Self.zone(backends.addresses)], config: config
            ) { carousel in
                try await withPeer(
                    .nsd, port: peerPort, zones: [.init(origin: "tiers.test.", primary: carousel.endpoint)]
                ) {
                    peer in
                    try await peer.waitForZone("tiers.test.")
                    _ = try await Poll.dig(peer.endpoint, ["www.tiers.test", "A"]) { Set($0.addresses) == [a, b] }
                    let killed = ContinuousClock.now
                    try await backends.kill(a)
                    try await backends.kill(b)
                    let atPeer = try await Poll.dig(peer.endpoint, ["www.tiers.test", "A"], since: killed) {
                        $0.addresses == [standby]
                    }
                    report("tiers: the NSD secondary answered the standby \(secs(atPeer.seconds)) after SIGKILL")
                    try await backends.restart(b)
                    let restarted = ContinuousClock.now
                    let back = try await Poll.dig(peer.endpoint, ["www.tiers.test", "A"], since: restarted) {
                        $0.addresses == [b]
                    }
                    report("tiers: the NSD secondary was back on tier 1 \(secs(back.seconds)) after it listened")
                }
            }
        }
    }

    /// Two backends with equal weights and an agent on each.
    static func agentPool(_ backends: Backends, _ agents: Agents, interval: String = "500ms", extra: String = "")
        -> String
    {
        """
        pools:
          - name: www.tiers.test
            ttl: 20
            check: \(fastCheck(port: backends.port))
            agent: { port: \(agents.port), interval: \(interval), timeout: 400ms }
        \(extra)
        """
    }

    /// The share of first places of `address` over `count` answers.
    static func firstShare(_ server: ConfiguredCarousel, _ address: String, count: Int) async throws -> Double {
        var firsts = 0
        var total = 0
        while total < count {
            let batch = try await Dig.repeated(server.endpoint, "www.tiers.test", "A", count: min(100, count - total))
            for r in batch where !r.addresses.isEmpty {
                total += 1
                if r.addresses[0] == address { firsts += 1 }
            }
        }
        return Double(firsts) / Double(total)
    }

    @Test(
        "an agent's 25 % on one of two: a fifth of first places over 400 answers; drain takes it out within interval + 0.5 s; down#disk full shows in /status"
    )
    func agentWeights() async throws {
        try await withBackends(2) { backends in
            let (a, b) = (backends.addresses[0], backends.addresses[1])
            try await withAgents(backends.addresses, replies: [a: "25%\n", b: "100%\n"]) { agents in
                try await withConfiguredCarousel(
                    zones: ["tiers.test.zone": Self.zone(backends.addresses)],
                    config: Self.agentPool(backends, agents)
                ) { server in
                    try await Poll.until("the agent's 25 % in /status") {
                        let row = Admin.member(try await Admin.status(server.adminURL), a)
                        return (row?["effective_weight"] as? Double) == 0.25
                    }
                    _ = try await Poll.dig(server.endpoint, ["www.tiers.test", "A"]) { Set($0.addresses) == [a, b] }
                    let share = try await Self.firstShare(server, a, count: 400)
                    report(
                        "agent: 25 % of an equal weight took \(String(format: "%.1f", share * 100)) % of first places")
                    #expect(abs(share - 0.2) <= 0.05, "share \(share)")

                    let said = ContinuousClock.now
                    let before = agents.served(a).count
                    try agents.say(a, "drain\n")
                    let out = try await Poll.udp(server.endpoint, "www.tiers.test", since: said) { $0 == [b] }
                    let after = agents.served(a)
                    let tries = after.count - before
                    report(
                        "agent: drain took the member out \(secs(out)) (\(tries) agent probes) after the agent said it"
                    )
                    // Within interval + 0.5 s, judged as the failover tests judge it: by the
                    // schedule (the next probe reads the drain; one in flight may have read the
                    // old line, and one more may finish before the query looks), which a loaded
                    // machine stretches but cannot change. The probes are counted by the agent
                    // itself, right after the in-process query saw the change.
                    FailoverTests.expectProbes(
                        tries, within: 1, "drain took it out (the agent answered \(after.suffix(tries)))")

                    // promtool reads the whole /metrics with agents, weights and answers in it.
                    let lint = try await Command.run(
                        "/bin/sh", ["-c", "curl -sS \(server.adminURL)/metrics | promtool check metrics"])
                    #expect(lint.status == 0 && (lint.stdout + lint.stderr).isEmpty, "\(lint.stdout)\(lint.stderr)")
                    let metrics = try await Admin.request("GET", server.adminURL + "/metrics").body
                    #expect(metrics.contains("carousel_member_weight{pool=\"www.tiers.test\",address=\"\(a)\"} 0"))
                    #expect(metrics.contains("carousel_member_answers_total{pool=\"www.tiers.test\",address=\"\(a)\"}"))
                    let drained = try #require(Admin.member(try await Admin.status(server.adminURL), a))
                    #expect((drained["agent"] as? [String: Any])?["state"] as? String == "drain", "\(drained)")
                    #expect(drained["state"] as? String == "up", "drain keeps it up")

                    try agents.say(a, "down#disk full\n")
                    try await Poll.until("down#disk full in /status") {
                        let row = Admin.member(try await Admin.status(server.adminURL), a)
                        let agent = row?["agent"] as? [String: Any]
                        return agent?["state"] as? String == "down" && agent?["reason"] as? String == "disk full"
                    }
                    let row = try #require(Admin.member(try await Admin.status(server.adminURL), a))
                    #expect((row["why"] as? String ?? "").contains("down (agent)"), "\(row)")
                    let page = try await Admin.request("GET", server.adminURL + "/").body
                    #expect(page.contains("disk full"), "the status page shows the reason")

                    try agents.say(a, "up ready 100%\n")
                    _ = try await Poll.dig(server.endpoint, ["www.tiers.test", "A"]) { Set($0.addresses) == [a, b] }
                }
            }
        }
    }

    /// One step of the differential: what an agent says, and what both must make of it.
    struct Step: Sendable {
        var line: String
        /// HAProxy's status column starts with this (UP, DRAIN, MAINT, DOWN).
        var status: String
        /// The weight new connections (HAProxy) and answers (Carousel) follow, of 100.
        var weight: Int
    }

    static let steps: [Step] = [
        Step(line: "75%\n", status: "UP", weight: 75),
        Step(line: "drain\n", status: "DRAIN", weight: 0),
        Step(line: "ready 50%\n", status: "UP", weight: 50),
        Step(line: "maint\n", status: "MAINT", weight: 0),
        Step(line: "ready\n", status: "UP", weight: 50),
        Step(line: "down #disk full\n", status: "DOWN", weight: 0),
        Step(line: "up 100%\n", status: "UP", weight: 100),
        Step(line: "stopped\n", status: "DOWN", weight: 0),
        Step(line: "up, 25%\tmaxconn:30\n", status: "UP", weight: 25),
        Step(line: "fail #gone\n", status: "DOWN", weight: 0),
        Step(line: "UP 200%\r\n", status: "UP", weight: 200),
        Step(line: "75.5%\n", status: "UP", weight: 200),  // trailing garbage: nothing changes
        Step(line: "bogus 30%\n", status: "UP", weight: 30),  // the unknown word is reported, 30 % applied
    ]

    @Test("HAProxy 2.6 and Carousel read the same agent replies alike: state and weight for every word")
    func haproxyDifferential() async throws {
        try Peers.require("haproxy")
        try await withBackends(2) { backends in
            let (a, b) = (backends.addresses[0], backends.addresses[1])
            try await withAgents(backends.addresses, replies: [a: "100%\n", b: "100%\n"]) { agents in
                try await withHAProxy(servers: backends.addresses, port: backends.port, agentPort: agents.port) {
                    haproxy in
                    try await withConfiguredCarousel(
                        zones: ["tiers.test.zone": Self.zone(backends.addresses)],
                        config: Self.agentPool(
                            backends, agents, interval: "500ms",
                            extra: "    weights: { \"\(a)\": 100, \"\(b)\": 100 }\n    order: weighted")
                    ) { server in
                        func carousel() async throws -> (state: String, weight: Int, row: [String: Any]) {
                            let row = try #require(Admin.member(try await Admin.status(server.adminURL), a))
                            let usable = row["in_answers"] as? Bool == true
                            let weight = Int(((row["effective_weight"] as? Double) ?? -1).rounded())
                            let word = (row["agent"] as? [String: Any])?["state"] as? String ?? "?"
                            // As HAProxy's status column words it: every down verdict is DOWN.
                            let state = usable ? "UP" : ["drain", "maint"].contains(word) ? word.uppercased() : "DOWN"
                            return (state, weight, row)
                        }
                        for step in Self.steps {
                            try agents.say(a, step.line)
                            var last = ""
                            do {
                                try await Poll.until("\(step.line.debugDescription) in HAProxy and Carousel", limit: 10)
                                {
                                    let h = try #require(try await haproxy.servers()["s1"])
                                    let c = try await carousel()
                                    let hWeight = h.status.hasPrefix("UP") ? h.weight : 0
                                    last =
                                        "HAProxy \(h.status) weight \(h.weight) (\(h.agentStatus) \(h.agentDescription)); Carousel \(c.state) \(c.weight)"
                                    return h.status.hasPrefix(step.status) && hWeight == step.weight
                                        && c.state == step.status && c.weight == step.weight
                                }
                            } catch {
                                Issue.record("\(step.line.debugDescription): \(last)\n\(haproxy.log)")
                            }
                        }
                        // Where Carousel is deliberately more lenient than HAProxy 2.6 (README):
                        // `failed` and a `#` glued to its word mark the member down here, and
                        // are unknown words to HAProxy, which keeps the server as it was.
                        for line in ["failed\n", "down#disk full\n"] {
                            try agents.say(a, "up 100%\n")
                            try await Poll.until("back up") { try await carousel().state == "UP" }
                            try agents.say(a, line)
                            try await Poll.until("\(line.debugDescription) in Carousel") {
                                try await carousel().state == "DOWN"
                            }
                            try await Task.sleep(for: .seconds(1))
                            let h = try #require(try await haproxy.servers()["s1"])
                            #expect(h.status.hasPrefix("UP"), "HAProxy ignores \(line.debugDescription): \(h)")
                        }
                    }
                }
            }
        }
    }

    @Test("carousel agent under a CPU hog reports a lower weight than idle, and HAProxy reads it")
    func carouselAgentUnderLoad() async throws {
        try Peers.require("haproxy")
        let host = BackendNet.addresses(1)[0]
        let port = try Ports.free(hosts: [host])
        let dir = try TempDir(prefix: "agent")
        defer { dir.remove() }
        let agent = try Spawned(
            executable: CarouselServer.binary,
            arguments: ["agent", "--listen", "\(host):\(port)", "--interval", "1s", "--by", "cpu"],
            stdout: dir.url.appendingPathComponent("stdout"), stderr: dir.url.appendingPathComponent("stderr"))
        defer { agent.kill() }
        func line() async throws -> String {
            let script = """
                import socket, sys
                s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
                sys.stdout.write(s.recv(512).decode())
                """
            return try await Command.run("/usr/bin/python3", ["-c", script, host, "\(port)"]).stdout
        }
        func percent(_ line: String) -> Int? { Int(line.split(separator: "%").first ?? "") }
        var idle: Int?
        try await Poll.until("carousel agent listens") {
            idle = percent(try await line())
            return idle != nil
        }
        try await Task.sleep(for: .seconds(1.5))
        let idleLine = try await line()
        let idlePercent = try #require(percent(idleLine), "\(idleLine)")
        #expect(idleLine.hasSuffix(" ready up\n"), "\(idleLine)")
        // Two busy loops at the lowest priority: both cores busy, the rest of the suite still first.
        let hogs = try (0..<2).map { i in
            try Spawned(
                executable: "/usr/bin/nice", arguments: ["-n", "19", "/bin/sh", "-c", "while :; do :; done"],
                stdout: dir.url.appendingPathComponent("hog\(i)"), stderr: dir.url.appendingPathComponent("hog\(i).err")
            )
        }
        defer { for h in hogs { h.kill() } }
        try await Task.sleep(for: .seconds(2.5))
        let busyLine = try await line()
        let busyPercent = try #require(percent(busyLine), "\(busyLine)")
        report("carousel agent: \(idleLine.dropLast()) idle, \(busyLine.dropLast()) under two busy loops")
        #expect(busyPercent <= idlePercent && busyPercent <= 30, "idle \(idlePercent) %, busy \(busyPercent) %")
        try await withHAProxy(servers: [host], port: port, agentPort: UInt16(port)) { haproxy in
            try await Poll.until("HAProxy reads the agent's weight", limit: 10) {
                let s = try await haproxy.servers()["s1"]
                return s?.status.hasPrefix("UP") == true && (s?.weight ?? 100) <= 30
            }
        }
    }

    @Test("slow start: a member that comes back gets a growing share (sampled at ¼, ½ and the end of slow_start)")
    func slowStart() async throws {
        try await withBackends(2) { backends in
            let (a, b) = (backends.addresses[0], backends.addresses[1])
            let window = 8.0
            try await withConfiguredCarousel(
                zones: ["tiers.test.zone": Self.zone(backends.addresses)],
                config: """
                    pools:
                      - name: www.tiers.test
                        ttl: 20
                        check: \(fastCheck(port: backends.port))
                        slow_start: 8s
                    """
            ) { server in
                _ = try await Poll.dig(server.endpoint, ["www.tiers.test", "A"]) { Set($0.addresses) == [a, b] }
                try await backends.kill(b)
                _ = try await Poll.dig(server.endpoint, ["www.tiers.test", "A"]) { $0.addresses == [a] }
                try await backends.restart(b)
                _ = try await Poll.dig(server.endpoint, ["www.tiers.test", "A"]) { $0.addresses.count == 2 }
                let start = ContinuousClock.now
                var shares: [Double] = []
                var weights: [Double] = []
                for fraction in [0.25, 0.5, 1.0] {
                    // The end: a ramp tick (every 250 ms) after the window.
                    let at = window * fraction * 1000 + (fraction == 1 ? 500 : 0)
                    try await Task.sleep(until: start + .milliseconds(Int(at)), clock: .continuous)
                    let row = Admin.member(try await Admin.status(server.adminURL), b)
                    weights.append(row?["effective_weight"] as? Double ?? -1)
                    shares.append(try await Self.firstShare(server, b, count: 100))
                }
                report("slow start: effective weight \(weights), share of first places \(shares) at ¼, ½, 1")
                #expect(weights[0] < weights[1] && weights[1] < weights[2] && weights[2] == 1, "\(weights)")
                #expect(weights[0] <= 0.55, "a quarter into the ramp: \(weights[0])")
                #expect(shares[0] < shares[1] && shares[1] < shares[2], "\(shares)")
                #expect(abs(shares[2] - 0.5) <= 0.1, "full weight: half the first places, \(shares[2])")
            }
        }
    }
}
