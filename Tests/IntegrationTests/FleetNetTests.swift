// A fleet of three `carousel serve` processes, each in its own network namespace, with two HTTP
// backends in another, joined by a bridge: what one instance sees travels to the others as DNS
// (NOTIFY, SOA, IXFR, all TSIG-signed), and every instance answers from the same quorum. Links
// are cut with blackhole routes inside a namespace. Answers are read from the backends'
// namespace by Fixtures/fleet/client.py, which asks every 10 ms.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Fleet: instances in network namespaces share health by quorum", .serialized)
struct FleetNetTests {
    static let members = ["m1": 1, "m2": 2, "m3": 3]
    static let backends = [21, 22]
    static let secret = "ZmxlZXQtc2VjcmV0LTAxMjM0NTY3ODlhYmNkZWY="
    /// interval 1 s, fall 2: an observer takes a dead backend out 2 s after its last good probe.
    static let interval = 1.0
    static let fall = 2.0

    /// The lab: m1…m3 at 10.77.0.1…3, the backends' host `back` at .21 and .22 (an HTTP server
    /// on each; the client asks from .20), and a fleet of three with `quorum` (the same config everywhere, but for the key
    /// of the members listed in `wrongKey`).
    final class Fleet: @unchecked Sendable {
        let lab: NetLab
        var servers: [String: Spawned] = [:]
        var backends: [String: Spawned] = [:]
        let client = Fixtures.root.appendingPathComponent("fleet/client.py").path

        init(lab: NetLab) { self.lab = lab }

        func address(_ member: String) -> String { "\(NetLab.subnet).\(FleetNetTests.members[member]!)" }
        var addresses: [String] { FleetNetTests.members.keys.sorted().map(address) }
        func backend(_ i: Int) -> String { "\(NetLab.subnet).\(FleetNetTests.backends[i])" }

        var backendLogs: [String: String] = [:]
        var observers: Int?
        /// More of the config (the same on every member), e.g. `transfers:`; more of the pool's.
        var extraConfig = ""
        var poolConfig = ""

        func startBackend(_ i: Int) throws {
            let name = "backend\(i)-\(UUID())"
            backendLogs[backend(i)] = name
            backends[backend(i)] = try lab.spawn(
                "back", ["python3", "-m", "http.server", "8080", "--bind", backend(i)], name: name)
        }

        /// The members' addresses that probed backend `i` (http.server logs every request to
        /// stderr), each with its count, from the log's line `from` on.
        func probes(_ i: Int, from: Int = 0) -> (sources: [String: Int], lines: Int) {
            let lines = lab.output(backendLogs[backend(i)]!).split(separator: "\n")
            var sources: [String: Int] = [:]
            for line in lines.dropFirst(from) where line.contains("\"GET / ") {
                sources[String(line.prefix { $0 != " " }), default: 0] += 1
            }
            return (sources, lines.count)
        }

        func config(_ member: String, key: String) -> String {
            """
            listen: ["\(address(member)):53"]
            zones: ["\(lab.dir.path("zones"))"]
            admin: "127.0.0.1:8053"
            state_file: "\(lab.dir.path("\(member).state"))"
            tsig_keys:
              - { name: fleet, secret: "\(key)" }
            pools:
              - name: www.example.net
                ttl: 5
                check: { type: http, port: 8080, interval: 1s, timeout: 500ms, rise: 2, fall: 2 }
            \(poolConfig)
            fleet:
              members:
                - { id: m1, address: "\(address("m1")):53" }
                - { id: m2, address: "\(address("m2")):53" }
                - { id: m3, address: "\(address("m3")):53" }
              tsig: fleet
              quorum: majority
              stale_after: 3s
            \(observers.map { "  observers_per_target: \($0)" } ?? "")
            \(extraConfig)
            """
        }

        /// The members' status, as their admin API gives it (from inside their namespaces).
        func status(_ member: String) async throws -> [String: Any] {
            let r = try await lab.run(member, ["python3", client, "get", "http://127.0.0.1:8053/status"])
            guard r.status == 0,
                let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            else { throw HarnessError("status of \(member): \(r.stderr)") }
            return json
        }

        func fleetStatus(_ member: String) async throws -> [String: Any] {
            try #require(try await status(member)["fleet"] as? [String: Any])
        }

        func role(_ member: String) async throws -> String { try await fleetStatus(member)["role"] as? String ?? "?" }

        /// Polls until `member`'s role is `role`; the seconds it took, or nil after `limit`.
        func waitForRole(_ member: String, _ role: String, limit: Double) async throws -> Double? {
            let start = ContinuousClock.now
            while Poll.seconds(since: start) < limit {
                if try await self.role(member) == role { return Poll.seconds(since: start) }
                try await Task.sleep(for: .milliseconds(100))
            }
            return nil
        }

        /// Wall-clock times at which each member's answer first lacks (or holds) `address`.
        func watch(_ address: String, _ want: String, timeout: Double) async throws -> [String: Double?] {
            let r = try await lab.run(
                "back",
                ["python3", client, "watch", "www.example.net", address, want, "\(timeout)"] + addresses,
                timeout: timeout + 30)
            guard let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] else {
                throw HarnessError("watch: \(r.stdout) \(r.stderr)")
            }
            return json.mapValues { $0 as? Double }
        }

        /// Every distinct answer each member gave over `seconds`.
        func steady(seconds: Double) async throws -> [String: [[String]]] {
            let r = try await lab.run(
                "back", ["python3", client, "steady", "www.example.net", "\(seconds)"] + addresses,
                timeout: seconds + 30)
            guard let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: [[String]]]
            else { throw HarnessError("steady: \(r.stdout) \(r.stderr)") }
            return json
        }

        func log(_ member: String) -> String { lab.output(member) }

        /// Every member's prober lines (state changes), for failure messages.
        func proberLines() -> String {
            FleetNetTests.members.keys.sorted().map { m in
                "\(m):\n" + log(m).split(separator: "\n").filter { $0.contains("[Prober]") }.joined(separator: "\n")
            }.joined(separator: "\n")
        }
    }

    /// Builds the lab, starts the backends and the three members, waits until every member hears
    /// both others and answers both backends; stops everything on every exit path.
    func withFleet(
        wrongKey: Set<String> = [], observers: Int? = nil, extraConfig: String = "", poolConfig: String = "",
        before: (Fleet) async throws -> Void = { _ in }, _ body: (Fleet) async throws -> Void
    ) async throws {
        try await withNetLab { lab in
            let fleet = Fleet(lab: lab)
            fleet.observers = observers
            fleet.extraConfig = extraConfig
            fleet.poolConfig = poolConfig
            // .20 first: the address the client asks from, which no test cuts.
            try await lab.add("back", octets: [20] + FleetNetTests.backends)
            for (m, o) in FleetNetTests.members.sorted(by: { $0.key < $1.key }) { try await lab.add(m, octets: [o]) }
            try FileManager.default.createDirectory(atPath: lab.dir.path("zones"), withIntermediateDirectories: true)
            _ = try lab.dir.write(
                "zones/example.net.zone",
                """
                $ORIGIN example.net.
                $TTL 300
                @ IN SOA ns1 hostmaster 1 3600 600 86400 60
                @ IN NS ns1
                ns1 IN A 192.0.2.53
                www IN A \(fleet.backend(0))
                www IN A \(fleet.backend(1))

                """)
            for i in FleetNetTests.backends.indices { try fleet.startBackend(i) }
            try await before(fleet)
            for m in FleetNetTests.members.keys.sorted() {
                let key = wrongKey.contains(m) ? "b3RoZXItc2VjcmV0LTAxMjM0NTY3ODlhYmNkZWY=" : FleetNetTests.secret
                let file = try lab.dir.write("\(m).yaml", fleet.config(m, key: key))
                fleet.servers[m] = try lab.spawn(m, [CarouselServer.binary, "serve", "--config", file], name: m)
            }
            // Every member answers both backends and hears the others (unless a key is wrong).
            let start = ContinuousClock.now
            for m in FleetNetTests.members.keys.sorted() where !wrongKey.contains(m) {
                while true {
                    if Poll.seconds(since: start) > 30 {
                        throw HarnessError("\(m) did not join within 30 s\n\(fleet.log(m))")
                    }
                    if let role = try? await fleet.role(m), role != "alone" { break }
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            // Both backends in every member's answers, and every fresh voter's verdict up.
            for i in FleetNetTests.backends.indices {
                let present = try await fleet.watch(fleet.backend(i), "present", timeout: 15)
                #expect(present.values.allSatisfy { $0 != nil }, "answers before the test: \(present)")
            }
            for m in FleetNetTests.members.keys.sorted() where !wrongKey.contains(m) {
                let settled = ContinuousClock.now
                while true {
                    let status = try await fleet.status(m)
                    let members = (status["pools"] as? [[String: Any]])?.first.flatMap {
                        ($0["sets"] as? [[String: Any]])?.first?["members"] as? [[String: Any]]
                    }
                    let votes = (members ?? []).compactMap { $0["fleet_votes"] as? [String: Any] }
                    let up =
                        votes.count == 2
                        && votes.allSatisfy { ($0["down"] as? Int) == 0 && ($0["voters"] as? Int ?? 0) >= 2 }
                    if up { break }
                    if Poll.seconds(since: settled) > 15 {
                        throw HarnessError("\(m): the backends' votes did not settle: \(votes)\n\(fleet.proberLines())")
                    }
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            try await body(fleet)
        }
    }

    @Test(
        "a killed backend leaves every instance's answers within interval × fall + 1 s, all within 0.25 s; it comes back the same way"
    )
    func killedBackendLeavesTogether() async throws {
        try await withFleet { fleet in
            let dead = fleet.backend(0)
            let killed = Date().timeIntervalSince1970
            fleet.backends[dead]?.kill()
            let gone = try await fleet.watch(dead, "absent", timeout: 15)
            let times = try #require(gone.values.map { $0 } as? [Double], "every member drops it: \(gone)")
            let bound = FleetNetTests.interval * 1.1 * FleetNetTests.fall + 1
            for (m, t) in gone { #expect(t! - killed <= bound, "\(m) dropped it after \(t! - killed) s") }
            let spread = times.max()! - times.min()!
            #expect(spread <= 0.25, "first and last instance \(spread) s apart: \(gone)")
            // What m1 sees, as any member's dig sees it: the observation zone, signed. (m1 may be
            // the last of the three to judge it: the fleet needed only two.)
            let record = "TXT\t\"down\" \"\(dead)\" \"http:8080/ expect=200\""
            var axfr = CommandResult(status: 0, stdout: "", stderr: "")
            let asked = ContinuousClock.now
            repeat {
                axfr = try await fleet.lab.run(
                    "m2",
                    [
                        "dig", "-b", fleet.address("m2"), "@\(fleet.address("m1"))", "-y",
                        "hmac-sha256:fleet:\(FleetNetTests.secret)", "m1.fleet.invalid", "AXFR",
                    ])
                if axfr.stdout.contains(record) { break }
                try await Task.sleep(for: .milliseconds(200))
            } while Poll.seconds(since: asked) < FleetNetTests.interval * 1.1 * FleetNetTests.fall + 1
            #expect(axfr.stdout.contains(record), "\(axfr.stdout)")
            let unsigned = try await fleet.lab.run(
                "m2", ["dig", "-b", fleet.address("m2"), "@\(fleet.address("m1"))", "m1.fleet.invalid", "AXFR"])
            #expect(unsigned.stdout.contains("Transfer failed"), "\(unsigned.stdout)")
            // promtool reads the whole /metrics of a member, fleet metrics and all.
            let lint = try await fleet.lab.run(
                "m1", ["/bin/sh", "-c", "curl -sS http://127.0.0.1:8053/metrics | promtool check metrics"])
            #expect(lint.status == 0 && (lint.stdout + lint.stderr).isEmpty, "\(lint.stdout)\(lint.stderr)")
            let metrics = try await fleet.lab.run("m1", ["curl", "-sS", "http://127.0.0.1:8053/metrics"]).stdout
            #expect(
                metrics.contains("carousel_fleet_alone 0") && metrics.contains("carousel_fleet_members_fresh 3"),
                "\(metrics)")
            #expect(metrics.contains("carousel_fleet_exchanges_total{result=\"ok\"}"), "\(metrics)")
            print(
                "fleet: a killed backend left the three instances' answers after \(times.map { String(format: "%.2f", $0 - killed) }.sorted()) s"
            )

            try fleet.startBackend(0)
            let started = Date().timeIntervalSince1970
            let back = try await fleet.watch(dead, "present", timeout: 15)
            let returned = try #require(back.values.map { $0 } as? [Double], "every member takes it back: \(back)")
            #expect(returned.max()! - returned.min()! <= 0.25, "back: \(back)")
            #expect(returned.max()! - started <= FleetNetTests.interval * 1.1 * 2 + 1.5, "back: \(back)")
        }
    }

    @Test("one instance cut off from one backend: for 10 intervals no answer of any instance changes")
    func onePointOfViewChangesNothing() async throws {
        try await withFleet { fleet in
            let backend = fleet.backend(0)
            try await fleet.lab.cut("m1", from: backend)
            let seen = try await fleet.steady(seconds: 10 * FleetNetTests.interval)
            let both = [fleet.backend(0), fleet.backend(1)].sorted()
            for (m, answers) in seen {
                #expect(answers == [both], "\(m) answered \(answers)\n\(fleet.proberLines())")
            }
            // m1 sees it down and says so; the fleet's verdict is up, 1 of 3 against.
            let status = try await fleet.status("m1")
            let pools = try #require(status["pools"] as? [[String: Any]])
            let sets = try #require(pools.first?["sets"] as? [[String: Any]])
            let members = try #require(sets.first?["members"] as? [[String: Any]])
            let member = try #require(members.first { $0["address"] as? String == backend })
            #expect(member["state"] as? String == "up" && member["in_answers"] as? Bool == true, "\(member)")
            let votes = try #require(member["fleet_votes"] as? [String: Any], "\(member)")
            #expect(
                votes["down"] as? Int == 1 && votes["voters"] as? Int == 3 && votes["needed"] as? Int == 2, "\(votes)")
            #expect((votes["verdicts"] as? [String: String])?["m1"] == "down", "\(votes)")
            let log = fleet.log("m1").split(separator: "\n").filter { $0.contains("\(backend) http:8080/") }
            #expect(log.last?.contains("→ down") == true, "\(log)")
        }
    }

    @Test(
        "one instance cut off from its peers answers alone from its own probes and says so; it rejoins within two intervals"
    )
    func cutOffFromPeers() async throws {
        try await withFleet { fleet in
            for peer in ["m1", "m2"] { try await fleet.lab.cut("m3", from: fleet.address(peer)) }
            let alone = try await fleet.waitForRole("m3", "alone", limit: 3 + 2)
            #expect(alone != nil, "m3 never said it was alone\n\(fleet.log("m3"))")
            #expect(fleet.log("m3").contains("fleet: alone"), "\(fleet.log("m3"))")
            // carousel status says so, and exits 2 (degraded); /ready is 503 with the reason.
            let cli = try await fleet.lab.run(
                "m3", [CarouselServer.binary, "status", "--admin", "http://127.0.0.1:8053"])
            #expect(
                cli.status == 2 && cli.stdout.contains("FLEET self=m3 role=alone master=none quorum=majority"),
                "\(cli.stdout)")
            let ready = try await fleet.lab.run(
                "m3", [CarouselServer.binary, "status", "--ready", "--admin", "http://127.0.0.1:8053"])
            #expect(ready.status == 1 && ready.stderr.contains("alone: no fleet peer heard"), "\(ready.stderr)")
            // m1 notices m3's silence too, within stale_after of its last exchange with it.
            var m1 = try await fleet.fleetStatus("m1")
            let start = ContinuousClock.now
            func m3Fresh(_ status: [String: Any]) -> Bool? {
                let members = status["members"] as? [[String: Any]]
                return members?.first { $0["id"] as? String == "m3" }?["fresh"] as? Bool
            }
            while m3Fresh(m1) != false && Poll.seconds(since: start) < 3 + 1 {
                try await Task.sleep(for: .milliseconds(100))
                m1 = try await fleet.fleetStatus("m1")
            }
            #expect(m3Fresh(m1) == false, "\(m1)")
            #expect(m1["role"] as? String != "alone")
            // Alone, m3 still answers, from its own probes; a backend it alone sees die leaves its answers.
            try await fleet.lab.cut("m3", from: fleet.backend(1))
            let gone = try await fleet.watch(fleet.backend(1), "absent", timeout: 6)
            #expect(gone[fleet.address("m3")]! != nil, "m3 alone follows its own probes: \(gone)")
            #expect(gone[fleet.address("m1")]! == nil && gone[fleet.address("m2")]! == nil, "m1 and m2 agree: \(gone)")
            try await fleet.lab.mend("m3", from: fleet.backend(1))
            for peer in ["m1", "m2"] { try await fleet.lab.mend("m3", from: fleet.address(peer)) }
            let rejoined = try await fleet.waitForRole("m3", "standby", limit: 10)
            let seconds = try #require(rejoined, "m3 did not rejoin\n\(fleet.log("m3"))")
            #expect(seconds <= 2 * FleetNetTests.interval + 0.5, "rejoined after \(seconds) s")
            print(
                "fleet: a member cut off from its peers said alone after \(alone ?? -1) s, rejoined \(seconds) s after the links came back"
            )
        }
    }

    @Test(
        "observers_per_target 2 of 3: each backend is probed by two members; a killed member's targets move within one interval"
    )
    func sharedProbing() async throws {
        try await withFleet(observers: 2) { fleet in
            try await Task.sleep(for: .seconds(2))  // the first exchanges have settled who probes what
            let marks = FleetNetTests.backends.indices.map { fleet.probes($0).lines }
            let window = 6.0
            try await Task.sleep(for: .seconds(window))
            var probers: [Set<String>] = []
            for i in FleetNetTests.backends.indices {
                let (sources, _) = fleet.probes(i, from: marks[i])
                // Two members, about once an interval each (3 with `all`: two thirds of the load).
                #expect(sources.count == 2, "backend \(i) probed by \(sources)")
                let total = sources.values.reduce(0, +)
                #expect(Double(total) >= 2 * window * 0.7 && Double(total) <= 2 * window * 1.3, "\(sources)")
                probers.append(Set(sources.keys))
            }
            // Kill a member that probes backend 0: its targets go to the member that did not.
            let victim = try #require(
                FleetNetTests.members.keys.sorted().first { probers[0].contains(fleet.address($0)) })
            fleet.servers[victim]?.kill()
            let killed = ContinuousClock.now
            let heir = try #require(
                fleet.addresses.first { $0 != fleet.address(victim) && !probers[0].contains($0) })
            let before = fleet.probes(0).lines
            var taken: Double?
            while Poll.seconds(since: killed) < 3 + 2 * FleetNetTests.interval + 1 {
                if fleet.probes(0, from: before).sources[heir] != nil {
                    taken = Poll.seconds(since: killed)
                    break
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            let seconds = try #require(taken, "\(heir) never probed backend 0 after \(victim) died")
            // Noticed as silent after stale_after (3 s); probed by its heir within one interval more.
            #expect(seconds <= 3 + FleetNetTests.interval * 1.1 + 0.5, "\(seconds) s")
            print(
                "fleet: observers_per_target 2 of 3: each backend probed by 2 members; a killed member's target taken over \(seconds) s after the kill"
            )
        }
    }

    @Test("a member with a wrong TSIG key is refused, shown, and its observations not counted")
    func wrongKeyIsRefused() async throws {
        try await withFleet(wrongKey: ["m3"]) { fleet in
            // m3 alone sees backend 0 down; with a wrong key its verdict must not count.
            try await fleet.lab.cut("m3", from: fleet.backend(0))
            try await Task.sleep(for: .seconds(4))
            let m1 = try await fleet.fleetStatus("m1")
            let members = try #require(m1["members"] as? [[String: Any]])
            let m3 = try #require(members.first { $0["id"] as? String == "m3" })
            #expect(m3["fresh"] as? Bool == false, "\(m3)")
            #expect(
                (m3["error"] as? String ?? "").contains("BADSIG") || (m3["error"] as? String ?? "").contains("TSIG"),
                "\(m3)")
            let targets = try #require(m1["targets"] as? [String: [String: Any]])
            for (t, v) in targets {
                #expect((v["verdicts"] as? [String: String])?["m3"] == nil, "\(t): \(v)")
            }
            #expect(try await fleet.role("m3") == "alone")
            let seen = try await fleet.steady(seconds: 3)
            #expect(seen[fleet.address("m1")] == [[fleet.backend(0), fleet.backend(1)].sorted()], "\(seen)")
        }
    }
}
