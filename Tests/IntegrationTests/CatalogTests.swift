// Carousel as the producer of a catalog zone (RFC 9432), with Knot 3.2 (`catalog-role:
// interpret`) and BIND 9.18 (`catalog-zones`) as consumers: a zone added to `transfers:` is
// served by both within 5 s with no change on their side, a removed one is dropped within 5 s;
// `carousel check` refuses a catalog named like a served zone.

import Foundation
import Testing

@Suite("Catalog zones: Knot and BIND follow transfers:", .serialized)
struct CatalogTests {
    static let catalog = "catalog.carousel.internal"

    /// `transfers:` of `zones` (example.net with `publish_health`, over a pool whose members are
    /// checked on `checkPort`: 127.0.0.1 answers there, 127.0.0.2 does not) and the catalog.
    static func config(_ zones: [String], knot: UInt16, bind: UInt16, checkPort: UInt16 = 9) -> String {
        let notify = "[\"127.0.0.1:\(knot)\", \"127.0.0.1:\(bind)\"]"
        return """
            pools:
              - { name: www.example.net, ttl: 5, check: { type: tcp, port: \(checkPort), interval: 1s, timeout: 500ms, rise: 1, fall: 1 } }
            transfers:
            \(zones.map { "  - { zone: \($0), allow: [\"127.0.0.0/8\"], notify: \(notify), publish_health: \($0 == "example.net") }" }.joined(separator: "\n"))
            catalog:
              zone: \(catalog)
              allow: ["127.0.0.0/8"]
              notify: \(notify)
            \(zones.contains("example.com") ? "  groups: { example.com: balanced }" : "")
            """
    }

    /// Knot 3.2 as a consumer: the catalog from Carousel, member zones by the template `members`.
    static func knotConfig(port: UInt16, primary: Endpoint, dir: TempDir) -> String {
        """
        server:
            rundir: "\(dir.url.path)"
            listen: 127.0.0.1@\(port)
        log:
          - target: stderr
            any: info
        database:
            storage: "\(dir.url.path)"
        remote:
          - id: carousel
            address: \(primary.host)@\(primary.port)
        acl:
          - id: carousel
            address: 127.0.0.0/8
            action: notify
        template:
          - id: default
            storage: "\(dir.url.path)"
            zonefile-sync: -1
            journal-content: none
          - id: members
            storage: "\(dir.url.path)"
            master: carousel
            acl: carousel
            zonefile-sync: -1
            journal-content: none
        zone:
          - domain: \(catalog)
            master: carousel
            acl: carousel
            catalog-role: interpret
            catalog-template: members

        """
    }

    /// BIND 9.18 as a consumer (it applies a new catalog version at most once per
    /// `min-update-interval`, 5 s by default: 1 s here).
    static func bindConfig(port: UInt16, primary: Endpoint, dir: TempDir) -> String {
        """
        options {
            directory "\(dir.url.path)";
            pid-file "\(dir.path("named.pid"))";
            listen-on port \(port) { 127.0.0.1; };
            listen-on-v6 { none; };
            recursion no;
            notify no;
            allow-new-zones yes;
            catalog-zones {
                zone "\(catalog)" default-primaries { \(primary.host) port \(primary.port); } in-memory yes min-update-interval 1;
            };
        };
        controls { };
        zone "\(catalog)" {
            type secondary;
            primaries { \(primary.host) port \(primary.port); };
            file "catalog.db";
            allow-notify { 127.0.0.0/8; };
        };

        """
    }

    /// Polls until `server` answers `zone`'s SOA (`served`) or refuses it; the seconds it took.
    static func wait(_ server: Endpoint, _ zone: String, served: Bool, limit: Double) async throws -> Double? {
        let start = ContinuousClock.now
        while Poll.seconds(since: start) < limit {
            let r = try await Dig.query(server, zone, "SOA")
            let answers = r.status == "NOERROR" && r.answer.contains { $0.type == "SOA" }
            if answers == served { return Poll.seconds(since: start) }
            try await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }

    @Test("a zone added to transfers: is served by Knot and BIND within 5 s, a removed one dropped within 5 s")
    func consumersFollow() async throws {
        let knotd = try Peers.require("knotd")[0]
        let (knotPort, bindPort) = (try Ports.free(), try Ports.free())
        let zones = [
            "example.com.zone": balancedZone("example.com.", addresses: ["192.0.2.1"]),
            "example.net.zone": balancedZone("example.net.", addresses: ["127.0.0.1", "127.0.0.2"]),
        ]
        try await withConfiguredCarousel(
            zones: zones, config: Self.config(["example.com"], knot: knotPort, bind: bindPort)
        ) { server in
            let knotDir = try TempDir(prefix: "catalog-knot")
            defer { knotDir.remove() }
            let knotConf = try knotDir.write(
                "knot.conf", Self.knotConfig(port: knotPort, primary: server.endpoint, dir: knotDir))
            let knot = try Spawned(
                executable: knotd, arguments: ["-c", knotConf], stdout: knotDir.url.appendingPathComponent("stdout"),
                stderr: knotDir.url.appendingPathComponent("stderr"))
            defer { knot.stop() }
            let bind = try await NamedProcess(prefix: "catalog-bind") {
                Self.bindConfig(port: bindPort, primary: server.endpoint, dir: $0)
            }
            defer { bind.stop() }
            let consumers = [
                (
                    "Knot", Endpoint(host: "127.0.0.1", port: knotPort),
                    { (try? String(contentsOfFile: knotDir.path("stderr"), encoding: .utf8)) ?? "" }
                ),
                ("BIND", Endpoint(host: "127.0.0.1", port: bindPort), { bind.log }),
            ]
            func logs() -> String {
                consumers.map { name, _, log in "--- \(name):\n" + log() }.joined(separator: "\n")
                    + "\n--- Carousel:\n\(server.log)"
            }
            // The catalog lists example.com: both serve it.
            for (name, endpoint, _) in consumers {
                let t = try await Self.wait(endpoint, "example.com", served: true, limit: 20)
                #expect(t != nil, "\(name) never served example.com\n\(logs())")
            }
            // Its record, as a consumer reads it.
            let axfr = try await Command.run(
                "dig", ["-p", "\(server.endpoint.port)", "@127.0.0.1", Self.catalog, "AXFR", "+nocomments"])
            let text = axfr.stdout.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
            #expect(text.contains("zones.\(Self.catalog). 0 IN PTR example.com."), "\(axfr.stdout)")
            #expect(
                text.contains("IN TXT \"balanced\"") && text.contains("version.\(Self.catalog). 0 IN TXT \"2\""),
                "\(axfr.stdout)")

            // Added: example.net, whose publish_health versions leave out 127.0.0.2 (nothing answers
            // on Carousel's port there), as both consumers serve it.
            try await server.rewriteConfig(
                Self.config(
                    ["example.com", "example.net"], knot: knotPort, bind: bindPort, checkPort: server.endpoint.port))
            let added = ContinuousClock.now
            for (name, endpoint, _) in consumers {
                var www: [String] = []
                while Poll.seconds(since: added) < 5 {
                    www = try await Dig.query(endpoint, "www.example.net", "A").addresses.sorted()
                    if www == ["127.0.0.1"] { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(www == ["127.0.0.1"], "\(name): www.example.net \(www) 5 s after the edit\n\(logs())")
                print(
                    "catalog: \(name) served an added zone's health version \(String(format: "%.2f", Poll.seconds(since: added))) s after the edit"
                )
            }
            // Removed: example.com.
            try await server.rewriteConfig(
                Self.config(["example.net"], knot: knotPort, bind: bindPort, checkPort: server.endpoint.port))
            let removed = ContinuousClock.now
            for (name, endpoint, _) in consumers {
                let t = try await Self.wait(
                    endpoint, "example.com", served: false, limit: max(0.1, 5 - Poll.seconds(since: removed)))
                #expect(t != nil, "\(name) still served example.com 5 s after it left the catalog\n\(logs())")
                print(
                    "catalog: \(name) dropped a removed zone \(String(format: "%.2f", Poll.seconds(since: removed))) s after the edit"
                )
            }
            #expect(try await Self.wait(consumers[0].1, "example.net", served: true, limit: 1) != nil)
        }
    }

    @Test("carousel check refuses a catalog named like a served zone, and a group for a zone it does not list")
    func checkRefusesAClash() async throws {
        let dir = try TempDir(prefix: "catalog-check")
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.path("zones"), withIntermediateDirectories: true)
        _ = try dir.write("zones/example.com.zone", balancedZone("example.com.", addresses: ["192.0.2.1"]))
        let file = try dir.write(
            "carousel.yaml",
            """
            zones: "\(dir.path("zones"))"
            transfers:
              - { zone: example.com, allow: ["127.0.0.1"] }
            catalog:
              zone: example.com
              groups: { example.org: x }

            """)
        let r = try await Command.run(CarouselServer.binary, ["check", "--config", file])
        #expect(r.status != 0)
        let out = r.stdout + r.stderr
        #expect(out.contains("carousel.yaml:5: catalog: example.com. is also a zone served here"), "\(out)")
        #expect(out.contains("catalog.groups: example.org. is not a zone of transfers:"), "\(out)")
    }
}
