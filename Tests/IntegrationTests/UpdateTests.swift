// Dynamic updates (RFC 2136) as operators send them: `nsupdate` (BIND) and `knsupdate` (Knot),
// signed with TSIG. A backend registered by an update is probed and answered once it rises;
// every prerequisite kind and every refusal has its rcode; and what was acknowledged survives
// kill -9 (the journal), read back by a restarted server.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Dynamic updates: nsupdate and knsupdate, refusals, kill -9", .serialized)
struct UpdateTests {
    static let key = "hmac-sha256:xfr:\(TestKey.secret)"
    static let other = "hmac-sha256:other:\(TestKey.wrongSecret)"

    static func config(journal: String, backends: Backends? = nil) -> String {
        """
        tsig_keys:
          - { name: xfr, algorithm: hmac-sha256, secret: "\(TestKey.secret)" }
          - { name: other, algorithm: hmac-sha256, secret: "\(TestKey.wrongSecret)" }
        updates:
          - { zone: example.com, tsig: [xfr], allow: ["127.0.0.0/8"], journal: "\(journal)", names: ["www.example.com", "*.n.example.com", "_acme-challenge.example.com"] }
        \(backends.map { "pools:\n  - { name: www.example.com, ttl: 5, check: { type: http, port: \($0.port), path: /healthz, interval: 300ms, timeout: 250ms, rise: 2, fall: 2 } }" } ?? "")
        """
    }

    /// Runs `nsupdate` (or `knsupdate`) with `script` after the server line; the exit status and
    /// what it printed.
    static func nsupdate(
        _ server: Endpoint, _ script: String, key: String? = UpdateTests.key, tool: String = "nsupdate"
    ) async throws -> CommandResult {
        let dir = try TempDir(prefix: "nsupdate")
        defer { dir.remove() }
        let file = try dir.write("script", "server \(server.host) \(server.port)\nzone example.com\n\(script)\nsend\n")
        return try await Command.run(tool, (key.map { ["-y", $0] } ?? []) + [file])
    }

    @Test(
        "nsupdate adds a backend: probed, answered once it rises; knsupdate removes it; every prerequisite kind and refusal has its rcode"
    )
    func addABackend() async throws {
        let journalDir = try TempDir(prefix: "journal")
        defer { journalDir.remove() }
        try await withBackends(2) { backends in
            let (a, b) = (backends.addresses[0], backends.addresses[1])
            let zone = balancedZone("example.com.", addresses: [a])
            try await withConfiguredCarousel(
                zones: ["example.com.zone": zone],
                config: Self.config(journal: journalDir.path("example.com.jnl"), backends: backends)
            ) { server in
                _ = try await Poll.dig(server.endpoint, ["www.example.com", "A"]) { $0.addresses == [a] }
                let serial = try await Dig.query(server.endpoint, "example.com", "SOA").answer.first?.rdata ?? ""
                // Add the second backend while it is down: NOERROR, a new serial, and it is not
                // answered (a new address starts down, not blind); once it listens, it rises.
                try await backends.kill(b)
                let add = try await Self.nsupdate(server.endpoint, "update add www.example.com 5 A \(b)")
                #expect(add.status == 0, "\(add.stdout)\(add.stderr)")
                let watched = ContinuousClock.now
                while Poll.seconds(since: watched) < 1.2 {
                    let r = try await UDP.exchange(RawQuery("www.example.com.").bytes, with: server.endpoint)
                    let addresses = try r.map { try RawMessage($0).answer.map(\.address) } ?? []
                    #expect(addresses == [a], "a down address added by an update is never answered: \(addresses)")
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(server.logLines(containing: "\(b)").contains { $0.contains("is new: down until it rises") })
                let listening = ContinuousClock.now
                try await backends.restart(b)
                let up = try await Poll.dig(server.endpoint, ["www.example.com", "A"], since: listening) {
                    Set($0.addresses) == [a, b]
                }
                report("update: an added backend answered \(secs(up.seconds)) after it listened (rise 2, 300 ms)")
                let soa = try await Dig.query(server.endpoint, "example.com", "SOA").answer.first?.rdata ?? ""
                #expect(soa != serial, "a new serial: \(serial) → \(soa)")

                // Prerequisites, each kind, as nsupdate sends them.
                let cases: [(String, String?)] = [
                    ("prereq yxrrset www.example.com A", nil),
                    ("prereq nxrrset www.example.com A", "YXRRSET"),
                    ("prereq yxdomain nobody.n.example.com", "NXDOMAIN"),
                    ("prereq nxdomain www.example.com", "YXDOMAIN"),
                    ("prereq yxrrset www.example.com TXT", "NXRRSET"),
                    ("prereq yxrrset www.example.com A \(a)", "NXRRSET"),  // the set is a and b
                ]
                for (prereq, failure) in cases {
                    let r = try await Self.nsupdate(
                        server.endpoint, "\(prereq)\nupdate add _acme-challenge.example.com 5 TXT \"token\"")
                    if let failure {
                        #expect(r.status != 0 && r.stderr.contains(failure), "\(prereq): \(r.stdout)\(r.stderr)")
                    } else {
                        #expect(r.status == 0, "\(prereq): \(r.stdout)\(r.stderr)")
                    }
                }
                // Refusals: unsigned, a key not allowed, a name not allowed, a name outside the zone.
                let unsigned = try await Self.nsupdate(
                    server.endpoint, "update add x.n.example.com 5 A 192.0.2.1", key: nil)
                #expect(unsigned.stderr.contains("NOTAUTH"), "\(unsigned.stderr)")
                let wrongKey = try await Self.nsupdate(
                    server.endpoint, "update add x.n.example.com 5 A 192.0.2.1", key: Self.other)
                #expect(wrongKey.stderr.contains("REFUSED"), "\(wrongKey.stderr)")
                let wrongName = try await Self.nsupdate(server.endpoint, "update add mail.example.com 5 A 192.0.2.1")
                #expect(wrongName.stderr.contains("REFUSED"), "\(wrongName.stderr)")
                let outside = try await Self.nsupdate(server.endpoint, "update add x.example.org 5 A 192.0.2.1")
                #expect(outside.status != 0, "\(outside.stderr)")
                #expect(try await Dig.query(server.endpoint, "x.n.example.com", "A").status == "NXDOMAIN")

                // knsupdate takes the backend out again: gone from the answers, no longer probed.
                let removed = try await Self.nsupdate(
                    server.endpoint, "update delete www.example.com A \(b)", tool: "knsupdate")
                #expect(removed.status == 0, "\(removed.stdout)\(removed.stderr)")
                let gone = try await Dig.query(server.endpoint, "www.example.com", "A")
                #expect(gone.addresses == [a], "the next answer sees the update: \(gone.addresses)")
                try await Poll.until("\(b) no longer probed") {
                    Admin.member(try await Admin.status(server.adminURL), b) == nil
                }
            }
        }
    }

    @Test(
        "kill -9 while updates stream in: a restarted server serves every acknowledged update; carousel zone sync writes them into the file"
    )
    func acknowledgedUpdatesSurviveKill9() async throws {
        let journalDir = try TempDir(prefix: "journal")
        defer { journalDir.remove() }
        let journal = journalDir.path("example.com.jnl")
        let zone = balancedZone("example.com.", addresses: ["192.0.2.1"])
        let config = Self.config(journal: journal)
        var acknowledged: [Int] = []
        try await withConfiguredCarousel(zones: ["example.com.zone": zone], config: config) { server in
            // 400 updates, one name each, sent one after another by nsupdate (each its own `send`).
            let dir = try TempDir(prefix: "nsupdate-stream")
            defer { dir.remove() }
            var script = "server 127.0.0.1 \(server.endpoint.port)\nzone example.com\n"
            for i in 0..<400 { script += "update add h\(i).n.example.com 60 A 192.0.2.\(i % 250 + 1)\nsend\n" }
            let file = try dir.write("script", script)
            let stream = try Spawned(
                executable: try Peers.require("nsupdate")[0], arguments: ["-d", "-y", Self.key, file],
                stdout: dir.url.appendingPathComponent("stdout"), stderr: dir.url.appendingPathComponent("stderr"))
            defer { stream.stop() }
            func replies() -> Int {
                // nsupdate -d prints each outgoing update's header too: count the replies (every
                // one NOERROR: a refusal would print "update failed").
                let text = ["stdout", "stderr"].map {
                    (try? String(contentsOf: dir.url.appendingPathComponent($0), encoding: .utf8)) ?? ""
                }.joined()
                return text.contains("update failed")
                    ? -1 : text.components(separatedBy: "Reply from update query:").count - 1
            }
            try await Poll.until("30 updates acknowledged") { replies() >= 30 || replies() < 0 }
            #expect(kill(server.pid, SIGKILL) == 0)
            _ = try await offload { server.process.wait(timeout: 10) }
            try await Task.sleep(for: .milliseconds(300))
            acknowledged = Array(0..<replies())
            report("update: \(acknowledged.count) updates acknowledged before SIGKILL")
        }
        #expect(acknowledged.count >= 30)
        // The same zone file and journal, a new process: every acknowledged name is there.
        try await withConfiguredCarousel(zones: ["example.com.zone": zone], config: config) { server in
            var missing: [Int] = []
            for i in acknowledged {
                let r = try await Dig.query(server.endpoint, "h\(i).n.example.com", "A")
                if r.addresses != ["192.0.2.\(i % 250 + 1)"] { missing.append(i) }
            }
            #expect(missing.isEmpty, "acknowledged but lost: \(missing)\n\(server.log)")
            #expect(server.logLines(containing: "updates replayed from the journal").count == 1, "\(server.log)")

            // carousel zone sync: the updates written into the zone file, the journal emptied, the
            // same answers after.
            let sync = try await Admin.cli(["zone", "sync", "example.com"], url: server.adminURL)
            #expect(sync.status == 0, "\(sync.stdout)\(sync.stderr)")
            let file = try String(contentsOfFile: server.zoneFile("example.com.zone"), encoding: .utf8)
            #expect(file.contains("h0.n.example.com.") && file.contains("carousel zone sync"), "\(file)")
            let size = (try FileManager.default.attributesOfItem(atPath: journal)[.size] as? Int) ?? -1
            #expect(size == 0, "the journal is empty after the sync")
            let r = try await Dig.query(server.endpoint, "h0.n.example.com", "A")
            #expect(r.addresses == ["192.0.2.1"], "\(r)")
        }
    }

    /// dnspython's update, as certbot-dns-rfc2136 sends it (TCP, TSIG hmac-sha256): prints the rcode.
    static let dnspython = #"""
        import sys, dns.update, dns.query, dns.tsigkeyring, dns.rcode
        port, secret, action, value = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
        keyring = dns.tsigkeyring.from_text({"xfr.": secret})
        u = dns.update.Update("example.com.", keyring=keyring, keyalgorithm="hmac-sha256")
        if action == "add":
            u.add("_acme-challenge.example.com.", 60, "TXT", value)
        else:
            u.delete("_acme-challenge.example.com.", "TXT", value)
        print(dns.rcode.to_text(dns.query.tcp(u, "127.0.0.1", port=port, timeout=5).rcode()))
        """#

    @Test(
        "dnspython (certbot's client) adds and deletes a challenge; an NSD secondary follows each update by IXFR; a file edit and an update meet and both stay"
    )
    func secondariesAndFileEdits() async throws {
        let journalDir = try TempDir(prefix: "journal")
        defer { journalDir.remove() }
        let nsdPort = try Ports.free()
        let zone = balancedZone("example.com.", serial: 10, addresses: ["192.0.2.1"])
        let config =
            Self.config(journal: journalDir.path("example.com.jnl"))
            + "\ntransfers:\n  - { zone: example.com, allow: [\"127.0.0.0/8\"], notify: [\"127.0.0.1:\(nsdPort)\"] }\n"
        try await withConfiguredCarousel(zones: ["example.com.zone": zone], config: config) { server in
            let nsd = try await TransferPeer.start(
                .nsd, port: nsdPort, zones: [.init(origin: "example.com", primary: server.endpoint)])
            defer { nsd.stop() }
            try await nsd.waitForZone("example.com")
            let script = try journalDir.write("update.py", Self.dnspython)
            func python(_ action: String, _ value: String) async throws -> String {
                let r = try await Command.run(
                    "/usr/bin/python3", [script, "\(server.endpoint.port)", TestKey.secret, action, value])
                return (r.stdout + r.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            func challenge(at endpoint: Endpoint) async throws -> [String] {
                try await Dig.query(endpoint, "_acme-challenge.example.com", "TXT").answer.map(\.rdata)
            }
            // Added: Carousel answers at once, NSD after its IXFR.
            #expect(try await python("add", "token-1") == "NOERROR")
            #expect(try await challenge(at: server.endpoint) == ["\"token-1\""])
            let added = ContinuousClock.now
            _ = try await Poll.dig(nsd.endpoint, ["_acme-challenge.example.com", "TXT"], limit: 10) {
                $0.answer.map(\.rdata) == ["\"token-1\""]
            }
            report("update: NSD served an update \(secs(Poll.seconds(since: added))) after its acknowledgement")
            #expect(server.logLines(containing: "type=IXFR zone=example.com.").count >= 1, "\(server.log)")

            // A file edit (a new record, a higher serial) while updates go on: both stay.
            let edited =
                balancedZone("example.com.", serial: 20, addresses: ["192.0.2.1"]) + "mail 300 IN A 192.0.2.25\n"
            try await FileEdit.write(edited, to: server.zoneFile("example.com.zone"), mode: .renameOver)
            #expect(try await python("add", "token-2") == "NOERROR")
            _ = try await Poll.dig(server.endpoint, ["mail.example.com", "A"]) { $0.addresses == ["192.0.2.25"] }
            #expect(Set(try await challenge(at: server.endpoint)) == ["\"token-1\"", "\"token-2\""])
            #expect(server.logLines(containing: "journaled updates stay applied on top").count >= 1, "\(server.log)")
            // Deleted: gone here and at NSD.
            #expect(try await python("delete", "token-1") == "NOERROR")
            _ = try await Poll.dig(nsd.endpoint, ["_acme-challenge.example.com", "TXT"], limit: 10) {
                $0.answer.map(\.rdata) == ["\"token-2\""]
            }
            _ = try await Poll.dig(nsd.endpoint, ["mail.example.com", "A"], limit: 10) {
                $0.addresses == ["192.0.2.25"]
            }
        }
    }
}
