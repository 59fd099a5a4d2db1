import Balancer
import DNSSEC
import DNSWire
import DNSZone
import Foundation
import Health
import Responder
import ZoneFiles

/// The data the query-handler target answers from: the responder tests' zones (exact matches, MX,
/// TXT, a CNAME chain, loops, wildcards, delegations with glue, a child zone served beside its
/// parent) plus a zone of pools, one per ordering and all-down policy, with health views that put
/// their members up, down or drained, and an unavailable (expired secondary) zone inside it.
enum World {
    static let zones: [(String, String)] = [exampleCom, childExampleCom, rfc4592, pools]
    /// The owners of the sticky pool's records: the only answers an ECS scope above 0 may come with.
    static let stickyOwners: Set<DNSName> = [try! DNSName("st.example.net.")]

    static let exampleCom = (
        "example.com.",
        """
        $TTL 3600
        @        3600 IN SOA ns1.example.com. hostmaster.example.com. 2024010101 7200 900 1209600 300
        @             IN NS  ns1
        @             IN NS  ns2
        @             IN MX  10 mail
        ns1           IN A   192.0.2.53
        ns2           IN A   192.0.2.54
        mail          IN A   192.0.2.25
        www        30 IN A   192.0.2.1
        www        30 IN A   192.0.2.2
        www           IN AAAA 2001:db8::1
        txt           IN TXT "hello" "world"
        a.b.c         IN A   192.0.2.10
        alias         IN CNAME www
        chain1        IN CNAME chain2
        chain2        IN CNAME chain3
        chain3        IN CNAME alias
        loop1         IN CNAME loop2
        loop2         IN CNAME loop1
        self          IN CNAME self
        out           IN CNAME www.elsewhere.net.
        topool        IN CNAME www.example.net.
        dangling      IN CNAME nothing
        tochild       IN CNAME www.child
        tosub         IN CNAME host.sub
        *.wild        IN CNAME www
        *.any         IN A   192.0.2.77
        *.any         IN TXT "wild"
        sub           IN NS  ns1.sub
        sub           IN NS  ns.elsewhere.net.
        ns1.sub       IN A   192.0.2.200
        ns1.sub       IN AAAA 2001:db8::200
        child         IN NS  ns1.child
        child         IN DS  12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE9A4EE8D0D0A6F2C5C2D5A2B3
        ns1.child     IN A   192.0.2.201
        srv           IN SRV 0 0 53 ns1
        tolost        IN CNAME www.lost.example.net.
        unknown       IN TYPE65000 \\# 4 0a000001

        """ + (1...100).map { "huge IN A 203.0.113.\($0)\n" }.joined()
            + (1...13).map {
                "fat IN NS ns\($0).fat\nns\($0).fat IN A 192.0.2.\($0)\nns\($0).fat IN AAAA 2001:db8::\($0)\n"
            }
            .joined()
    )

    static let childExampleCom = (
        "child.example.com.",
        """
        $TTL 3600
        @    IN SOA ns1.child.example.com. hostmaster.child.example.com. 1 7200 900 1209600 600
        @    IN NS  ns1
        ns1  IN A   192.0.2.201
        www  IN A   192.0.2.210

        """
    )

    /// RFC 4592 §2.2.1's zone.
    static let rfc4592 = (
        "example.",
        """
        example.                 3600 IN  SOA   ns.example.com. hostmaster.example.com. 1 7200 900 1209600 300
        example.                 3600     NS    ns.example.com.
        *.example.               3600     TXT   "this is a wildcard"
        *.example.               3600     MX    10 host1.example.
        sub.*.example.           3600     TXT   "this is not a wildcard"
        host1.example.           3600     A     192.0.2.1
        _ssh._tcp.host1.example. 3600     SRV   0 0 22 host1.example.
        subdel.example.          3600     NS    ns.example.com.

        """
    )

    static let pools = (
        "example.net.",
        """
        $TTL 300
        @      IN SOA ns1 hostmaster 1 7200 900 1209600 60
        @      IN NS  ns1
        ns1    IN A   192.0.2.53
        www    IN A   192.0.2.1
        www    IN A   192.0.2.2
        www    IN A   192.0.2.3
        www    IN A   192.0.2.4
        www    IN AAAA 2001:db8::1
        www    IN AAAA 2001:db8::2
        api    IN CNAME www
        wtd    IN A   192.0.2.11
        wtd    IN A   192.0.2.12
        wtd    IN A   192.0.2.13
        fix    IN A   192.0.2.21
        fix    IN A   192.0.2.22
        fb     IN A   192.0.2.31
        fb     IN AAAA 2001:db8::31
        nd     IN A   192.0.2.41
        *.apps IN A   192.0.2.51
        *.apps IN A   192.0.2.52
        st     IN A   192.0.2.61
        st     IN A   192.0.2.62
        st     IN A   192.0.2.63
        st     IN A   192.0.2.64
        st     IN AAAA 2001:db8::61
        st     IN AAAA 2001:db8::62
        tost   IN CNAME st

        """ + (1...40).map { "big IN A 198.51.100.\($0)\n" }.joined()
    )

    static func poolConfigs() -> [Pool] {
        func pool(_ name: String, _ configure: (inout Pool) -> Void = { _ in }) -> Pool {
            var p = Pool(name: name, ttl: 20, check: Check(kind: .tcp))
            configure(&p)
            return p
        }
        return [
            pool("www.example.net"),
            pool("big.example.net") {
                $0.order = .shuffle; $0.maxAnswers = 8
            },
            pool("wtd.example.net") {
                $0.order = .weighted
                $0.weights = ["192.0.2.11": 5, "192.0.2.12": 1, "192.0.2.13": 0]
            },
            pool("fix.example.net") {
                $0.order = .fixed; $0.allDown = .servfail; $0.maxAnswers = 1
            },
            pool("fb.example.net") {
                $0.allDown = .fallback; $0.fallback = [IPAddress("192.0.2.250")!, IPAddress("2001:db8::250")!]
            },
            pool("nd.example.net") { $0.allDown = .nodata },
            pool("*.apps.example.net") { $0.ttl = 5 },
            pool("st.example.net") {
                $0.order = .sticky; $0.maxAnswers = 2; $0.weights = ["192.0.2.61": 3]
            },
        ]
    }

    /// Parses each zone with the real loader (through a temporary file, as the tests do).
    static func catalog() -> Catalog {
        let dir = FileManager.default.temporaryDirectory.path + "/carousel-fuzz-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let built = zones.map { (origin, text) -> Zone in
            let file = dir + "/" + origin + "zone"
            try! text.write(toFile: file, atomically: true, encoding: .utf8)
            let parsed = try! ZoneLoader.parse(file: file, origin: DNSName(origin)).get()
            return try! Zone.build(origin: parsed.origin, file: file, records: parsed.records.map(\.record))
        }
        // A secondary zone without data, nested in the pools' zone: SERVFAIL with EDE 24.
        let lost = UnavailableZone(origin: try! DNSName("lost.example.net."), reason: "zone expired: fuzz")
        return Catalog(zones: built, unavailable: [lost])
    }

    struct Built {
        /// One snapshot per UDP payload setting, all over the same catalog and plan.
        let snapshots: [Snapshot]
        /// Health views: unknown, all up, all down, alternate members down, all drained, …
        let views: [HealthView]
    }

    static let built: Built = {
        let catalog = World.catalog()
        let configs = poolConfigs()
        var ids: [TargetKey: Int32] = [:]
        let keys = BalancePlan.targets(of: catalog, pools: configs).keys.sorted { $0.address < $1.address }
        for (i, key) in keys.enumerated() { ids[key] = Int32(i) }
        let plan = BalancePlan.build(catalog: catalog, pools: configs, ids: ids)
        var options = [
            ResponderOptions(maxUDPPayload: 512),
            ResponderOptions(maxUDPPayload: 1232, version: "carousel fuzz", identity: "fuzz-1"),
            ResponderOptions(maxUDPPayload: 4096, version: String(repeating: "v", count: 600)),
            ResponderOptions(maxUDPPayload: 65535, identity: ""),
        ]
        // NSID and cookies: a short NSID at 512 bytes (so the options press on the limit), the
        // longest allowed at 1232, cookies on in three of the four.
        options[0].nsid = Array("fuzz".utf8)
        options[1].nsid = Array(repeating: UInt8(ascii: "n"), count: 512)
        for i in 0..<3 { options[i].cookieSecret = CookieSecret(k0: 0x0123_4567_89ab_cdef, k1: UInt64(i)) }
        let n = keys.count
        let up = HealthState.up.rawValue, down = HealthState.down.rawValue, drained = HealthView.drainedBit
        let views = [
            HealthView.empty,
            HealthView(states: Array(repeating: up, count: n)),
            HealthView(states: Array(repeating: down, count: n)),
            HealthView(states: (0..<n).map { $0 % 2 == 0 ? up : down }),
            HealthView(states: Array(repeating: up | drained, count: n)),
            HealthView(states: (0..<n).map { $0 % 3 == 0 ? up : down | drained }),
            HealthView(states: (0..<n).map { $0 == 0 ? up : HealthState.unknown.rawValue }),
            HealthView(states: Array(repeating: up, count: n / 2)),  // shorter than the target list
        ]
        // Snapshots 1 and 3 sign every zone (one Ed25519 and one ECDSA CSK per zone, each zone's
        // DNSKEY set added as a rebuild does), so DO=1 queries are answered signed. The keys are
        // made active at the `now` they are used at: left to the clock, a key made after a second
        // boundary is not active yet, and its zone would be served unsigned (or with one key).
        let now = Int64(Date().timeIntervalSince1970)
        var signedZones: [Zone] = []
        var signing: [ZoneSigning?] = []
        for zone in catalog.zones {
            let keys = ZoneKeys(
                config: DNSSECZone(zone: zone.origin, keys: "/fuzz"),
                keys: [
                    DNSSECKey.generate(zone: zone.origin, algorithm: .ed25519, now: now),
                    DNSSECKey.generate(zone: zone.origin, algorithm: .ecdsaP256SHA256, now: now),
                ])
            let zoneSigning = keys.signing(at: now)
            precondition(
                zoneSigning?.keys.filter(\.signsZone).count == 2 && keys.published(at: now).count == 2,
                "fuzz world: \(zone.origin) is not signed by both of its keys")
            signedZones.append(try! keys.zone(zone, at: now))
            signing.append(zoneSigning)
            for k in keys.keys { World.keys[k.keyTag, default: []].append(k) }
        }
        let signedCatalog = Catalog(zones: signedZones, unavailable: catalog.unavailable)
        let signedPlan = BalancePlan.build(catalog: signedCatalog, pools: configs, ids: ids)
        let snapshots = options.enumerated().map { i, o in
            i & 1 == 1
                ? Snapshot(catalog: signedCatalog, options: o, plan: signedPlan, signing: signing)
                : Snapshot(catalog: catalog, options: o, plan: plan)
        }
        return Built(snapshots: snapshots, views: views)
    }()

    /// The signed snapshots' keys, by key tag (the fuzzer checks every RRSIG with them).
    nonisolated(unsafe) static var keys: [UInt16: [DNSSECKey]] = [:]
}
