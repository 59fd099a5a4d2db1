// The probe kinds against real processes: https with a self-signed certificate, exec with a
// shell script, tcp to an IPv6 backend.

import Foundation
import Testing

@Suite("Check kinds: https, exec, IPv6", .serialized)
struct CheckKindsTests {
    @Test("https: a self-signed certificate fails the check unless insecure: true")
    func httpsSelfSigned() async throws {
        try await withBackends(1, kind: .https) { backends in
            let address = backends.addresses[0]
            let files = try LBFiles([
                "verified": LBFiles.aRecords([address]), "insecure": LBFiles.aRecords([address]),
            ])
            defer { files.remove() }
            let admin = try AdminAddress()
            let config = """
                \(admin.yaml)
                pools:
                  - name: verified.lb.test
                    ttl: 20
                    all_down: servfail
                    check: \(fastCheck("https", port: backends.port))
                  - name: insecure.lb.test
                    ttl: 20
                    all_down: servfail
                    check: \(fastCheck("https", port: backends.port, extra: "insecure: true"))
                """
            try await withCarousel(zones: [files.zones], config: config) { server in
                for _ in 0..<2 {  // once settled, and again after two more probe rounds
                    _ = try await Poll.dig(server.endpoint, ["verified.lb.test", "A"], limit: 10) {
                        $0.status == "SERVFAIL"
                    }
                    let insecure = try await Dig.query(server.endpoint, "insecure.lb.test", "A")
                    #expect(
                        insecure.status == "NOERROR" && insecure.addresses == [address], "\(insecure)\n\(server.log)")
                    try await Task.sleep(for: .seconds(2))
                }
                let verified = try await Dig.query(server.endpoint, "verified.lb.test", "A")
                #expect(verified.status == "SERVFAIL", "still failing verification\n\(verified)\n\(server.log)")
                let status = try await Admin.status(admin.url)
                let pools = status["pools"] as? [[String: Any]] ?? []
                func member(_ pool: String) -> [String: Any]? {
                    let sets = pools.first { $0["name"] as? String == pool }?["sets"] as? [[String: Any]]
                    return (sets?.first?["members"] as? [[String: Any]])?.first
                }
                let failing = member("verified.lb.test")
                report("https without insecure: \(failing?["last_result"] as? String ?? "?")")
                #expect(failing?["state"] as? String == "down", "\(failing ?? [:])")
                #expect(member("insecure.lb.test")?["state"] as? String == "up", "\(pools)")
            }
        }
    }

    @Test("exec: a shell script up for two addresses, down for the others; the port in CAROUSEL_PORT")
    func execCheck() async throws {
        let addresses = BackendNet.addresses()
        let files = try LBFiles(["www": LBFiles.aRecords(addresses)])
        defer { files.remove() }
        let calls = files.dir.path("calls")
        let script = try files.script(
            "check.sh",
            """
            #!/bin/sh
            echo "$CAROUSEL_ADDRESS $CAROUSEL_PORT" >> "\(calls)"
            case "$CAROUSEL_ADDRESS" in
              \(addresses[0])|\(addresses[2])) exit 0 ;;
              *) exit 1 ;;
            esac
            """)
        let config = """
            pools:
              - name: www.lb.test
                ttl: 20
                check: {type: exec, port: 8443, command: ["/bin/sh", "\(script)"], interval: 1s, timeout: 500ms, rise: 2, fall: 2}
            """
        try await withCarousel(zones: [files.zones], config: config) { server in
            let up = Set([addresses[0], addresses[2]])
            _ = try await Poll.dig(server.endpoint, ["www.lb.test", "A"], limit: 10) { Set($0.addresses) == up }
            var firsts: Set<String> = []
            for _ in 0..<4 {
                let response = try await Dig.query(server.endpoint, "www.lb.test", "A")
                #expect(Set(response.addresses) == up, "\(response)\n\(server.log)")
                #expect(response.answer.allSatisfy { $0.ttl == 10 }, "two members down: TTL halved\n\(response)")
                firsts.formUnion(response.addresses.prefix(1))
            }
            #expect(firsts == up, "the two rotate")
            let log = (try? String(contentsOfFile: calls, encoding: .utf8)) ?? ""
            for address in addresses {
                #expect(log.contains("\(address) 8443\n"), "the script saw \(address) and port 8443:\n\(log)")
            }
        }
    }

    @Test("IPv6: a tcp check on [::1] — the AAAA member leaves and comes back, the A stays")
    func ipv6Backend() async throws {
        let v4 = BackendNet.addresses(1)[0]
        let backends = try await Backends(addresses: ["::1", v4])
        defer { backends.stop() }
        let files = try LBFiles(["v6": LBFiles.aRecords(["::1", v4])])
        defer { files.remove() }
        let admin = try AdminAddress()
        let config = """
            \(admin.yaml)
            pools:
              - name: v6.lb.test
                ttl: 20
                all_down: nodata
                check: \(fastCheck("tcp", port: backends.port))
            """
        try await withCarousel(zones: [files.zones], config: config) { server in
            let aaaa = try await Poll.dig(server.endpoint, ["v6.lb.test", "AAAA"], limit: 10) {
                $0.addresses == ["::1"]
            }
            #expect(aaaa.response.answer.first?.ttl == 20, "\(aaaa.response)")

            let killed = ContinuousClock.now
            let probesAtKill = try await Admin.probes(admin.url, "::1")
            try await backends.kill("::1")
            let drop = try await Poll.dig(server.endpoint, ["v6.lb.test", "AAAA"], since: killed) {
                $0.status == "NOERROR" && $0.answer.isEmpty
            }
            let probesToDrop = try await Admin.probes(admin.url, "::1") - probesAtKill
            report("IPv6: ::1 left the AAAA answers \(secs(drop.seconds)) (\(probesToDrop) probes) after SIGKILL")
            FailoverTests.expectProbes(probesToDrop, within: FailoverTests.fall, "left the AAAA answers")
            #expect(drop.response.authority.map(\.type) == ["SOA"], "all_down nodata\n\(drop.response)")
            let a = try await Dig.query(server.endpoint, "v6.lb.test", "A")
            #expect(a.addresses == [v4], "the A member is still up\n\(a)")

            try await backends.restart("::1")
            let listening = ContinuousClock.now
            let probesAtRestart = try await Admin.probes(admin.url, "::1")
            let back = try await Poll.dig(server.endpoint, ["v6.lb.test", "AAAA"], since: listening) {
                $0.addresses == ["::1"]
            }
            let probesToBack = try await Admin.probes(admin.url, "::1") - probesAtRestart
            report(
                "IPv6: ::1 back in the AAAA answers \(secs(back.seconds)) (\(probesToBack) probes) after it listened again"
            )
            FailoverTests.expectProbes(probesToBack, within: FailoverTests.rise, "back in the AAAA answers")
        }
    }
}
