// Zone transfers with real peers on loopback: NSD and Knot as secondaries of Carousel (AXFR,
// IXFR after an edit, NOTIFY), TSIG required and wrong keys refused, unknown clients refused,
// publish_health measured end to end, and Carousel as a secondary of NSD and Knot.

import Foundation
import Testing

@Suite("Zone transfers: NSD and Knot secondaries, TSIG, publish_health, Carousel as secondary", .serialized)
struct TransferTests {
    static let origin = "xfr.test."

    static func zone(serial: Int, addresses: [String], extra: String = "", timers: String = "3600 600 86400") -> String
    {
        var text = """
            $ORIGIN xfr.test.
            $TTL 300
            @ IN SOA ns1.xfr.test. hostmaster.xfr.test. \(serial) \(timers) 60
            @ IN NS ns1.xfr.test.
            ns1 IN A 127.0.0.1
            mail IN MX 10 mx.example.net.
            txt IN TXT "zone transfers"

            """
        for a in addresses { text += "www 60 IN A \(a)\n" }
        return text + extra
    }

    static func transfers(notify: UInt16?, tsig: Bool = false, allow: String = "127.0.0.1", publishHealth: Bool = false)
        -> String
    {
        var text = tsig ? TestKey.yaml : ""
        text += """
            transfers:
              - zone: xfr.test
                allow: ["\(allow)"]

            """
        if tsig { text += "    tsig: \(TestKey.name)\n" }
        if let notify { text += "    notify: [\"127.0.0.1:\(notify)\"]\n" }
        if publishHealth { text += "    publish_health: true\n" }
        return text
    }

    /// Runs `body`; an error carries both logs, so a failure on CI can be read.
    static func logged<T>(_ logs: @autoclosure () -> String, _ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch { throw HarnessError("\(error)\n--- logs ---\n\(logs())") }
    }

    /// The first entry of `transfers.secondary` in `/status`.
    static func secondaryStatus(_ carousel: ConfiguredCarousel) async throws -> [String: Any] {
        let status = try await Admin.status(carousel.adminURL)
        let transfers = try #require(status["transfers"] as? [String: Any], "\(status)")
        return try #require((transfers["secondary"] as? [[String: Any]])?.first, "\(transfers)")
    }

    /// Both secondaries, always: a missing one fails its case (`withPeer` requires it).
    static func peers() -> [TransferPeer.Kind] { [.nsd, .knot] }

    @Test("a secondary (NSD, Knot) gets the zone by AXFR, then an edit by NOTIFY and IXFR", arguments: peers())
    func secondaryFollowsEdits(kind: TransferPeer.Kind) async throws {
        let peerPort = try Ports.free()
        let v1 = ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
        try await withConfiguredCarousel(
            zones: ["xfr.test.zone": Self.zone(serial: 1, addresses: v1)], config: Self.transfers(notify: peerPort)
        ) { carousel in
            try await withPeer(kind, port: peerPort, zones: [.init(origin: Self.origin, primary: carousel.endpoint)]) {
                peer in
                try await peer.waitForZone(Self.origin)
                let first = try await Dig.query(peer.endpoint, "www.xfr.test", "A")
                #expect(Set(first.addresses) == Set(v1), "\(first)")
                let mx = try await Dig.query(peer.endpoint, "mail.xfr.test", "MX")
                #expect(mx.answer.map(\.rdata) == ["10 mx.example.net."], "\(mx)")
                #expect(carousel.log.contains("type=AXFR") || carousel.log.contains("IXFR"), "\(carousel.log)")

                // Edit: one address replaced, serial 2. The watcher reloads, Carousel NOTIFYs,
                // the secondary asks for IXFR and gets the diff.
                let v2 = ["192.0.2.1", "192.0.2.2", "192.0.2.4"]
                let edited = ContinuousClock.now
                _ = try carousel.dir.write("zones/xfr.test.zone", Self.zone(serial: 2, addresses: v2))
                let seen = try await Self.logged(carousel.log + peer.log) {
                    try await Poll.dig(peer.endpoint, ["www.xfr.test", "A"], since: edited, limit: 15) {
                        Set($0.addresses) == Set(v2)
                    }
                }
                report(
                    "\(kind): an edit at Carousel answered by the secondary \(secs(seen.seconds)) after the file was written"
                )
                #expect(try await peer.serial(Self.origin) == 2)
                #expect(try await carousel.waitForLog("NOTIFY answered"), "\(carousel.log)")
                #expect(carousel.log.contains("type=IXFR") && carousel.log.contains("rcode=0"), "\(carousel.log)")

                // /status shows the zone's serial, the versions kept for IXFR and the NOTIFY. The
                // secondary may transfer before its answer to the serial-2 NOTIFY reaches Carousel,
                // so wait for that answer to be recorded.
                try await Poll.until("the serial-2 NOTIFY answered in /status", limit: 10) {
                    let status = try await Admin.status(carousel.adminURL)
                    let zone = ((status["transfers"] as? [String: Any])?["primary"] as? [[String: Any]])?.first
                    let told = (zone?["notify"] as? [[String: Any]])?.first
                    return told?["serial"] as? Int == 2 && told?["result"] as? String != "sending"
                }
                let status = try await Admin.status(carousel.adminURL)
                let transfers = try #require(status["transfers"] as? [String: Any], "\(status)")
                let zone = try #require((transfers["primary"] as? [[String: Any]])?.first, "\(transfers)")
                #expect(zone["zone"] as? String == "xfr.test." && zone["serial"] as? Int == 2, "\(zone)")
                #expect(zone["versions"] as? Int == 1, "\(zone)")
                let told = try #require((zone["notify"] as? [[String: Any]])?.first, "\(zone)")
                #expect(told["address"] as? String == "127.0.0.1:\(peerPort)" && told["serial"] as? Int == 2, "\(told)")
                #expect(told["result"] as? String == "answered NOERROR", "\(told)")
                #expect((transfers["secondary"] as? [Any])?.isEmpty == true, "\(transfers)")
            }
        }
    }

    @Test("a newer version's NOTIFY ends the resending of the older one; /status keeps the newer result")
    func newerNotifySupersedes() async throws {
        let port = try Ports.free()
        // Serial 1 goes unanswered until serial 2 has come; from then on every NOTIFY is answered,
        // so a serial-1 resend that still came would be answered and would overwrite the result.
        let catcher = try NotifyCatcher(port: port) { serial, before in serial == 2 || before.contains(2) }
        defer { catcher.stop() }
        try await withConfiguredCarousel(
            zones: ["xfr.test.zone": Self.zone(serial: 1, addresses: ["192.0.2.1"])],
            config: Self.transfers(notify: port)
        ) { carousel in
            try await Poll.until("the serial-1 NOTIFY", limit: 10) { catcher.serials.contains(1) }
            _ = try carousel.dir.write("zones/xfr.test.zone", Self.zone(serial: 2, addresses: ["192.0.2.2"]))
            try await Poll.until("the serial-2 NOTIFY", limit: 10) { catcher.serials.contains(2) }
            // Serial 1 would be resent 0.5, 1.5 and 3.5 s after the first try.
            try await Task.sleep(for: .seconds(4))
            let serials = catcher.serials
            let firstTwo = try #require(serials.firstIndex(of: 2))
            #expect(!serials[firstTwo...].contains(1), "NOTIFYs received: \(serials)")
            #expect(serials.filter { $0 == 2 }.count == 1, "answered at once: \(serials)")
            let status = try await Admin.status(carousel.adminURL)
            let transfers = try #require(status["transfers"] as? [String: Any], "\(status)")
            let zone = try #require((transfers["primary"] as? [[String: Any]])?.first, "\(transfers)")
            let told = try #require((zone["notify"] as? [[String: Any]])?.first, "\(zone)")
            #expect(told["serial"] as? Int == 2 && told["result"] as? String == "answered NOERROR", "\(told)")
        }
    }

    @Test(
        "TSIG required: the keyed secondary transfers; no key, a wrong key and other clients are refused",
        arguments: peers(), ["hmac-sha256", "hmac-md5"])
    func tsigRequired(kind: TransferPeer.Kind, algorithm: String) async throws {
        try await TestKey.$algorithm.withValue(algorithm) { try await tsigRequired(kind: kind) }
    }

    func tsigRequired(kind: TransferPeer.Kind) async throws {
        let alg = TestKey.algorithm
        let peerPort = try Ports.free()
        // 4,000 more records: about 150 KB, so the transfer spans several messages, each signed.
        let bulk = (0..<4000).map { "h\($0) 300 IN A 10.\($0 / 65536).\($0 / 256 % 256).\($0 % 256)\n" }.joined()
        try await withConfiguredCarousel(
            zones: ["xfr.test.zone": Self.zone(serial: 7, addresses: ["192.0.2.1"], extra: bulk)],
            config: Self.transfers(notify: peerPort, tsig: true)
        ) { carousel in
            try await withPeer(
                kind, port: peerPort, zones: [.init(origin: Self.origin, primary: carousel.endpoint, key: true)]
            ) { peer in
                try await peer.waitForZone(Self.origin)
                #expect(try await peer.serial(Self.origin) == 7)
                let last = try await Dig.query(peer.endpoint, "h3999.xfr.test", "A")
                #expect(last.addresses == ["10.0.15.159"], "\(last)")
            }
            #expect(
                carousel.log.contains("messages=") && !carousel.log.contains("messages=1 rcode=0 type=AXFR"),
                "several messages\n\(carousel.log)")
            // dig with the right key: the whole zone, every message's TSIG checked by dig.
            let good = try await Dig.run(
                carousel.endpoint, ["-y", "\(alg):\(TestKey.name):\(TestKey.secret)", "xfr.test", "AXFR"])
            #expect(
                good.stdout.contains("www.xfr.test.") && !good.stdout.contains("failed"), "\(good.stdout)\(good.stderr)"
            )
            #expect(good.stdout.components(separatedBy: "\tSOA\t").count == 3, "SOA first and last\n\(good.stdout)")
            // No key: REFUSED, and the Extended DNS Error says which key is wanted. (kdig prints
            // only the rcode of a failed transfer.)
            let none = try await Dig.query(carousel.endpoint, "+comments", "xfr.test", "AXFR")
            #expect(none.status == "REFUSED" && !none.aa && none.answer.isEmpty, "\(none)")
            #expect(
                none.extendedErrors.map(\.code) == [18]
                    && none.extendedErrors.first?.text == "TSIG key \(TestKey.name). required",
                "\(none)")
            let noneKdig = try await Command.run(
                "kdig", ["@127.0.0.1", "-p", "\(carousel.endpoint.port)", "+edns", "xfr.test", "AXFR"])
            #expect((noneKdig.stdout + noneKdig.stderr).contains("'REFUSED'"), "\(noneKdig.stdout)\(noneKdig.stderr)")
            // A wrong secret: NOTAUTH with a BADSIG TSIG, which dig reports.
            let wrong = try await Dig.run(
                carousel.endpoint, ["-y", "\(alg):\(TestKey.name):\(TestKey.wrongSecret)", "xfr.test", "AXFR"])
            #expect(!wrong.stdout.contains("www.xfr.test."), "\(wrong.stdout)")
            let kdig = try await Command.run(
                "kdig",
                [
                    "@127.0.0.1", "-p", "\(carousel.endpoint.port)", "-y",
                    "\(alg):\(TestKey.name):\(TestKey.wrongSecret)", "xfr.test", "AXFR",
                ])
            #expect(
                kdig.stdout.contains("NOTAUTH") || kdig.stdout.contains("BADSIG") || kdig.stderr.contains("BADSIG"),
                "\(kdig.stdout)\(kdig.stderr)")
            // An unknown key name: BADKEY.
            let unknown = try await Command.run(
                "kdig",
                [
                    "@127.0.0.1", "-p", "\(carousel.endpoint.port)", "-y", "\(alg):nokey:\(TestKey.secret)",
                    "xfr.test", "AXFR",
                ])
            #expect(
                unknown.stdout.contains("BADKEY") || unknown.stderr.contains("BADKEY"),
                "\(unknown.stdout)\(unknown.stderr)")
            // A signed ordinary query is answered and signed (dig checks the response's TSIG).
            let soa = try await Dig.run(
                carousel.endpoint, ["-y", "\(alg):\(TestKey.name):\(TestKey.secret)", "xfr.test", "SOA"])
            #expect(
                soa.stdout.contains("NOERROR") && soa.stdout.contains("TSIG") && !soa.stdout.contains("failure"),
                "\(soa.stdout)")
        }
    }

    @Test("clients outside allow are refused, saying so; AXFR over UDP is NOTIMP, IXFR over UDP gets the SOA")
    func aclAndUDP() async throws {
        try await withConfiguredCarousel(
            zones: ["xfr.test.zone": Self.zone(serial: 3, addresses: ["192.0.2.1"])],
            config: Self.transfers(notify: nil, allow: "127.0.0.2/32")
        ) { carousel in
            let outsider = try await Dig.query(carousel.endpoint, "-b", "127.0.0.1", "+comments", "xfr.test", "AXFR")
            #expect(outsider.status == "REFUSED" && !outsider.aa && outsider.answer.isEmpty, "\(outsider)")
            #expect(
                outsider.extendedErrors.first.map { $0.code == 18 && $0.text == "not allowed from 127.0.0.1" } == true,
                "\(outsider)")
            let insider = try await Dig.run(carousel.endpoint, ["-b", "127.0.0.2", "xfr.test", "AXFR"])
            #expect(insider.stdout.contains("www.xfr.test."), "\(insider.stdout)")
            // RFC 5936 §4.2 defines no AXFR over UDP: NOTIMP, as NSD and Knot answer.
            let udpAXFR = try await UDP.exchange(RawQuery("xfr.test.", type: 252).bytes, with: carousel.endpoint)
            #expect(try udpAXFR.map { try RawMessage($0).rcode } == 4, "AXFR over UDP: NOTIMP")
            // dig prints an IXFR like an AXFR: record lines only.
            let udpIXFR = try await Dig.run(carousel.endpoint, ["-b", "127.0.0.2", "+notcp", "xfr.test", "IXFR=1"])
            #expect(udpIXFR.stdout.components(separatedBy: "\tSOA\t").count == 2, "the SOA alone\n\(udpIXFR.stdout)")
            #expect(!udpIXFR.stdout.contains("www.xfr.test."), "\(udpIXFR.stdout)")
            let upToDate = try await Dig.run(carousel.endpoint, ["-b", "127.0.0.2", "xfr.test", "IXFR=3"])
            #expect(upToDate.stdout.components(separatedBy: "\tSOA\t").count == 2, "one SOA\n\(upToDate.stdout)")
        }
    }

    @Test("AXFR sends the zone as loaded: a dead address stays, nothing rotates")
    func axfrIsTheZoneAsLoaded() async throws {
        try await withBackends { backends in
            let config =
                Self.transfers(notify: nil) + """
                    pools:
                      - name: www.xfr.test
                        ttl: 20
                        check: \(fastCheck(port: backends.port))
                    """
            try await withConfiguredCarousel(
                zones: ["xfr.test.zone": Self.zone(serial: 1, addresses: backends.addresses)], config: config
            ) { carousel in
                let victim = backends.addresses[3]
                try await backends.kill(victim)
                _ = try await Poll.dig(carousel.endpoint, ["www.xfr.test", "A"]) { !$0.addresses.contains(victim) }
                func www() async throws -> [String] {
                    let out = try await Dig.run(carousel.endpoint, ["xfr.test", "AXFR"]).stdout
                    return out.split(separator: "\n").compactMap { DigRecord(line: String($0)) }
                        .filter { $0.owner == "www.xfr.test." }.map(\.rdata)
                }
                let first = try await www()
                let second = try await www()
                #expect(first == backends.addresses, "all four, in zone file order")
                #expect(first == second, "not rotated")

                // A client that half-closes right after its request still gets the transfer,
                // then the connection closes (RFC 7766 §6.2.1).
                let script = """
                    import socket, struct, sys
                    q = bytes.fromhex("123400000001000000000000") + b"\\x03xfr\\x04test\\x00" + struct.pack(">HH", 252, 1)
                    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
                    s.sendall(struct.pack(">H", len(q)) + q)
                    s.shutdown(socket.SHUT_WR)
                    s.settimeout(5)
                    data = b""
                    while True:
                        d = s.recv(65535)
                        if not d: break
                        data += d
                    print(len(data))
                    """
                let halfClosed = try await Command.run("python3", ["-c", script, "\(carousel.endpoint.port)"])
                #expect(
                    (Int(halfClosed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 100,
                    "\(halfClosed.stdout)\(halfClosed.stderr)")
            }
        }
    }

    @Test("publish_health: a dead backend leaves the secondary's answers (measured)", arguments: peers())
    func publishHealthPropagates(kind: TransferPeer.Kind) async throws {
        try await withBackends { backends in
            let peerPort = try Ports.free()
            let config =
                Self.transfers(notify: peerPort, publishHealth: true) + """
                    pools:
                      - name: www.xfr.test
                        ttl: 20
                        check: \(fastCheck(port: backends.port))
                    """
            try await withConfiguredCarousel(
                zones: ["xfr.test.zone": Self.zone(serial: 1, addresses: backends.addresses)], config: config
            ) { carousel in
                try await withPeer(
                    kind, port: peerPort, zones: [.init(origin: Self.origin, primary: carousel.endpoint)]
                ) { peer in
                    try await peer.waitForZone(Self.origin)
                    let all = Set(backends.addresses)
                    _ = try await Poll.dig(peer.endpoint, ["www.xfr.test", "A"], limit: 10) { Set($0.addresses) == all }
                    let before = try await peer.serial(Self.origin) ?? 0
                    let victim = backends.addresses[1]
                    let killed = ContinuousClock.now
                    try await backends.kill(victim)
                    let atCarousel = try await Poll.dig(carousel.endpoint, ["www.xfr.test", "A"], since: killed) {
                        !$0.addresses.contains(victim)
                    }
                    let atPeer = try await Self.logged(carousel.log + peer.log) {
                        try await Poll.dig(peer.endpoint, ["www.xfr.test", "A"], since: killed) {
                            $0.status == "NOERROR" && !$0.addresses.contains(victim)
                        }
                    }
                    let lag = atPeer.seconds - atCarousel.seconds
                    report(
                        "publish_health: \(victim) left Carousel's answers \(secs(atCarousel.seconds)) and the \(kind) secondary's \(secs(atPeer.seconds)) after SIGKILL (\(secs(lag)) after Carousel)"
                    )
                    #expect(lag <= 3, "the secondary lagged \(lag) s\n\(carousel.log)\n\(peer.log)")
                    #expect(Set(atPeer.response.addresses) == all.subtracting([victim]))
                    let after = try await peer.serial(Self.origin) ?? 0
                    #expect(after > before, "serial bumped: \(before) → \(after)")

                    try await backends.restart(victim)
                    let restarted = ContinuousClock.now
                    let back = try await Poll.dig(peer.endpoint, ["www.xfr.test", "A"], since: restarted) {
                        Set($0.addresses) == all
                    }
                    report(
                        "publish_health: \(victim) back at the \(kind) secondary \(secs(back.seconds)) after it listened again"
                    )
                    #expect(carousel.log.contains("type=IXFR"), "\(carousel.log)")
                }
            }
        }
    }

    @Test(
        "Carousel as a secondary of NSD and Knot: AXFR at start, a NOTIFY-driven refresh, pools on top",
        arguments: peers())
    func carouselFollowsPrimary(kind: TransferPeer.Kind) async throws {
        try await withBackends { backends in
            let nsdPort = try Ports.free()
            let dir = try TempDir(prefix: "primary")
            defer { dir.remove() }
            let file = try dir.write("xfr.test.zone", Self.zone(serial: 10, addresses: backends.addresses))
            let config =
                TestKey.yaml + """
                    secondaries:
                      - zone: xfr.test
                        primary: "127.0.0.1:\(nsdPort)"
                        tsig: \(TestKey.name)
                    pools:
                      - name: www.xfr.test
                        ttl: 20
                        check: \(fastCheck(port: backends.port))
                    """
            // The primary must know Carousel's port for its NOTIFY: Carousel first (it retries the
            // primary until it answers), then the primary.
            try await withConfiguredCarousel(zones: [:], config: config) { carousel in
                let notifyTarget = carousel.endpoint
                try await withPeer(
                    kind, port: nsdPort,
                    zones: [.init(origin: Self.origin, file: file, key: true, notify: [notifyTarget])]
                ) { primary in
                    try await primary.waitForZone(Self.origin)
                    let loaded = try await Self.logged(carousel.log + primary.log) {
                        try await Poll.dig(carousel.endpoint, ["www.xfr.test", "A"], limit: 15) {
                            Set($0.addresses) == Set(backends.addresses)
                        }
                    }
                    #expect(loaded.response.aa, "\(loaded.response)")
                    #expect(carousel.log.contains("zone transferred"), "\(carousel.log)")

                    // Balancing on top: a dead backend leaves Carousel's answers.
                    let victim = backends.addresses[0]
                    let killed = ContinuousClock.now
                    try await backends.kill(victim)
                    let drop = try await Poll.dig(carousel.endpoint, ["www.xfr.test", "A"], since: killed) {
                        !$0.addresses.contains(victim)
                    }
                    report(
                        "secondary: \(victim) left Carousel's answers \(secs(drop.seconds)) after SIGKILL (zone from \(kind))"
                    )

                    // The primary's zone changes: it reloads the file and NOTIFYs Carousel.
                    let extra = "new 60 IN A 192.0.2.99\n"
                    _ = try dir.write(
                        "xfr.test.zone", Self.zone(serial: 11, addresses: backends.addresses, extra: extra))
                    let edited = ContinuousClock.now
                    try await primary.reload()
                    let seen = try await Self.logged(carousel.log + primary.log) {
                        try await Poll.dig(carousel.endpoint, ["new.xfr.test", "A"], since: edited, limit: 20) {
                            $0.addresses == ["192.0.2.99"]
                        }
                    }
                    report(
                        "secondary: an edit at the \(kind) primary answered by Carousel \(secs(seen.seconds)) after its reload"
                    )
                    if kind == .knot {
                        // Knot keeps the diff between zone file versions: the change came by IXFR.
                        #expect(carousel.log.contains("type=IXFR"), "\(carousel.log)")
                    }
                    #expect(try await carousel.waitForLog("NOTIFY received"), "\(carousel.log)")
                    let soa = try await Dig.query(carousel.endpoint, "xfr.test", "SOA")
                    #expect(soa.answer.first?.rdata.contains(" 11 ") == true, "\(soa)")
                }
            }
        }
    }

    @Test("a secondary zone's file: stores the copy; a restart serves it while the primary is down, until EXPIRE")
    func secondaryStoredCopy() async throws {
        let nsdPort = try Ports.free()
        let dir = try TempDir(prefix: "primary")
        defer { dir.remove() }
        // REFRESH 1 s, RETRY 1 s, EXPIRE 10 s.
        let zoneFile = try dir.write("xfr.test.zone", Self.zone(serial: 5, addresses: ["192.0.2.1"], timers: "1 1 10"))
        let stored = dir.path("stored/xfr.test.zone")
        try FileManager.default.createDirectory(atPath: dir.path("stored"), withIntermediateDirectories: true)
        let config = """
            secondaries:
              - zone: xfr.test
                primary: "127.0.0.1:\(nsdPort)"
                file: "\(stored)"
            """
        // First run: the zone comes by AXFR and is written to the file.
        try await withConfiguredCarousel(zones: [:], config: config) { carousel in
            let primary = try await TransferPeer.start(
                .nsd, port: nsdPort, zones: [.init(origin: Self.origin, file: zoneFile)])
            defer { primary.stop() }
            try await primary.waitForZone(Self.origin)
            _ = try await Self.logged(carousel.log) {
                try await Poll.dig(carousel.endpoint, ["www.xfr.test", "A"], limit: 15) {
                    $0.addresses == ["192.0.2.1"]
                }
            }
            try await Poll.until("the stored copy", limit: 5) { FileManager.default.fileExists(atPath: stored) }
            let zone = try await Self.secondaryStatus(carousel)
            #expect(zone["file"] as? String == stored && zone["file_error"] == nil, "\(zone)")
            // Each SOA check that confirms the serial (REFRESH 1 s) moves the file's time on, the
            // start of its EXPIRE; the content stays.
            func modified() throws -> Date {
                try #require(try FileManager.default.attributesOfItem(atPath: stored)[.modificationDate] as? Date)
            }
            let written = try modified()
            let content = try String(contentsOfFile: stored, encoding: .utf8)
            try await Poll.until("the file's time moved by a confirmation", limit: 5) {
                try modified().timeIntervalSince(written) >= 1
            }
            #expect(try String(contentsOfFile: stored, encoding: .utf8) == content)
        }
        // The file is an ordinary zone file: libldns's own reader takes it, with every record.
        let text = try String(contentsOfFile: stored, encoding: .utf8)
        #expect(text.contains("www.xfr.test.\t60\tIN\tA\t192.0.2.1"), "\(text)")
        #expect(text.contains("mail.xfr.test.\t300\tIN\tMX\t10 mx.example.net."), "\(text)")
        let checked = try await Command.run("ldns-read-zone", [stored])
        #expect(checked.status == 0 && checked.stdout.contains("192.0.2.1"), "\(checked.stderr)\n\(text)")

        // Restarted with the primary down: the stored copy is served at once.
        try await withConfiguredCarousel(zones: [:], config: config) { carousel in
            let first = try await Dig.query(carousel.endpoint, "www.xfr.test", "A")
            #expect(first.addresses == ["192.0.2.1"], "served from the file\n\(first)\n\(carousel.log)")
            let mx = try await Dig.query(carousel.endpoint, "mail.xfr.test", "MX")
            #expect(mx.answer.map(\.rdata) == ["10 mx.example.net."], "\(mx)")
            #expect(carousel.log.contains("serving the stored copy"), "\(carousel.log)")
            let zone = try await Self.secondaryStatus(carousel)
            #expect(zone["serial"] as? Int == 5, "\(zone)")
            // EXPIRE runs from the primary's last confirmation (the file's time), not from the restart.
            let written = try #require(
                try FileManager.default.attributesOfItem(atPath: stored)[.modificationDate] as? Date)
            let expires = (zone["expires_at"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) }
            #expect(
                expires.map { abs($0.timeIntervalSince(written.addingTimeInterval(10))) < 2 } == true,
                "expires \(String(describing: expires)), file written \(written)")
            _ = try await Self.logged(carousel.log) {
                try await Poll.dig(carousel.endpoint, ["www.xfr.test", "A"], limit: 15) { $0.status == "SERVFAIL" }
            }
        }
        // Restarted once more: the copy is past EXPIRE and not served.
        try await withConfiguredCarousel(zones: [:], config: config) { carousel in
            let late = try await Dig.query(carousel.endpoint, "www.xfr.test", "A")
            #expect(late.status == "SERVFAIL" && late.extendedErrors.first?.code == 24, "\(late)")
            #expect(late.extendedErrors.first?.text.hasPrefix("zone expired") == true, "\(late)")
            #expect(carousel.log.contains("past EXPIRE"), "\(carousel.log)")
        }
    }

    @Test(
        "a pulled zone over limits.zone_records is refused with the reason in /status; the limit raised, it comes; an unwritable file: is reported"
    )
    func secondaryRecordLimit() async throws {
        let nsdPort = try Ports.free()
        let dir = try TempDir(prefix: "primary")
        defer { dir.remove() }
        // Six records: SOA, NS, ns1 A, MX, TXT, one www A.
        let file = try dir.write("xfr.test.zone", Self.zone(serial: 3, addresses: ["192.0.2.1"], timers: "1 1 60"))
        let primary = try await TransferPeer.start(.nsd, port: nsdPort, zones: [.init(origin: Self.origin, file: file)])
        defer { primary.stop() }
        try await primary.waitForZone(Self.origin)
        let secondary = "secondaries:\n  - { zone: xfr.test, primary: \"127.0.0.1:\(nsdPort)\" }\n"
        try await withConfiguredCarousel(zones: [:], config: "limits: { zone_records: 5 }\n" + secondary) { carousel in
            try await Poll.until("the refusal in /status", limit: 15) {
                (try await Self.secondaryStatus(carousel)["error"] as? String)?.contains("limits.zone_records") == true
            }
            let zone = try await Self.secondaryStatus(carousel)
            #expect(zone["serial"] == nil, "\(zone)")
            // Configured but without a copy: SERVFAIL, as NSD and Knot answer, saying why (RFC 8914 §4.25).
            let answer = try await Dig.query(carousel.endpoint, "www.xfr.test", "A")
            #expect(answer.status == "SERVFAIL" && !answer.aa, "\(answer)")
            #expect(
                answer.extendedErrors.first.map {
                    $0.code == 24 && $0.text == "zone not transferred yet from 127.0.0.1:\(nsdPort)"
                } == true,
                "\(answer)")
        }
        // The limit raised, the zone comes. Its `file:` is in a directory that does not exist:
        // the zone is served from memory, and /status says why the file was not written.
        let unwritable = dir.path("missing/xfr.test.zone")
        let stored =
            "secondaries:\n  - { zone: xfr.test, primary: \"127.0.0.1:\(nsdPort)\", file: \"\(unwritable)\" }\n"
        try await withConfiguredCarousel(zones: [:], config: "limits: { zone_records: 6 }\n" + stored) { carousel in
            // Throws (and fails the test) when the zone does not come within 15 s.
            _ = try await Self.logged(carousel.log) {
                try await Poll.dig(carousel.endpoint, ["www.xfr.test", "A"], limit: 15) {
                    $0.addresses == ["192.0.2.1"]
                }
            }
            let zone = try await Self.secondaryStatus(carousel)
            #expect((zone["file_error"] as? String)?.hasPrefix("cannot write \(unwritable)") == true, "\(zone)")
        }
    }

    @Test("Carousel as a secondary keeps its last good copy while the primary is down, until EXPIRE")
    func secondaryExpires() async throws {
        let nsdPort = try Ports.free()
        let dir = try TempDir(prefix: "primary")
        defer { dir.remove() }
        // REFRESH 1 s, RETRY 1 s, EXPIRE 4 s.
        let file = try dir.write("xfr.test.zone", Self.zone(serial: 5, addresses: ["192.0.2.1"], timers: "1 1 4"))
        let config = """
            secondaries:
              - zone: xfr.test
                primary: "127.0.0.1:\(nsdPort)"
            """
        try await withConfiguredCarousel(zones: [:], config: config) { carousel in
            let primary = try await TransferPeer.start(
                .nsd, port: nsdPort, zones: [.init(origin: Self.origin, file: file)])
            do {
                try await primary.waitForZone(Self.origin)
                _ = try await Self.logged(carousel.log) {
                    try await Poll.dig(carousel.endpoint, ["www.xfr.test", "A"], limit: 15) {
                        $0.addresses == ["192.0.2.1"]
                    }
                }
                primary.stop()
            } catch {
                primary.stop()
                throw error
            }
            let stopped = ContinuousClock.now
            try await Task.sleep(for: .seconds(2))
            let during = try await Dig.query(carousel.endpoint, "www.xfr.test", "A")
            #expect(during.addresses == ["192.0.2.1"], "the last good copy still serves\n\(during)")
            // /status: the copy's serial and when it expires.
            let zone = try await Self.secondaryStatus(carousel)
            #expect(zone["zone"] as? String == "xfr.test." && zone["serial"] as? Int == 5, "\(zone)")
            #expect(zone["primary"] as? String == "127.0.0.1:\(nsdPort)", "\(zone)")
            #expect(zone["last_transfer_type"] as? String == "AXFR" && zone["records"] as? Int != nil, "\(zone)")
            let expires = (zone["expires_at"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) }
            #expect(expires.map { $0 > Date() && $0 < Date().addingTimeInterval(5) } == true, "\(zone)")
            let gone = try await Self.logged(carousel.log) {
                try await Poll.dig(carousel.endpoint, ["www.xfr.test", "A"], since: stopped, limit: 15) {
                    $0.status == "SERVFAIL"
                }
            }
            #expect(
                gone.response.extendedErrors.first.map {
                    $0.code == 24
                        && $0.text == "zone expired: no answer from 127.0.0.1:\(nsdPort) within the SOA's EXPIRE"
                } == true, "\(gone.response)")
            let kdig = try await Dig.kdig(carousel.endpoint, ["+edns", "www.xfr.test", "A"])
            #expect(
                kdig.last?.status == "SERVFAIL" && kdig.last?.extendedErrors.first?.code == 24, "\(kdig.map(\.text))")
            report("secondary: zone dropped \(secs(gone.seconds)) after the primary stopped (EXPIRE 4 s)")
            #expect(gone.seconds >= 4, "not before EXPIRE")
            #expect(carousel.log.contains("expired"), "\(carousel.log)")
            let expired = try await Self.secondaryStatus(carousel)
            #expect(expired["serial"] == nil && expired["expires_at"] == nil, "no copy served: \(expired)")
            #expect(expired["error"] as? String != nil, "the failed checks: \(expired)")
        }
    }

    @Test("carousel check lists every transfer config error as file:line")
    func checkCommand() async throws {
        let dir = try TempDir(prefix: "xfrcheck")
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.path("zones"), withIntermediateDirectories: true)
        _ = try dir.write("zones/xfr.test.zone", Self.zone(serial: 1, addresses: ["192.0.2.1"]))
        let config = try dir.write(
            "carousel.yaml",
            """
            zones: zones
            tsig_keys:
              - { name: xfr, algorithm: hmac-sha224, secret: "c2VjcmV0" }
            transfers:
              - zone: xfr.test
                allow: ["127.0.0.1", "not-an-address"]
                tsig: other
              - zone: nope.test
                allow: ["127.0.0.1"]
            """)
        let result = try await Command.run(CarouselServer.binary, ["check", "--config", config])
        #expect(result.status == 1)
        for line in [
            "carousel.yaml:3: tsig_keys[0].algorithm: \"hmac-sha224\" is not one of",
            "carousel.yaml:6: transfers[0].allow: \"not-an-address\" is not an address or prefix",
            "carousel.yaml:7: transfers[0].tsig: no key named other in tsig_keys",
        ] {
            #expect(result.stderr.contains(line), "missing \(line)\n\(result.stderr)")
        }
        // The config is valid once fixed, but a transferred zone must be served.
        _ = try dir.write(
            "carousel.yaml",
            """
            zones: zones
            transfers:
              - { zone: xfr.test, allow: ["127.0.0.1"] }
              - { zone: nope.test, allow: ["127.0.0.1"] }
            """)
        let second = try await Command.run(CarouselServer.binary, ["check", "--config", config])
        #expect(second.status == 1)
        #expect(
            second.stderr.contains("carousel.yaml:4: transfers: no zone file or secondaries entry serves nope.test"),
            "\(second.stderr)")
    }
}
