// Hot reload of carousel.yaml: a changed pool TTL applies within 2 s, a broken edit is
// logged as `carousel.yaml:LINE:` while the running config keeps working, and health state
// survives a reload that adds a pool (a dead backend stays out, no re-probe grace, counters kept).
// Backends live on 127.0.41.0/24 and 127.0.42.0/24, used by no other test.

import Foundation
import Testing

@Suite("Hot reload: carousel.yaml", .serialized)
struct ConfigReloadTests {
    static let origin = "example.net."
    static let file = "example.net.zone"

    /// A pool over www.example.net with no probing, so only the TTL cap matters.
    static func ttlPool(_ ttl: Int, extra: String = "") -> String {
        """
        pools:
          - name: www.example.net
            ttl: \(ttl)
            check: {type: none}
        \(extra)
        """
    }

    @Test("a pool's ttl changed in the config: answers carry the new TTL within 2 s")
    func ttlChange() async throws {
        let zone = reloadZone(Self.origin, serial: 1, www: ["192.0.2.1", "192.0.2.2"])
        try await withConfiguredCarousel(zones: [Self.file: zone], config: Self.ttlPool(4)) { server in
            let before = try await Dig.query(server.endpoint, "www.example.net", "A")
            #expect(before.answer.map(\.ttl) == [4, 4], "the pool caps the zone's 60\n\(before)\n\(server.log)")
            for (mode, ttl) in [(EditMode.renameOver, 9), (.inPlace, 13)] {
                try await server.rewriteConfig(Self.ttlPool(ttl), mode: mode)
                let edited = ContinuousClock.now
                let served = try await Poll.dig(server.endpoint, ["www.example.net", "A"], since: edited, limit: 10) {
                    $0.answer.count == 2 && $0.answer.allSatisfy { $0.ttl == ttl }
                }
                report("config ttl → \(ttl) (\(mode.rawValue)): served \(secs(served.seconds)) after the write")
                #expect(served.seconds < 2, "\(server.log)")
            }
            #expect(server.log.contains("config reloaded"), "\(server.log)")
        }
    }

    struct BrokenCase: Sendable, CustomTestStringConvertible {
        var name: String
        /// The config body after the header; `marker` is on the line the error must name.
        var body: String
        var marker: String
        var testDescription: String { name }
    }

    static let brokenCases = [
        BrokenCase(
            name: "an unknown key in a pool",
            body: ttlPool(9).replacingOccurrences(of: "    ttl: 9", with: "    ttl: 9\n    colour: blue"),
            marker: "colour"),
        BrokenCase(
            name: "a ttl out of range",
            body: ttlPool(9).replacingOccurrences(of: "ttl: 9", with: "ttl: -9"), marker: "ttl: -9"),
        BrokenCase(
            name: "a pool named 5 (no such records; carousel check rejects it)",
            body: "pools: [ {name: 5} ]", marker: "pools:"),
        BrokenCase(
            name: "a pool name that is not a string",
            body: "pools: [ {name: [5], ttl: 9} ]", marker: "pools:"),
        BrokenCase(
            name: "a YAML syntax error",
            body: ttlPool(9) + "\nmax_udp_payload: [1232", marker: "max_udp_payload"),
    ]

    @Test("a broken config edit is logged as carousel.yaml:LINE: and the running config stays", arguments: brokenCases)
    func brokenConfig(_ c: BrokenCase) async throws {
        let zone = reloadZone(Self.origin, serial: 1, www: ["192.0.2.1", "192.0.2.2"])
        try await withConfiguredCarousel(zones: [Self.file: zone], config: Self.ttlPool(4)) { server in
            let line = try await server.rewriteConfig(c.body, mode: .inPlace, marker: c.marker)
            let rejected: () async throws -> Void = {
                let needle = "carousel.yaml:\(line):"
                #expect(try await server.waitForLog("not applied", timeout: 5), "the edit is refused\n\(server.log)")
                let errors = server.logLines(containing: "carousel.yaml:")
                report("broken config (\(c.name)): \(errors.first ?? "nothing logged")")
                // A YAML syntax error is reported where the parser gave up, which may be the line
                // after the mistake: the marker's line or the next one.
                let nextLine = "carousel.yaml:\(line + 1):"
                #expect(
                    server.log.contains(needle) || server.log.contains(nextLine),
                    "expected \(needle) in the log\n\(server.log)\n--- config:\n\(server.configHeader)\(c.body)")
                try await Task.sleep(for: .milliseconds(1100))
                let after = try await Dig.query(server.endpoint, "www.example.net", "A")
                #expect(after.answer.map(\.ttl) == [4, 4], "the running config stays\n\(after)\n\(server.log)")
                #expect(server.process.isRunning)
                let status = try await Admin.status(server.adminURL)
                let problems = status["errors"] as? [String] ?? []
                #expect(problems.contains { $0.contains("carousel.yaml:") }, "/status lists the problem: \(problems)")
            }
            try await rejected()

            // Fixing the file applies it.
            try await server.rewriteConfig(Self.ttlPool(9), mode: .renameOver)
            let fixed = ContinuousClock.now
            let served = try await Poll.dig(server.endpoint, ["www.example.net", "A"], since: fixed, limit: 10) {
                $0.answer.count == 2 && $0.answer.allSatisfy { $0.ttl == 9 }
            }
            #expect(served.seconds < 2, "\(server.log)")
        }
    }

    @Test("health survives a config reload that adds a pool: the dead backend stays down and out, counters kept")
    func healthSurvivesReload() async throws {
        let up = "127.0.41.1"
        let dead = "127.0.41.2"  // nothing listens there
        let newMember = "127.0.42.1"
        let backends = try await Backends(addresses: [up, newMember])
        defer { backends.stop() }
        let zone = reloadZone(Self.origin, serial: 1, www: [up, dead], extra: ["api 60 IN A \(newMember)"])
        let poolA = """
            pools:
              - name: www.example.net
                ttl: 4
                check: \(fastCheck(port: backends.port))
            """
        let poolB = """
              - name: api.example.net
                ttl: 5
                check: \(fastCheck(port: backends.port))
            """
        try await withConfiguredCarousel(zones: [Self.file: zone], config: poolA) { server in
            // The first probe decides the first state; wait for a second failure so that a reset
            // of the counter by the reload would show.
            try await Poll.until("\(dead) down with 2 failures and \(up) up", limit: 20) {
                let status = try await Admin.status(server.adminURL)
                let member = Admin.member(status, dead)
                return member?["state"] as? String == "down" && (member?["failures"] as? Int ?? 0) >= 2
                    && Admin.member(status, up)?["state"] as? String == "up"
            }
            let before = try #require(Admin.member(try await Admin.status(server.adminURL), dead))
            let failuresBefore = before["failures"] as? Int ?? -1
            let sinceBefore = before["since"] as? String
            #expect(failuresBefore >= 2, "\(before)")

            try await server.rewriteConfig(poolA + "\n" + poolB, mode: .renameOver)
            let edited = ContinuousClock.now
            var seen: [String: Int] = [:]
            var reloadedAfter: Double?
            var memberAtReload: [String: Any]?
            while Poll.seconds(since: edited) < 3 {
                for response in try await Dig.repeated(server.endpoint, "www.example.net", "A", count: 5) {
                    for address in response.addresses { seen[address, default: 0] += 1 }
                    #expect(response.status == "NOERROR", "\(response)")
                }
                if reloadedAfter == nil {
                    let status = try await Admin.status(server.adminURL)
                    let pools = (status["pools"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
                    if pools.contains(where: { $0.hasPrefix("api.example.net") }) {
                        reloadedAfter = Poll.seconds(since: edited)
                        memberAtReload = Admin.member(status, dead)
                    }
                }
            }
            report(
                "config reload adding a pool: seen in /status after \(reloadedAfter.map(secs) ?? "never"); "
                    + "answers for www during 3 s: \(seen)")
            #expect(reloadedAfter != nil, "the new pool never showed in /status\n\(server.log)")
            #expect(seen[dead] == nil, "the dead backend was handed out after the reload: \(seen)\n\(server.log)")
            #expect((seen[up] ?? 0) > 0, "\(seen)")

            var latest = memberAtReload
            if latest == nil { latest = Admin.member(try await Admin.status(server.adminURL), dead) }
            let member = try #require(latest)
            report(
                "dead member before: failures \(failuresBefore), since \(sinceBefore ?? "-"); right after: "
                    + "failures \(member["failures"] ?? "-"), since \(member["since"] ?? "-"), state \(member["state"] ?? "-")"
            )
            #expect(member["state"] as? String == "down", "\(member)")
            #expect((member["failures"] as? Int ?? -1) >= failuresBefore, "failure count reset: \(member)")
            #expect(member["since"] as? String == sinceBefore, "state timestamp reset: \(member)")
            #expect(member["in_answers"] as? Bool == false, "\(member)")

            // The new pool's member starts probing at once.
            try await Poll.until("\(newMember) up", limit: 10) {
                try await Admin.state(server.adminURL, newMember) == "up"
            }
            #expect(server.log.contains("config reloaded"), "\(server.log)")
        }
    }
}
