// A fleet's config as an operator edits it, on one instance over loopback: a `--fleet-self` or
// CAROUSEL_FLEET_SELF that names no member stops the start with the members listed; a reload
// that changes the members starts and stops the exchanges with them; a broken fleet edit is
// reported at its line and the running fleet stays; a reload without `fleet:` leaves the fleet.
// Peers are addresses on 127.0.0.0/8 where nothing answers.

import Foundation
import Testing

@Suite("Fleet config: self, reloads", .serialized)
struct FleetMembershipTests {
    static let zone = reloadZone("example.net.", serial: 1, www: ["192.0.2.1", "192.0.2.2"])

    static func config(_ members: [String], extra: String = "") -> String {
        """
        tsig_keys:
          - { name: fleet, secret: "ZmxlZXQtc2VjcmV0LTAxMjM0NTY3ODlhYmNkZWY=" }
        pools:
          - name: www.example.net
            ttl: 4
            check: {type: none}
        fleet:
          members:
        \(members.enumerated().map { "    - { id: \($0.element), address: \"127.0.0.\($0.offset + 1):53\" }" }.joined(separator: "\n"))
          tsig: fleet
        \(extra)
        """
    }

    func fleetMembers(_ server: ConfiguredCarousel) async throws -> [String]? {
        let status = try await Admin.status(server.adminURL)
        guard let fleet = status["fleet"] as? [String: Any] else { return nil }
        return (fleet["members"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
    }

    @Test("--fleet-self or CAROUSEL_FLEET_SELF naming no member: the start fails, listing the members")
    func unknownSelf() async throws {
        let dir = try TempDir(prefix: "fleet-self")
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.path("zones"), withIntermediateDirectories: true)
        _ = try dir.write("zones/example.net.zone", Self.zone)
        let file = try dir.write(
            "carousel.yaml", "listen: [\"127.0.0.1:0\"]\nzones: \"\(dir.path("zones"))\"\n" + Self.config(["m1", "m2"]))
        let flag = try await Command.run(
            CarouselServer.binary, ["serve", "--config", file, "--fleet-self", "nope"], timeout: 30)
        #expect(flag.status != 0, "\(flag.stdout)")
        #expect(flag.stderr.contains("--fleet-self nope: not a member of fleet.members (m1, m2)"), "\(flag.stderr)")
        let env = try await Command.run(
            "/usr/bin/env", ["CAROUSEL_FLEET_SELF=nope", CarouselServer.binary, "serve", "--config", file], timeout: 30)
        #expect(env.status != 0 && env.stderr.contains("nope: not a member of fleet.members (m1, m2)"), "\(env.stderr)")
    }

    @Test(
        "a reload changes the members; a broken fleet edit is reported at its line and the fleet stays; without fleet: it is left"
    )
    func reloadChangesMembers() async throws {
        try await withConfiguredCarousel(
            zones: ["example.net.zone": Self.zone], config: Self.config(["m1", "m2"]),
            arguments: ["--fleet-self", "m1"]
        ) { server in
            #expect(try await fleetMembers(server) == ["m1", "m2"])
            try await server.rewriteConfig(Self.config(["m1", "m2", "m3"]))
            let start = ContinuousClock.now
            var members = try await fleetMembers(server)
            while members != ["m1", "m2", "m3"] && Poll.seconds(since: start) < 5 {
                try await Task.sleep(for: .milliseconds(100))
                members = try await fleetMembers(server)
            }
            #expect(members == ["m1", "m2", "m3"], "\(server.log)")
            // m3 is asked like the others (nothing answers there).
            #expect(try await server.waitForLog("fleet: m3 at 127.0.0.3:53"), "\(server.log)")

            // Two members with one id: refused at the line of the second, the three stay.
            let broken = Self.config(["m1", "m2", "m2"])
            let line = try await server.rewriteConfig(broken, marker: "id: m2, address: \"127.0.0.3")
            #expect(try await server.waitForLog("not applied", timeout: 5), "\(server.log)")
            #expect(server.log.contains("carousel.yaml:\(line):"), "expected line \(line)\n\(server.log)")
            #expect(try await fleetMembers(server) == ["m1", "m2", "m3"])

            // Without fleet: the instance serves from its own probes, and says so.
            try await server.rewriteConfig(
                Self.config(["m1"]).components(separatedBy: "fleet:")[0])
            #expect(try await server.waitForLog("fleet: off"), "\(server.log)")
            #expect(try await fleetMembers(server) == nil)
        }
    }
}
