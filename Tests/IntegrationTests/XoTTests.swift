// Zone transfers over TLS (XoT, RFC 9103) with the peers operators run: BIND 9.18 and NSD 4.6
// pull from Carousel over TLS (their certificate checks strict: CA and name), BIND 9.18 serves
// Carousel over TLS (name, pin, and a wrong name that must fail in /status), kdig verifies what
// Carousel presents, a renewed certificate is presented without a restart, and what must not
// work does not: plain TCP on the TLS port, a transfer without ALPN "dot", a key readable by others.

import Foundation
import Testing

@Suite("Zone transfers over TLS: BIND 9.18 and NSD 4.6 both ways, kdig, certificate reload", .serialized)
struct XoTTests {
    static let secret = TestKey.secret

    /// Carousel's side as a primary: `example.net` over a pool checked on `checkPort` (127.0.0.1
    /// answers on Carousel's own port, 127.0.0.2 nowhere), TSIG required, NOTIFY to both peers.
    static func primaryConfig(tls: String, notify: [UInt16], checkPort: UInt16 = 9) -> String {
        """
        \(TestKey.yaml)
        \(tls)
        pools:
          - { name: www.example.net, ttl: 5, check: { type: tcp, port: \(checkPort), interval: 1s, timeout: 500ms, rise: 1, fall: 1 } }
        transfers:
          - { zone: example.net, allow: ["127.0.0.0/8"], tsig: xfr, publish_health: true, notify: [\(notify.map { "\"127.0.0.1:\($0)\"" }.joined(separator: ", "))] }
        """
    }

    static func tlsBlock(port: UInt16, _ credentials: (certificate: String, key: String)) -> String {
        "tls: { listen: [\"127.0.0.1:\(port)\"], certificate: \"\(credentials.certificate)\", key: \"\(credentials.key)\" }"
    }

    static func bindSecondary(port: UInt16, primary: UInt16, ca: String, dir: TempDir) -> String {
        """
        options {
            directory "\(dir.url.path)";
            pid-file "\(dir.path("named.pid"))";
            listen-on port \(port) { 127.0.0.1; };
            listen-on-v6 { none; };
            recursion no;
            notify no;
        };
        controls { };
        key xfr { algorithm hmac-sha256; secret "\(secret)"; };
        tls carousel { ca-file "\(ca)"; remote-hostname "ns.carousel.test"; };
        zone "example.net" {
            type secondary;
            primaries { 127.0.0.1 port \(primary) key xfr tls carousel; };
            file "example.net.db";
            allow-notify { 127.0.0.0/8; };
        };

        """
    }

    /// One DNS message over TLS from Python's ssl module, offering `alpn` (none: no ALPN at all);
    /// prints the reply's rcode and answer count.
    static let tlsClient = #"""
        import socket, ssl, struct, sys
        port, ca, name, qtype, alpn = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
        ctx = ssl.create_default_context(cafile=ca)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        if alpn != "none":
            ctx.set_alpn_protocols([alpn])
        q = struct.pack(">HHHHHH", 0x1234, 0, 1, 0, 0, 0)
        q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".") if l) + b"\0" + struct.pack(">HH", qtype, 1)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="ns.carousel.test") as s:
                s.sendall(struct.pack(">H", len(q)) + q)
                head = b""
                while len(head) < 2:
                    head += s.recv(2 - len(head))
                n = struct.unpack(">H", head)[0]
                body = b""
                while len(body) < n:
                    body += s.recv(n - len(body))
                print("alpn", s.selected_alpn_protocol(), "rcode", body[3] & 15, "answers", struct.unpack(">H", body[6:8])[0])
        """#

    @Test(
        "Carousel as an XoT primary: kdig verifies it and transfers; BIND and NSD pull over TLS and follow a publish_health version; plain TCP and TLS without ALPN dot get no zone"
    )
    func primary() async throws {
        let pki = try await TestPKI()
        defer { pki.remove() }
        let credentials = try await pki.issue("ns.carousel.test")
        let (tlsPort, bindPort, nsdPort) = (try Ports.free(), try Ports.free(), try Ports.free())
        let tls = Self.tlsBlock(port: tlsPort, credentials)
        let zones = ["example.net.zone": balancedZone("example.net.", addresses: ["127.0.0.1", "127.0.0.2"])]
        try await withConfiguredCarousel(
            zones: zones, config: Self.primaryConfig(tls: tls, notify: [bindPort, nsdPort])
        ) { server in
            let tlsEndpoint = Endpoint(host: "127.0.0.1", port: tlsPort)
            let key = "hmac-sha256:xfr:\(Self.secret)"
            let verified = ["+tls-ca=\(pki.ca)", "+tls-hostname=ns.carousel.test"]
            // kdig, checking the chain and the name, transfers with the key and asks a question.
            let axfr = try await Command.run(
                "kdig", ["@127.0.0.1", "-p", "\(tlsPort)", "-y", key] + verified + ["example.net", "AXFR"])
            #expect(axfr.status == 0 && axfr.stdout.contains("SOA"), "\(axfr.stdout)\(axfr.stderr)")
            // kdig checks the name: another name fails the handshake (kdig 3.2 prints TLS sessions as TCP).
            let other = try await Command.run(
                "kdig",
                ["@127.0.0.1", "-p", "\(tlsPort)", "-y", key, "+tls-ca=\(pki.ca)", "+tls-hostname=ns.other.test"]
                    + ["example.net", "AXFR"])
            #expect(!other.stdout.contains("IN\tSOA"), "\(other.stdout)")
            let query = try await Dig.kdig(tlsEndpoint, verified + ["www.example.net", "A"])
            #expect(Set(query.last?.addresses ?? []) == ["127.0.0.1", "127.0.0.2"], "\(query)")
            // Without the key: refused, as over TCP.
            let unsigned = try await Command.run(
                "kdig", ["@127.0.0.1", "-p", "\(tlsPort)"] + verified + ["example.net", "AXFR"])
            #expect(!unsigned.stdout.contains("IN\tSOA"), "\(unsigned.stdout)")
            // A plain-TCP client on the TLS port gets no zone (its bytes are not a TLS handshake).
            let plain = try await Command.run(
                "dig",
                ["@127.0.0.1", "-p", "\(tlsPort)", "+tcp", "+tries=1", "+time=2", "-y", key, "example.net", "AXFR"])
            #expect(!plain.stdout.contains("IN\tSOA"), "\(plain.stdout)")
            // TLS without ALPN "dot": queries are answered (RFC 7858), transfers refused (RFC 9103 §7.1).
            let dir = try TempDir(prefix: "xot-client")
            defer { dir.remove() }
            let client = try dir.write("client.py", Self.tlsClient)
            func ask(_ name: String, _ type: Int, alpn: String) async throws -> String {
                let r = try await Command.run("python3", [client, "\(tlsPort)", pki.ca, name, "\(type)", alpn])
                return (r.stdout + r.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            #expect(try await ask("www.example.net", 1, alpn: "none") == "alpn None rcode 0 answers 2")
            #expect(try await ask("example.net", 252, alpn: "none") == "alpn None rcode 5 answers 0")
            #expect(try await server.waitForLog("zone transfer refused: TLS without ALPN"))
            // With "dot" the same unsigned AXFR passes the gate and meets the transfer rules (the key
            // is required: REFUSED too, but logged as a transfer, not as a missing ALPN).
            let refusedByRules = server.logLines(containing: "rcode=5 type=AXFR").count
            #expect(try await ask("example.net", 252, alpn: "dot") == "alpn dot rcode 5 answers 0")
            try await Poll.until("the transfer rules' refusal in the log", limit: 5) {
                server.logLines(containing: "rcode=5 type=AXFR").count == refusedByRules + 1
            }
            #expect(server.logLines(containing: "TLS without ALPN").count == 1, "\(server.log)")

            // BIND 9.18 and NSD 4.6 as secondaries pulling over TLS only (their primary is the TLS port).
            let bind = try await NamedProcess(prefix: "xot-bind") {
                Self.bindSecondary(port: bindPort, primary: tlsPort, ca: pki.ca, dir: $0)
            }
            defer { bind.stop() }
            let primary = Endpoint(host: "127.0.0.1", port: tlsPort)
            let nsd = try await TransferPeer.start(
                .nsd, port: nsdPort,
                zones: [.init(origin: "example.net", primary: primary, key: true, tlsName: "ns.carousel.test")],
                tlsCA: pki.ca)
            defer { nsd.stop() }
            let peers = [
                ("BIND", Endpoint(host: "127.0.0.1", port: bindPort), { bind.log }),
                ("NSD", nsd.endpoint, { nsd.log }),
            ]
            func logs() -> String {
                peers.map { name, _, log in "--- \(name):\n" + log() }.joined(separator: "\n")
                    + "\n--- Carousel:\n\(server.log)"
            }
            for (name, endpoint, _) in peers {
                let t = try await CatalogTests.wait(endpoint, "example.net", served: true, limit: 20)
                #expect(t != nil, "\(name) never served example.net over TLS\n\(logs())")
            }
            // A new version (127.0.0.2 down): NOTIFY over UDP, each pulls it over TLS.
            try await server.rewriteConfig(
                Self.primaryConfig(tls: tls, notify: [bindPort, nsdPort], checkPort: server.endpoint.port))
            let changed = ContinuousClock.now
            for (name, endpoint, _) in peers {
                var www: [String] = []
                while Poll.seconds(since: changed) < 10 {
                    www = try await Dig.query(endpoint, "www.example.net", "A").addresses.sorted()
                    if www == ["127.0.0.1"] { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(www == ["127.0.0.1"], "\(name): www.example.net \(www) 10 s after the change\n\(logs())")
                report("xot: \(name) served the new version \(secs(Poll.seconds(since: changed))) after the change")
            }
            let transfers = server.logLines(containing: "zone transfer").filter { $0.contains("example.net") }
            #expect(transfers.count >= 4, "two transfers each:\n\(transfers.joined(separator: "\n"))")
        }
    }

    static let bindZones = ["example.org", "example.edu", "example.info", "example.biz"]

    /// BIND 9.18 as an XoT primary of three zones, each transferable over its TLS port only.
    /// `notify`: Carousel's port, told of every new version (signed with the key).
    static func bindPrimary(
        port: UInt16, tls: UInt16, credentials: (certificate: String, key: String), dir: TempDir, notify: UInt16? = nil
    ) -> String {
        let notifying = notify.map { "notify explicit; also-notify { 127.0.0.1 port \($0) key xfr; };" } ?? "notify no;"
        var text = """
            options {
                directory "\(dir.url.path)";
                pid-file "\(dir.path("named.pid"))";
                listen-on port \(port) { 127.0.0.1; };
                listen-on port \(tls) tls local { 127.0.0.1; };
                listen-on-v6 { none; };
                recursion no;
                ixfr-from-differences yes;
                \(notifying)
            };
            controls { };
            key xfr { algorithm hmac-sha256; secret "\(secret)"; };
            tls local { key-file "\(credentials.key)"; cert-file "\(credentials.certificate)"; };

            """
        for zone in Self.bindZones {
            text += """
                zone "\(zone)" {
                    type primary;
                    file "\(dir.path(zone + ".zone"))";
                    allow-transfer port \(tls) transport tls { key xfr; };
                };

                """
        }
        return text
    }

    @Test(
        "Carousel as an XoT secondary of BIND 9.18: pulls with the name verified or the key pinned; a wrong name fails with a clear line in /status"
    )
    func secondary() async throws {
        let pki = try await TestPKI()
        defer { pki.remove() }
        let bindCredentials = try await pki.issue("ns.bind.test")
        let pin = try await pki.pin(bindCredentials.certificate)
        let otherPin = try await pki.pin(pki.ca)
        let (bindPort, bindTLS) = (try Ports.free(), try Ports.free())
        var files: [String: String] = [:]
        for zone in Self.bindZones {
            files[zone + ".zone"] = balancedZone(zone + ".", serial: 7, addresses: ["192.0.2.7"])
        }
        let bind = try await NamedProcess(prefix: "xot-bind-primary", files: files) {
            Self.bindPrimary(port: bindPort, tls: bindTLS, credentials: bindCredentials, dir: $0)
        }
        defer { bind.stop() }
        _ = try await Poll.dig(Endpoint(host: "127.0.0.1", port: bindPort), ["example.org", "SOA"]) {
            $0.status == "NOERROR"
        }
        let primary = "127.0.0.1:\(bindTLS)"
        let config = """
            \(TestKey.yaml)
            secondaries:
              - { zone: example.org, primary: "\(primary)", tsig: xfr, tls: { verify_name: ns.bind.test, ca: "\(pki.ca)" } }
              - { zone: example.edu, primary: "\(primary)", tsig: xfr, tls: { pin_sha256: "\(pin)" } }
              - { zone: example.info, primary: "\(primary)", tsig: xfr, tls: { verify_name: ns.wrong.test, ca: "\(pki.ca)" } }
              - { zone: example.biz, primary: "\(primary)", tsig: xfr, tls: { pin_sha256: "\(otherPin)" } }
            """
        try await withConfiguredCarousel(zones: [:], config: config) { server in
            for zone in ["example.org", "example.edu"] {
                let t = try await CatalogTests.wait(server.endpoint, zone, served: true, limit: 20)
                #expect(t != nil, "\(zone) never pulled over TLS\n\(server.log)\n--- BIND:\n\(bind.log)")
            }
            let www = try await Dig.query(server.endpoint, "www.example.edu", "A")
            #expect(www.addresses == ["192.0.2.7"], "\(www)")
            // The wrong name: not served, and /status says why in a line an operator can act on.
            func error(_ zone: String) async throws -> String {
                let deadline = ContinuousClock.now + .seconds(20)
                while ContinuousClock.now < deadline {
                    let status = try await Admin.status(server.adminURL)
                    let secondaries = (status["transfers"] as? [String: Any])?["secondary"] as? [[String: Any]] ?? []
                    let error = secondaries.first { $0["zone"] as? String == zone }?["error"] as? String ?? ""
                    if !error.isEmpty { return error }
                    try await Task.sleep(for: .milliseconds(100))
                }
                return ""
            }
            let wrongName = try await error("example.info.")
            #expect(
                wrongName == "TLS: the certificate of \(primary) is not valid for verify_name ns.wrong.test",
                "\(wrongName)\n\(server.log)")
            let wrongPin = try await error("example.biz.")
            #expect(wrongPin == "TLS: the key of \(primary) is not pinned (its pin_sha256 is \(pin))", "\(wrongPin)")
            for zone in ["example.info", "example.biz"] {
                #expect(try await Dig.query(server.endpoint, zone, "SOA").status != "NOERROR")
            }

            // A new version at BIND, NOTIFYed to Carousel: the SOA check and the IXFR go over TLS.
            let edited = ContinuousClock.now
            try bind.reload(files: [
                "example.org.zone": balancedZone("example.org.", serial: 8, addresses: ["192.0.2.8"])
            ]) {
                Self.bindPrimary(
                    port: bindPort, tls: bindTLS, credentials: bindCredentials, dir: $0, notify: server.endpoint.port)
            }
            do {
                _ = try await Poll.dig(server.endpoint, ["www.example.org", "A"], limit: 10) {
                    $0.addresses == ["192.0.2.8"]
                }
            } catch {
                throw HarnessError("\(error)\n\(server.log)\n--- BIND:\n\(bind.log)")
            }
            report("xot: Carousel served BIND's new version \(secs(Poll.seconds(since: edited))) after BIND's reload")
            // Carousel asked IXFR (BIND 9.18 answers such a small zone's diff AXFR-style).
            #expect(bind.log.contains("transfer of 'example.org/IN': AXFR-style IXFR started"), "\(bind.log)")
        }
    }

    @Test(
        "a renewed certificate is presented without a restart; a broken one is reported and the last good one stays; carousel check refuses a key others can read"
    )
    func certificateReload() async throws {
        let pki = try await TestPKI()
        defer { pki.remove() }
        let first = try await pki.issue("ns.carousel.test", file: "live")
        let tlsPort = try Ports.free()
        let zones = ["example.net.zone": balancedZone("example.net.", addresses: ["192.0.2.1"])]
        try await withConfiguredCarousel(zones: zones, config: Self.tlsBlock(port: tlsPort, first)) { server in
            let endpoint = Endpoint(host: "127.0.0.1", port: tlsPort)
            func answers(_ name: String) async throws -> Bool {
                let r = try await Dig.kdig(
                    endpoint, ["+tls-ca=\(pki.ca)", "+tls-hostname=\(name)", "www.example.net", "A"])
                return r.last?.addresses == ["192.0.2.1"]
            }
            #expect(try await answers("ns.carousel.test"))
            #expect(try await !answers("ns.renewed.test"))
            // Renewed under another name, written as certbot does (new files renamed over the old).
            let renewed = try await pki.issue("ns.renewed.test", file: "next")
            #expect(rename(renewed.key, first.key) == 0 && rename(renewed.certificate, first.certificate) == 0)
            let start = ContinuousClock.now
            try await Poll.until("the renewed certificate presented", limit: 5) { try await answers("ns.renewed.test") }
            report("tls: a renewed certificate presented \(secs(Poll.seconds(since: start))) after the rename")
            #expect(try await server.waitForLog("TLS certificate reloaded"))
            // A broken renewal: reported in /status with the config's line, the renewed one stays.
            _ = try pki.dir.write("broken.pem", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
            #expect(rename(pki.dir.path("broken.pem"), first.certificate) == 0)
            try await Poll.until("the broken certificate in /status", limit: 5) {
                let errors = try await Admin.status(server.adminURL)["errors"] as? [String] ?? []
                return errors.contains {
                    $0.contains("carousel.yaml:") && $0.contains("tls.certificate: \(first.certificate)")
                }
            }
            #expect(try await answers("ns.renewed.test"))
        }
        // carousel check: a key readable by others is refused with the config's file and line.
        let dir = try TempDir(prefix: "xot-check")
        defer { dir.remove() }
        let loose = try await pki.issue("ns.carousel.test", file: "loose")
        #expect(chmod(loose.key, 0o644) == 0)
        _ = try dir.write("example.net.zone", balancedZone("example.net.", addresses: ["192.0.2.1"]))
        let file = try dir.write(
            "carousel.yaml", "zones: \"\(dir.path("example.net.zone"))\"\n" + Self.tlsBlock(port: 853, loose) + "\n")
        let r = try await Command.run(CarouselServer.binary, ["check", "--config", file])
        #expect(r.status != 0)
        #expect(
            (r.stdout + r.stderr).contains(
                "carousel.yaml:2: tls.key: \(loose.key) is readable by group or others (mode 644): chmod 600 it"),
            "\(r.stdout)\(r.stderr)")
    }
}
