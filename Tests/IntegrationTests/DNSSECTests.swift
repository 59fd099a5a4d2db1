// DNSSEC judged by validators, not by our own reading of the bytes: Unbound validating from the
// zone's DS (made by BIND's dnssec-dsfromkey from the key file), delv's "fully validated", kdig
// showing the RRSIGs; through failover, drains, a standby tier and a sticky pool.

import Foundation
import Testing

@Suite("DNSSEC: online signing, validated by Unbound and delv through every change of health", .serialized)
struct DNSSECIntegrationTests {
    static let ttl = 4

    /// A zone with every answer shape: balanced names, a CNAME into a pool, a DNAME onto the
    /// zone, a wildcard, an MX, a NAPTR and an RT whose names are in upper case (the canonical form
    /// lower-cases them, RFC 4034 §6.2), an insecure delegation with glue, and `a\000` beside
    /// `c.a` (canonical order puts every name under `a` before `a\000`, RFC 4034 §6.1).
    static func zone(www: [String], app: [String], geo: [String]) -> String {
        var text = """
            $ORIGIN example.net.
            $TTL 300
            @ IN SOA ns1 hostmaster 1 3600 600 1209600 60
            @ IN NS ns1
            ns1 IN A 127.0.0.1
            alias IN CNAME www
            legacy IN DNAME example.net.
            *.wild IN TXT "wildcard"
            mail IN MX 10 mail
            mail IN A 127.0.0.1
            sip IN NAPTR 100 10 "S" "SIP+D2U" "" _SIP._UDP.Mail.Example.NET.
            relay IN RT 10 Mail.Example.NET.
            a IN TXT "a"
            c.a IN TXT "under a"
            a\\000 IN TXT "a and a zero byte"
            insecure IN NS ns.insecure
            ns.insecure IN A 127.0.0.1

            """
        for a in www { text += "www 60 IN A \(a)\n" }
        for a in app { text += "app 60 IN A \(a)\n" }
        for a in geo { text += "geo 60 IN A \(a)\n" }
        return text
    }

    static func config(_ b: Backends, keys: String) -> String {
        let q = b.addresses.map { "\"\($0)\"" }
        return """
            pools:
              - name: www.example.net
                ttl: \(ttl)
                check: \(fastCheck(port: b.port))
              - name: app.example.net
                ttl: \(ttl * 2)
                check: \(fastCheck(port: b.port))
                tiers:
                  - { members: [\(q[3]), \(q[4])], min_up: 1 }
                  - { members: [\(q[5])] }
              - name: geo.example.net
                ttl: \(ttl)
                order: sticky
                max_answers: 1
                check: \(fastCheck(port: b.port))
            dnssec:
              - zone: example.net
                keys: \(keys)
            """
    }

    /// Carousel serving the zone over `b`'s backends with `config`, once all of www answers.
    static func serve(_ b: Backends, config: String, _ body: (ConfiguredCarousel) async throws -> Void) async throws {
        let a = b.addresses
        let zone = zone(www: Array(a[0..<3]), app: Array(a[3..<6]), geo: Array(a[6..<9]))
        try await withConfiguredCarousel(zones: ["example.net.zone": zone], config: config) { carousel in
            _ = try await Poll.dig(carousel.endpoint, ["www.example.net", "A"]) { $0.addresses.count == 3 }
            try await body(carousel)
        }
    }

    /// Keys made by `carousel dnssec keygen` in a temporary directory; the DS as BIND's
    /// `dnssec-dsfromkey` reads it from the key file (an independent reader of our files).
    static func keygen(_ dir: TempDir, algorithm: String = "ecdsap256sha256") async throws -> (keys: String, ds: String)
    {
        let keys = dir.path("keys")
        let made = try await Command.run(
            CarouselServer.binary, ["dnssec", "keygen", "example.net", "--dir", keys, "--algorithm", algorithm])
        #expect(made.status == 0, "\(made.stderr)")
        let file = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let ds = try await Command.run("dnssec-dsfromkey", ["-2", file])
        #expect(ds.status == 0, "dnssec-dsfromkey reads the key file\n\(ds.stderr)")
        return (keys, anchor(ds.stdout))
    }

    /// `example.net. IN DS 1 13 2 AB…` → `example.net. DS 1 13 2 AB…` (Unbound's trust-anchor form).
    static func anchor(_ line: String) -> String {
        line.split(separator: "\n").first.map { $0.replacingOccurrences(of: " IN DS ", with: " DS ") } ?? ""
    }

    /// One query through the validating resolver.
    static func validated(_ unbound: UnboundResolver, _ name: String, _ type: String) async throws -> DigResponse {
        try await Dig.query(unbound.endpoint, name, type, "+dnssec")
    }

    @Test(
        "Unbound validates (AD=1) the apex, pools, a CNAME, a DNAME, a wildcard, upper-case NAPTR and RT targets, NXDOMAIN, NODATA and an insecure delegation; delv agrees"
    )
    func validatedAnswers() async throws {
        try await withBackends(9) { b in
            let tmp = try TempDir(prefix: "dnssec")
            defer { tmp.remove() }
            let (keys, ds) = try await Self.keygen(tmp)
            try await Self.serve(b, config: Self.config(b, keys: keys)) { carousel in
                let direct = try await Dig.kdig(carousel.endpoint, ["+dnssec", "www.example.net", "A"])
                let rrsigs = direct.last?.answer.filter { $0.type == "RRSIG" } ?? []
                #expect(rrsigs.count == 1 && rrsigs[0].rdata.hasPrefix("A 13 3 \(Self.ttl) "), "\(direct)")
                let unsigned = try await Dig.query(carousel.endpoint, "www.example.net", "A")
                #expect(unsigned.answer.allSatisfy { $0.type == "A" }, "DO=0: no RRSIG\n\(unsigned)")

                try await withUnbound(zone: "example.net.", authority: carousel.endpoint, trustAnchor: ds) { unbound in
                    let cases: [(String, String, String, (DigResponse) -> Bool)] = [
                        ("example.net", "SOA", "NOERROR", { $0.answer.contains { $0.type == "SOA" } }),
                        ("example.net", "DNSKEY", "NOERROR", { $0.answer.contains { $0.type == "DNSKEY" } }),
                        ("www.example.net", "A", "NOERROR", { $0.addresses.count == 3 }),
                        ("alias.example.net", "A", "NOERROR", { $0.addresses.count == 3 }),
                        ("www.legacy.example.net", "A", "NOERROR", { $0.addresses.count == 3 }),
                        ("x.wild.example.net", "TXT", "NOERROR", { $0.answer.contains { $0.rdata == "\"wildcard\"" } }),
                        ("mail.example.net", "MX", "NOERROR", { $0.answer.contains { $0.type == "MX" } }),
                        ("sip.example.net", "NAPTR", "NOERROR", { $0.answer.contains { $0.type == "NAPTR" } }),
                        ("relay.example.net", "RT", "NOERROR", { $0.answer.contains { $0.type == "RT" } }),
                        ("a\\000.example.net", "TXT", "NOERROR", { $0.answer.contains { $0.type == "TXT" } }),
                        ("c.a.example.net", "TXT", "NOERROR", { $0.answer.contains { $0.type == "TXT" } }),
                        ("d.a.example.net", "TXT", "NOERROR", { $0.answer.isEmpty }),
                        ("x.a\\000.example.net", "TXT", "NOERROR", { $0.answer.isEmpty }),
                        // Compact denial: a name that does not exist is NOERROR with no data.
                        ("nothing.example.net", "A", "NOERROR", { $0.answer.isEmpty }),
                        ("www.example.net", "TXT", "NOERROR", { $0.answer.isEmpty }),
                        ("x.wild.example.net", "A", "NOERROR", { $0.answer.isEmpty }),
                        // The parent proves there is no DS: the child is insecure, provably.
                        ("insecure.example.net", "DS", "NOERROR", { $0.answer.isEmpty }),
                    ]
                    for (name, type, status, check) in cases {
                        let r = try await Self.validated(unbound, name, type)
                        #expect(
                            r.status == status && r.flags.contains("ad") && check(r),
                            "\(name) \(type)\n\(r)\n\(unbound.log)")
                    }
                }
                // /metrics counts what the signer did, and promtool reads all of it.
                let metrics = try await Admin.request("GET", carousel.adminURL + "/metrics").body
                let made = metrics.split(separator: "\n").first {
                    $0.hasPrefix("carousel_dnssec_signatures_total{algorithm=\"ECDSAP256SHA256\"}")
                }
                #expect(
                    (made?.split(separator: " ").last).flatMap { Int($0) } ?? 0 > 0, "\(made ?? "no signature counter")"
                )
                #expect(metrics.contains("carousel_dnssec_signature_cache_hits_total "), "\(metrics)")
                let lint = try await Command.run(
                    "/bin/sh", ["-c", "curl -sS \(carousel.adminURL)/metrics | promtool check metrics"])
                #expect(lint.status == 0 && (lint.stdout + lint.stderr).isEmpty, "\(lint.stdout)\(lint.stderr)")
                let anchors = try tmp.write("anchors.conf", "trust-anchors { \(Self.delvAnchor(ds)) };\n")
                for (name, type) in [
                    ("www.example.net", "A"), ("app.example.net", "A"), ("alias.example.net", "A"),
                    ("x.wild.example.net", "TXT"), ("nothing.example.net", "A"), ("example.net", "DNSKEY"),
                    ("sip.example.net", "NAPTR"),
                ] {
                    let r = try await Self.delv(carousel.endpoint, anchors, name, type)
                    #expect(r.contains("fully validated"), "delv \(name) \(type)\n\(r)")
                }
            }
        }
    }

    @Test("through a failover, a drain, a standby tier and a sticky pool with ECS, every answer validates")
    func validatedThroughHealthChanges() async throws {
        try await withBackends(9) { b in
            let tmp = try TempDir(prefix: "dnssec")
            defer { tmp.remove() }
            let (keys, ds) = try await Self.keygen(tmp)
            let a = b.addresses
            try await Self.serve(b, config: Self.config(b, keys: keys)) { carousel in
                try await withUnbound(
                    zone: "example.net.", authority: carousel.endpoint, clientSubnet: true, trustAnchor: ds
                ) { unbound in
                    let first = try await Self.validated(unbound, "www.example.net", "A")
                    #expect(first.flags.contains("ad") && first.addresses.count == 3, "\(first)\n\(unbound.log)")
                    // A backend dies: Carousel drops it; once Unbound's copy is past its TTL the
                    // answer without it validates too.
                    let killed = ContinuousClock.now
                    try await b.kill(a[1])
                    let drop = try await Poll.dig(
                        carousel.endpoint, ["www.example.net", "A", "+dnssec"], since: killed
                    ) {
                        !$0.addresses.contains(a[1])
                    }
                    report("dnssec: signed answer without the dead backend \(secs(drop.seconds)) after SIGKILL")
                    let sigs = drop.response.answer.filter { $0.type == "RRSIG" }
                    #expect(sigs.count == 1, "the set served is signed\n\(drop.response)")
                    try await Task.sleep(for: .seconds(Self.ttl + 1))
                    let after = try await Self.validated(unbound, "www.example.net", "A")
                    #expect(
                        after.flags.contains("ad") && Set(after.addresses) == [a[0], a[2]],
                        "validated without the dead one\n\(after)\n\(unbound.log)")
                    // It comes back.
                    try await b.restart(a[1])
                    _ = try await Poll.dig(carousel.endpoint, ["www.example.net", "A"]) { $0.addresses.count == 3 }
                    try await Task.sleep(for: .seconds(Self.ttl + 1))
                    let back = try await Self.validated(unbound, "www.example.net", "A")
                    #expect(back.flags.contains("ad") && back.addresses.count == 3, "\(back)\n\(unbound.log)")
                    // A drained member.
                    let drained = try await Admin.cli(["drain", a[2]], url: carousel.adminURL)
                    #expect(drained.status == 0, "\(drained.stderr)")
                    _ = try await Poll.dig(carousel.endpoint, ["www.example.net", "A"]) { !$0.addresses.contains(a[2]) }
                    try await Task.sleep(for: .seconds(Self.ttl + 1))
                    let less = try await Self.validated(unbound, "www.example.net", "A")
                    #expect(less.flags.contains("ad") && !less.addresses.contains(a[2]), "\(less)\n\(unbound.log)")
                    // The standby tier: both primaries of app die.
                    let primaries = try await Self.validated(unbound, "app.example.net", "A")
                    #expect(primaries.flags.contains("ad") && Set(primaries.addresses) == [a[3], a[4]], "\(primaries)")
                    try await b.kill(a[3])
                    try await b.kill(a[4])
                    _ = try await Poll.dig(carousel.endpoint, ["app.example.net", "A"]) { $0.addresses == [a[5]] }
                    try await Task.sleep(for: .seconds(Self.ttl * 2 + 1))
                    let standby = try await Self.validated(unbound, "app.example.net", "A")
                    #expect(
                        standby.flags.contains("ad") && standby.addresses == [a[5]],
                        "the standby, validated\n\(standby)\n\(unbound.log)")
                    // A sticky pool with ECS (Unbound's subnetcache sends the client's /24).
                    let sticky = try await Self.validated(unbound, "geo.example.net", "A")
                    #expect(
                        sticky.flags.contains("ad") && sticky.addresses.count == 1
                            && a[6..<9].contains(sticky.addresses[0]), "\(sticky)\n\(unbound.log)")
                }
            }
        }
    }

    @Test("a key the parent does not vouch for: Unbound answers SERVFAIL (the validation can fail)")
    func bogusWithTheWrongKey() async throws {
        try await withBackends(9) { b in
            let tmp = try TempDir(prefix: "dnssec")
            defer { tmp.remove() }
            let (keys, ds) = try await Self.keygen(tmp)
            // The anchor's digest with one digit changed: the served DNSKEY no longer matches it.
            let last = ds.last == "0" ? "1" : "0"
            let tampered = String(ds.dropLast()) + last
            try await Self.serve(b, config: Self.config(b, keys: keys)) { carousel in
                let resolver = try await UnboundResolver.start(
                    zone: "example.net.", authority: carousel.endpoint, trustAnchor: tampered, anyAnswer: true)
                defer { resolver.stop() }
                for (name, type) in [("example.net", "SOA"), ("www.example.net", "A"), ("nothing.example.net", "A")] {
                    let r = try await Self.validated(resolver, name, type)
                    #expect(r.status == "SERVFAIL" && r.answer.isEmpty, "bogus: \(name) \(type)\n\(r)")
                }
                // The same server with the right anchor validates: the failure is the key's.
                try await withUnbound(zone: "example.net.", authority: carousel.endpoint, trustAnchor: ds) { unbound in
                    let r = try await Self.validated(unbound, "www.example.net", "A")
                    #expect(r.flags.contains("ad"), "\(r)")
                }
            }
        }
    }

    @Test(
        "keys made by dnssec-keygen (KSK + ZSK, ECDSA) and ldns-keygen (Ed25519 CSK) load and validate",
        arguments: ["dnssec-keygen", "ldns-keygen"])
    func foreignKeys(_ tool: String) async throws {
        try await withBackends(9) { b in
            let tmp = try TempDir(prefix: "dnssec")
            defer { tmp.remove() }
            let keys = tmp.path("keys")
            try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
            var kskFile = ""
            if tool == "dnssec-keygen" {
                let ksk = try await Command.run(
                    "dnssec-keygen", ["-K", keys, "-a", "ECDSAP256SHA256", "-f", "KSK", "-n", "ZONE", "example.net"])
                let zsk = try await Command.run(
                    "dnssec-keygen", ["-K", keys, "-a", "ECDSAP256SHA256", "-n", "ZONE", "example.net"])
                #expect(ksk.status == 0 && zsk.status == 0, "\(ksk.stderr)\(zsk.stderr)")
                kskFile = keys + "/" + ksk.stdout.trimmingCharacters(in: .whitespacesAndNewlines) + ".key"
            } else {
                let made = try await Command.run("sh", ["-c", "cd '\(keys)' && ldns-keygen -a ED25519 -k example.net"])
                #expect(made.status == 0, "\(made.stderr)")
                let stem = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                kskFile = keys + "/" + stem + ".key"
                // ldns-keygen writes a .ds file too, which is no key.
                try? FileManager.default.removeItem(atPath: keys + "/" + stem + ".ds")
                chmod(keys + "/" + stem + ".private", 0o600)
            }
            let ds = try await Command.run("dnssec-dsfromkey", ["-2", kskFile])
            #expect(ds.status == 0, "\(ds.stderr)")
            let anchor = Self.anchor(ds.stdout)
            try await Self.serve(b, config: Self.config(b, keys: keys)) { carousel in
                let ours = try await Command.run(
                    CarouselServer.binary, ["dnssec", "ds", "example.net", "--config", carousel.configFile])
                #expect(
                    ours.stdout.contains(
                        ds.stdout.split(separator: " ").last.map(String.init)?.trimmingCharacters(
                            in: .whitespacesAndNewlines) ?? "-"),
                    "carousel dnssec ds prints the digest dnssec-dsfromkey does\n\(ours.stdout)\n\(ds.stdout)")
                try await withUnbound(zone: "example.net.", authority: carousel.endpoint, trustAnchor: anchor) {
                    unbound in
                    for (name, type) in [
                        ("www.example.net", "A"), ("example.net", "DNSKEY"), ("nope.example.net", "A"),
                    ] {
                        let r = try await Self.validated(unbound, name, type)
                        #expect(r.flags.contains("ad"), "\(tool): \(name) \(type)\n\(r)\n\(unbound.log)")
                    }
                }
            }
        }
    }

    @Test(
        "secondaries get the zone presigned: ldns-verify-zone and dnssec-verify accept the AXFR; Unbound validates through NSD and Knot, also after a publish_health change",
        arguments: [TransferPeer.Kind.nsd, .knot])
    func presignedSecondaries(_ kind: TransferPeer.Kind) async throws {
        try await withBackends(9) { b in
            let tmp = try TempDir(prefix: "dnssec")
            defer { tmp.remove() }
            let (keys, ds) = try await Self.keygen(tmp)
            let a = b.addresses
            let peerPort = try Ports.free()
            let config =
                Self.config(b, keys: keys) + """

                    transfers:
                      - zone: example.net
                        allow: ["127.0.0.1"]
                        notify: ["127.0.0.1:\(peerPort)"]
                        publish_health: true

                    """
            try await Self.serve(b, config: config) { carousel in
                let axfr = try await Dig.run(carousel.endpoint, ["example.net", "AXFR"])
                let file = try tmp.write("axfr.zone", axfr.stdout)
                let ldns = try await Command.run("ldns-verify-zone", [file])
                #expect(ldns.status == 0, "ldns-verify-zone: \(ldns.stdout)\(ldns.stderr)")
                let bind = try await Command.run("dnssec-verify", ["-o", "example.net", "-x", file])
                #expect(bind.status == 0, "dnssec-verify: \(bind.stdout)\(bind.stderr)")
                let serial =
                    axfr.stdout.split(separator: "\n").first { $0.contains("\tSOA\t") }
                    .flatMap { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst(6).first }.map(
                        String.init) ?? "0"
                try await withPeer(
                    kind, port: peerPort, zones: [.init(origin: "example.net.", primary: carousel.endpoint)]
                ) {
                    peer in
                    try await peer.waitForZone("example.net.")
                    try await withUnbound(zone: "example.net.", authority: peer.endpoint, trustAnchor: ds) { unbound in
                        for (name, type) in [
                            ("www.example.net", "A"), ("nothing.example.net", "A"), ("example.net", "DNSKEY"),
                            ("a\\000.example.net", "TXT"), ("c.a.example.net", "TXT"),
                        ] {
                            let r = try await Self.validated(unbound, name, type)
                            #expect(r.flags.contains("ad"), "through \(kind): \(name) \(type)\n\(r)\n\(unbound.log)")
                        }
                        // The NSEC chain proves NXDOMAIN, also between `c.a` and `a\000`. Knot 3.2 orders
                        // names by its zero-terminated lookup format, so for `d.a` it sends the NSEC
                        // of `a\000` as the wildcard proof (`*.a` sorts before `a\000` in RFC 4034
                        // order) and Unbound rightly fails it: that name is asked through NSD only.
                        let names =
                            ["nothing.example.net", "b.a\\000.example.net"] + (kind == .nsd ? ["d.a.example.net"] : [])
                        for name in names {
                            let nx = try await Self.validated(unbound, name, "A")
                            #expect(
                                nx.status == "NXDOMAIN" && nx.flags.contains("ad"),
                                "the NSEC chain proves \(name) NXDOMAIN\n\(nx)")
                        }
                        // A backend dies: a new version, re-signed where it changed.
                        let killed = ContinuousClock.now
                        try await b.kill(a[0])
                        let atPeer = try await Poll.dig(peer.endpoint, ["www.example.net", "A"], since: killed) {
                            !$0.addresses.contains(a[0]) && $0.addresses.count == 2
                        }
                        report("dnssec: \(kind) served the re-signed set \(secs(atPeer.seconds)) after SIGKILL")
                    }
                    // A resolver without the old answer cached (secondaries serve the zone's TTL,
                    // 60 s, not the pool's cap) validates the new version.
                    try await withUnbound(zone: "example.net.", authority: peer.endpoint, trustAnchor: ds) { unbound in
                        let after = try await Self.validated(unbound, "www.example.net", "A")
                        #expect(
                            after.flags.contains("ad") && Set(after.addresses) == [a[1], a[2]],
                            "validated through \(kind) after the change\n\(after)\n\(unbound.log)")
                    }
                    // The IXFR carries the changed records only: the www set, its RRSIG, the SOA's.
                    let ixfr = try await Dig.run(carousel.endpoint, ["example.net", "IXFR=\(serial)"])
                    let lines = ixfr.stdout.split(separator: "\n").filter { !$0.hasPrefix(";") && !$0.isEmpty }
                    let rrsigs = lines.filter { $0.contains("\tRRSIG\t") }
                    #expect(
                        lines.count < axfr.stdout.split(separator: "\n").count / 2
                            && rrsigs.contains { $0.contains("RRSIG\tA ") || $0.contains("RRSIG A ") },
                        "\(ixfr.stdout)")
                }
            }
        }
    }

    /// The key tags of the RRSIGs over www's A set, asked of Carousel directly.
    static func signingTags(_ endpoint: Endpoint) async throws -> Set<String> {
        let r = try await Dig.query(endpoint, "+dnssec", "www.example.net", "A")
        return Set(
            r.answer.filter { $0.type == "RRSIG" }.compactMap {
                $0.rdata.split(separator: " ").dropFirst(6).first.map(String.init)
            })
    }

    static func dnskeyTags(_ endpoint: Endpoint) async throws -> Set<String> {
        let r = try await Dig.run(endpoint, ["+multi", "example.net", "DNSKEY"])
        return Set(
            r.stdout.split(separator: "\n").compactMap { line -> String? in
                guard let range = line.range(of: "key id = ") else { return nil }
                return String(line[range.upperBound...].prefix { $0.isNumber })
            })
    }

    static func keygen(_ keys: String, _ arguments: [String]) async throws -> String {
        let r = try await Command.run(
            "dnssec-keygen", ["-q", "-K", keys, "-a", "ECDSAP256SHA256", "-n", "ZONE"] + arguments + ["example.net"])
        #expect(r.status == 0, "\(r.stderr)")
        return keys + "/" + r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) + ".key"
    }

    /// `Poll.until`, with Carousel's log and the DNSKEY set in the error.
    static func until(
        _ carousel: ConfiguredCarousel, _ what: String, limit: Double, _ condition: () async throws -> Bool
    ) async throws {
        do {
            try await Poll.until(what, limit: limit, condition)
        } catch {
            let keys = try await Dig.run(carousel.endpoint, ["+multi", "example.net", "DNSKEY"])
            throw HarnessError("\(error)\n\(keys.stdout)\n\(carousel.log)")
        }
    }

    static func tag(_ file: String) -> String {
        String(Int(file.dropLast(4).split(separator: "+").last ?? "") ?? -1)
    }

    @Test("a ZSK pre-publish rollover driven by dnssec-settime timing validates at every step, Unbound's cache in play")
    func zskPrepublishRollover() async throws {
        try await withBackends(9) { b in
            let tmp = try TempDir(prefix: "dnssec")
            defer { tmp.remove() }
            let keys = tmp.path("keys")
            try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
            let ksk = try await Self.keygen(keys, ["-f", "KSK"])
            let zsk1 = try await Self.keygen(keys, [])
            let ds = try await Command.run("dnssec-dsfromkey", ["-2", ksk])
            let config = Self.config(b, keys: keys) + "\n    dnskey_ttl: 2\n"
            try await Self.serve(b, config: config) { carousel in
                let tags = try await Self.signingTags(carousel.endpoint)
                #expect(
                    tags == [Self.tag(zsk1)],
                    "the ZSK signs, not the KSK: \(tags) (KSK \(Self.tag(ksk)))\n\(carousel.log)")
                try await withUnbound(
                    zone: "example.net.", authority: carousel.endpoint, trustAnchor: Self.anchor(ds.stdout)
                ) {
                    unbound in
                    func validates(_ step: String) async throws {
                        for (name, type) in [
                            ("www.example.net", "A"), ("example.net", "DNSKEY"), ("nothing.example.net", "A"),
                        ] {
                            let r = try await Self.validated(unbound, name, type)
                            #expect(r.flags.contains("ad"), "\(step): \(name) \(type)\n\(r)\n\(unbound.log)")
                        }
                    }
                    try await validates("before")
                    // Pre-publish ZSK 2 (active in 6 s); ZSK 1 retires then and leaves 6 s later.
                    let zsk2 = try await Self.keygen(keys, ["-P", "now", "-A", "now+6"])
                    let set = try await Command.run(
                        "dnssec-settime", ["-I", "now+6", "-D", "now+12", zsk1])
                    #expect(set.status == 0, "\(set.stderr)")
                    try await Self.until(carousel, "ZSK 2 is published", limit: 5) {
                        try await Self.dnskeyTags(carousel.endpoint) == [Self.tag(ksk), Self.tag(zsk1), Self.tag(zsk2)]
                    }
                    #expect(try await Self.signingTags(carousel.endpoint) == [Self.tag(zsk1)], "and does not sign yet")
                    try await validates("pre-published")
                    try await Self.until(carousel, "ZSK 2 signs at its Activate time", limit: 10) {
                        try await Self.signingTags(carousel.endpoint) == [Self.tag(zsk2)]
                    }
                    #expect(
                        try await Self.dnskeyTags(carousel.endpoint).contains(Self.tag(zsk1)), "ZSK 1 still published")
                    try await validates("switched")
                    try await Self.until(carousel, "ZSK 1 leaves at its Delete time", limit: 10) {
                        try await Self.dnskeyTags(carousel.endpoint) == [Self.tag(ksk), Self.tag(zsk2)]
                    }
                    try await Task.sleep(for: .seconds(3))
                    try await validates("removed")
                }
            }
        }
    }

    @Test(
        "a CSK double-signature rollover: both keys sign, the parent's DS moves, the old key goes; every step validates"
    )
    func cskDoubleSignatureRollover() async throws {
        try await withBackends(9) { b in
            let tmp = try TempDir(prefix: "dnssec")
            defer { tmp.remove() }
            let keys = tmp.path("keys")
            try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
            let old = try await Self.keygen(keys, ["-f", "KSK"])
            let oldDS = Self.anchor(try await Command.run("dnssec-dsfromkey", ["-2", old]).stdout)
            let config = Self.config(b, keys: keys) + "\n    dnskey_ttl: 2\n"
            try await Self.serve(b, config: config) { carousel in
                func validates(_ anchor: String, _ step: String) async throws {
                    try await withUnbound(zone: "example.net.", authority: carousel.endpoint, trustAnchor: anchor) {
                        unbound in
                        for (name, type) in [
                            ("www.example.net", "A"), ("example.net", "DNSKEY"), ("nothing.example.net", "A"),
                        ] {
                            let r = try await Self.validated(unbound, name, type)
                            #expect(r.flags.contains("ad"), "\(step): \(name) \(type)\n\(r)\n\(unbound.log)")
                        }
                    }
                }
                try await withUnbound(zone: "example.net.", authority: carousel.endpoint, trustAnchor: oldDS) {
                    cached in
                    let first = try await Self.validated(cached, "www.example.net", "A")
                    #expect(first.flags.contains("ad"), "\(first)")
                    // The new CSK signs beside the old one.
                    let new = try await Self.keygen(keys, ["-f", "KSK"])
                    try await Self.until(carousel, "double signatures", limit: 5) {
                        try await Self.signingTags(carousel.endpoint) == [Self.tag(old), Self.tag(new)]
                    }
                    let newDS = Self.anchor(try await Command.run("dnssec-dsfromkey", ["-2", new]).stdout)
                    try await Task.sleep(for: .seconds(3))
                    let during = try await Self.validated(cached, "www.example.net", "A")
                    #expect(during.flags.contains("ad"), "the old anchor, with its cache\n\(during)\n\(cached.log)")
                    try await validates(newDS, "the parent's DS moved to the new key")
                    // The old key retires and goes.
                    let set = try await Command.run("dnssec-settime", ["-I", "now", "-D", "now", old])
                    #expect(set.status == 0, "\(set.stderr)")
                    try await Self.until(carousel, "the old key leaves the DNSKEY set", limit: 5) {
                        try await Self.dnskeyTags(carousel.endpoint) == [Self.tag(new)]
                    }
                    #expect(try await Self.signingTags(carousel.endpoint) == [Self.tag(new)])
                    try await validates(newDS, "after the old key left")
                }
            }
        }
    }

    @Test(
        "a broken key: carousel check names the file and line; a running server logs it and keeps signing with the last good keys"
    )
    func brokenKeys() async throws {
        try await withBackends(9) { b in
            let tmp = try TempDir(prefix: "dnssec")
            defer { tmp.remove() }
            let (keys, ds) = try await Self.keygen(tmp)
            try await Self.serve(b, config: Self.config(b, keys: keys)) { carousel in
                let good = try await Command.run(CarouselServer.binary, ["check", "--config", carousel.configFile])
                #expect(good.status == 0, "\(good.stderr)")
                let privateFile = try #require(
                    try FileManager.default.contentsOfDirectory(atPath: keys).first { $0.hasSuffix(".private") })
                let path = keys + "/" + privateFile
                chmod(path, 0o644)
                let bad = try await Command.run(CarouselServer.binary, ["check", "--config", carousel.configFile])
                #expect(bad.status == 1, "\(bad.stdout)")
                #expect(
                    bad.stderr.contains("\(path):1: readable by group or others (mode 644): `chmod 600 \(path)`"),
                    "\(bad.stderr)")
                #expect(bad.stderr.contains("dnssec: the keys of example.net. do not load"), "\(bad.stderr)")
                // The running server sees the change, says why, and keeps the keys it had.
                let logged = try await carousel.waitForLog("readable by group or others", timeout: 10)
                #expect(logged, "\(carousel.log)")
                #expect(carousel.log.contains("keeping the keys last loaded"), "\(carousel.log)")
                try await withUnbound(zone: "example.net.", authority: carousel.endpoint, trustAnchor: ds) { unbound in
                    let r = try await Self.validated(unbound, "www.example.net", "A")
                    #expect(r.flags.contains("ad"), "still signed with the last good key\n\(r)")
                }
            }
        }
    }

    @Test("zonemaster-cli's DNSSEC test cases report nothing above INFO for the signed zone; a wrong DS is an error")
    func zonemaster() async throws {
        // Zonemaster asks port 53 of the zone's own name server address: Carousel listens there
        // (on a loopback address of its own), and the root hints point at it too, so nothing
        // leaves the machine.
        let tmp = try TempDir(prefix: "zonemaster")
        defer { tmp.remove() }
        let (keys, ds) = try await Self.keygen(tmp)
        let host = "127.53.\(Int.random(in: 1...250)).\(Int.random(in: 1...250))"
        let zone = Self.zone(www: ["127.0.53.1", "127.0.53.2"], app: [], geo: [])
            .replacingOccurrences(of: "ns1 IN A 127.0.0.1", with: "ns1 IN A \(host)")
        try FileManager.default.createDirectory(atPath: tmp.path("zones"), withIntermediateDirectories: true)
        _ = try tmp.write("zones/example.net.zone", zone)
        let config = try tmp.write(
            "carousel.yaml", "zones: zones\nrrl: off\ndnssec:\n  - zone: example.net\n    keys: \(keys)\n")
        let hints = try tmp.write(
            "hints.zone", ". 3600000 NS a.root-servers.net.\na.root-servers.net. 3600000 A \(host)\n")
        let process = try Spawned(
            executable: CarouselServer.binary, arguments: ["serve", "--config", config, "--listen", "\(host):53"],
            stdout: tmp.url.appendingPathComponent("stdout"), stderr: tmp.url.appendingPathComponent("stderr"))
        defer { process.stop() }
        let endpoint = Endpoint(host: host, port: 53)
        _ = try await Poll.dig(endpoint, ["example.net", "SOA"]) { $0.status == "NOERROR" }
        // "example.net. DS 1 13 2 HEX" → "1,13,2,HEX"
        let f = ds.split(separator: " ")
        let dsArgument = f.count >= 6 ? "\(f[2]),\(f[3]),\(f[4]),\(f[5...].joined())" : ""
        func run(_ ds: String) async throws -> CommandResult {
            try await Command.run(
                "zonemaster-cli",
                [
                    "--no-ipv6", "--ns", "ns1.example.net/\(host)", "--hints", hints, "--ds", ds, "--test", "dnssec",
                    "--level", "NOTICE", "--show-testcase", "--raw", "example.net",
                ], timeout: 120)
        }
        let good = try await run(dsArgument)
        let reported = good.stdout.split(separator: "\n").filter { line in
            ["NOTICE", "WARNING", "ERROR", "CRITICAL"].contains { line.contains(" \($0) ") }
        }
        #expect(good.status == 0 && reported.isEmpty, "zonemaster-cli reports:\n\(good.stdout)\(good.stderr)")
        let digest = String(dsArgument.dropLast()) + (dsArgument.last == "0" ? "1" : "0")
        let bad = try await run(digest)
        #expect(bad.stdout.contains(" ERROR "), "a DS that matches no key is an error\n\(bad.stdout)\(bad.stderr)")
    }

    static func delvAnchor(_ ds: String) -> String {
        // "example.net. DS 1 13 2 HEX" → "example.net. static-ds 1 13 2 "HEX";"
        let f = ds.split(separator: " ")
        guard f.count >= 6 else { return "" }
        return "\(f[0]) static-ds \(f[2]) \(f[3]) \(f[4]) \"\(f[5...].joined())\";"
    }

    static func delv(_ endpoint: Endpoint, _ anchors: String, _ name: String, _ type: String) async throws -> String {
        let r = try await Command.run(
            "delv", ["@\(endpoint.host)", "-p", "\(endpoint.port)", "-a", anchors, "+root=example.net", name, type])
        return r.stdout + r.stderr
    }
}
