// `GET /ready` and `carousel status --ready` on a real server, as keepalived's track_script and
// an anycast health check ask them: ready when serving; not ready with the reason when a zone file
// has no version that loads, and when the process is hung (SIGSTOP), until it runs again.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Readiness: GET /ready, carousel status --ready")
struct ReadyTests {
    static let zone = balancedZone("example.net.", addresses: ["192.0.2.1"])

    @Test("ready while serving; a hung process (SIGSTOP) is not, with the reason, and is again after SIGCONT")
    func readyAndHung() async throws {
        try await withConfiguredCarousel(zones: ["example.net.zone": Self.zone], config: "") { server in
            let ready = try await Admin.request("GET", server.adminURL + "/ready")
            #expect(ready.status == 200 && ready.body == "ready\n", "\(ready)")
            let cli = try await Admin.cli(["status", "--ready"], url: server.adminURL)
            #expect(cli.status == 0 && cli.stdout == "ready\n", "\(cli.stdout)\(cli.stderr)")
            kill(server.pid, SIGSTOP)
            let hung = try await Admin.cli(["status", "--ready"], url: server.adminURL)
            kill(server.pid, SIGCONT)
            #expect(
                hung.status == 1 && hung.stderr.hasPrefix("not ready: the admin API does not answer"),
                "\(hung.status) \(hung.stderr)")
            let back = try await Admin.cli(["status", "--ready"], url: server.adminURL)
            #expect(back.status == 0, "\(back.stdout)\(back.stderr)")
        }
    }

    @Test("a zone file with no version that loads: 503 naming the file and the error; status --ready exits 1")
    func brokenZone() async throws {
        let zones = ["example.net.zone": Self.zone, "broken.test.zone": "$ORIGIN broken.test.\n@ IN SOA ns1 (\n"]
        try await withConfiguredCarousel(zones: zones, config: "") { server in
            let reply = try await Admin.request("GET", server.adminURL + "/ready")
            #expect(reply.status == 503, "\(reply)")
            #expect(
                reply.body.hasPrefix("zone file \(server.zoneFile("broken.test.zone")) has no version that loads: "),
                "\(reply.body)")
            let cli = try await Admin.cli(["status", "--ready"], url: server.adminURL)
            #expect(cli.status == 1 && cli.stderr.hasPrefix("not ready: zone file "), "\(cli.stderr)")
            // The good zone is served all the same.
            let answer = try await Dig.query(server.endpoint, "www.example.net", "A")
            #expect(answer.addresses == ["192.0.2.1"], "\(answer)")
        }
    }
}
