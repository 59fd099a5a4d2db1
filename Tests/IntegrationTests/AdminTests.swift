// The admin API and the commands built on it, against a carousel probing live backends:
// /status, `carousel status` exit codes, drain and undrain (across a restart), the refusal to
// drain the last healthy member, and the bearer token.

import Foundation
import Testing

@Suite("Admin API: status, drain, token")
struct AdminTests {
    static func config(_ backends: Backends, _ admin: AdminAddress, extra: String = "", pool: String = "") -> String {
        """
        \(admin.yaml)
        \(extra)
        pools:
          - name: www.lb.test
            ttl: 20
            check: \(fastCheck(port: backends.port))
        \(pool)
        """
    }

    static func allUp(_ admin: AdminAddress, _ backends: Backends) async throws {
        try await Poll.until("all four up in /status") {
            let status = try await Admin.status(admin.url)
            return backends.addresses.allSatisfy { Admin.member(status, $0)?["state"] as? String == "up" }
        }
    }

    @Test("GET /status shows a killed backend down and out of answers; carousel status exits 2, then 0")
    func statusOfAKilledBackend() async throws {
        try await withBackends { backends in
            let files = try LBFiles(["www": LBFiles.aRecords(backends.addresses)])
            defer { files.remove() }
            let admin = try AdminAddress()
            try await withCarousel(zones: [files.zones], config: Self.config(backends, admin)) { server in
                try await Self.allUp(admin, backends)
                let healthy = try await Admin.cli(["status"], url: admin.url)
                #expect(healthy.status == 0, "\(healthy.stdout)\(healthy.stderr)")

                let victim = backends.addresses[3]
                try await backends.kill(victim)
                try await Poll.until("\(victim) down") { try await Admin.state(admin.url, victim) == "down" }
                let status = try await Admin.status(admin.url)
                let member = try #require(Admin.member(status, victim))
                #expect(member["in_answers"] as? Bool == false, "\(member)")
                #expect(member["why"] as? String == "down", "\(member)")
                #expect((member["last_result"] as? String ?? "").contains("refused"), "\(member)")
                let other = Admin.member(status, backends.addresses[0])
                #expect(other?["state"] as? String == "up" && other?["in_answers"] as? Bool == true, "\(other ?? [:])")

                let degraded = try await Admin.cli(["status"], url: admin.url)
                #expect(degraded.status == 2, "exit 2 while something is down\n\(degraded.stdout)\(degraded.stderr)")
                let row = degraded.stdout.split(separator: "\n").first { $0.contains(victim) } ?? ""
                #expect(row.contains("down") && row.contains("no: down"), "\(degraded.stdout)")

                try await backends.restart(victim)
                try await Poll.until("\(victim) up again") { try await Admin.state(admin.url, victim) == "up" }
                let recovered = try await Admin.cli(["status"], url: admin.url)
                #expect(recovered.status == 0, "\(recovered.stdout)\(recovered.stderr)\n\(server.log)")
            }
        }
    }

    @Test("carousel drain takes an address out (dig proves it), survives a restart; undrain puts it back")
    func drainAcrossRestart() async throws {
        try await withBackends { backends in
            let files = try LBFiles(["www": LBFiles.aRecords(backends.addresses)])
            defer { files.remove() }
            let victim = backends.addresses[0]
            let others = Set(backends.addresses).subtracting([victim])
            let stateFile = "state_file: \"\(files.stateFile)\""
            let admin = try AdminAddress()
            let first = try await CarouselServer.start(
                zones: [files.zones], config: Self.config(backends, admin, extra: stateFile))
            do {
                try await Self.allUp(admin, backends)
                let drained = try await Admin.cli(["drain", victim], url: admin.url)
                #expect(drained.status == 0, "\(drained.stdout)\(drained.stderr)")
                _ = try await Poll.dig(first.endpoint, ["www.lb.test", "A"], limit: 5) { Set($0.addresses) == others }
                let status = try await Admin.status(admin.url)
                let member = Admin.member(status, victim)
                #expect(
                    member?["state"] as? String == "drained" && member?["in_answers"] as? Bool == false,
                    "\(member ?? [:])")
                try await offload { first.process.stop(grace: 10) }
                first.stop()
            } catch {
                first.stop()
                throw error
            }

            let admin2 = try AdminAddress()
            try await withCarousel(zones: [files.zones], config: Self.config(backends, admin2, extra: stateFile)) {
                server in
                let response = try await Dig.query(server.endpoint, "www.lb.test", "A")
                #expect(
                    Set(response.addresses) == others, "still drained after the restart\n\(response)\n\(server.log)")
                let status = try await Admin.status(admin2.url)
                #expect((status["drained"] as? [String] ?? []).contains(victim), "\(status["drained"] ?? "")")

                let undrained = try await Admin.cli(["undrain", victim], url: admin2.url)
                #expect(undrained.status == 0, "\(undrained.stdout)\(undrained.stderr)")
                _ = try await Poll.dig(server.endpoint, ["www.lb.test", "A"], limit: 5) {
                    Set($0.addresses) == Set(backends.addresses)
                }
            }
        }
    }

    @Test("draining the last healthy member is refused (exit 1, HTTP 409) unless --force")
    func drainLastHealthy() async throws {
        try await withBackends { backends in
            let files = try LBFiles(["www": LBFiles.aRecords(backends.addresses)])
            defer { files.remove() }
            let admin = try AdminAddress()
            let config = Self.config(backends, admin, pool: "    all_down: servfail")
            try await withCarousel(zones: [files.zones], config: config) { server in
                try await Self.allUp(admin, backends)
                let last = backends.addresses[2]
                for address in backends.addresses where address != last { try await backends.kill(address) }
                try await Poll.until("three down") {
                    let status = try await Admin.status(admin.url)
                    return backends.addresses.filter { Admin.member(status, $0)?["state"] as? String == "down" }.count
                        == 3
                }
                let refused = try await Admin.cli(["drain", last], url: admin.url)
                #expect(refused.status == 1, "\(refused.stdout)\(refused.stderr)")
                #expect(refused.stderr.contains("409"), "\(refused.stderr)")
                let http = try await Admin.request("POST", admin.url + "/drain", form: ["address": last])
                #expect(http.status == 409, "\(http.body)")
                let still = try await Dig.query(server.endpoint, "www.lb.test", "A")
                #expect(still.addresses == [last], "\(still)")

                let forced = try await Admin.cli(["drain", last, "--force"], url: admin.url)
                #expect(forced.status == 0, "\(forced.stdout)\(forced.stderr)")
                _ = try await Poll.dig(server.endpoint, ["www.lb.test", "A"], limit: 5) { $0.status == "SERVFAIL" }
            }
        }
    }

    @Test("admin_token: POST /drain without the token → 401, with it → 200; reads stay open")
    func bearerToken() async throws {
        try await withBackends { backends in
            let files = try LBFiles(["www": LBFiles.aRecords(backends.addresses)])
            defer { files.remove() }
            let admin = try AdminAddress()
            let config = Self.config(backends, admin, extra: "admin_token: secret")
            try await withCarousel(zones: [files.zones], config: config) { server in
                let victim = backends.addresses[1]
                let drain = admin.url + "/drain"
                let none = try await Admin.request("POST", drain, form: ["address": victim])
                #expect(none.status == 401, "\(none.body)")
                let wrong = try await Admin.request("POST", drain, form: ["address": victim], token: "guess")
                #expect(wrong.status == 401, "\(wrong.body)")
                let cli = try await Admin.cli(["drain", victim], url: admin.url)
                #expect(cli.status == 1 && cli.stderr.contains("401"), "\(cli.stdout)\(cli.stderr)")
                let open = try await Admin.request("GET", admin.url + "/status")
                #expect(open.status == 200)
                let before = try await Dig.query(server.endpoint, "www.lb.test", "A")
                #expect(before.addresses.contains(victim), "nothing was drained\n\(before)")

                let ok = try await Admin.request("POST", drain, form: ["address": victim], token: "secret")
                #expect(ok.status == 200, "\(ok.body)")
                _ = try await Poll.dig(server.endpoint, ["www.lb.test", "A"], limit: 5) {
                    !$0.addresses.contains(victim)
                }
                let undrain = try await Admin.cli(["undrain", victim], url: admin.url, token: "secret")
                #expect(undrain.status == 0, "\(undrain.stdout)\(undrain.stderr)")
                _ = try await Poll.dig(server.endpoint, ["www.lb.test", "A"], limit: 5) {
                    $0.addresses.contains(victim)
                }
            }
        }
    }
}
