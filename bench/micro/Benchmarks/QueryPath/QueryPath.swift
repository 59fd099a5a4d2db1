// The query path, piece by piece and end to end, with allocation counts: a change that adds a heap
// allocation per query shows up here as a mallocCountTotal above 0 (README "Answers").
// The zone has the shape of bench/gen-zone's: 10,000 hosts with 1–4 A records, AAAA on some,
// CNAME aliases, a wildcard and a four-address pool name bound to a tcp-checked pool; beside it
// the shapes that take other code: FORMERR, CH TXT, a sticky pool asked with ECS, a tiered pool
// weighted by agents, and a DO=1 answer from the signature cache. scripts/allocations runs the
// allocation thresholds (not the timings) in scripts/test.
import Balancer
import Benchmark
import DNSSEC
import DNSWire
import DNSZone
import Foundation
import Health
import Responder
import ZoneFiles

let benchmarks: @Sendable () -> Void = {
    let fixture: Fixture
    do {
        fixture = try Fixture()
    } catch {
        fatalError("bench/micro: cannot build the fixture zone: \(error)")
    }
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        // One measured iteration is 1,000 queries: a single one is too short for the clock.
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 100_000,
        // Zero allocations per query is the target: any at all fails `thresholds check`.
        thresholds: [.mallocCountTotal: BenchmarkThresholds(absolute: [.p90: 0])]
    )

    // A control that allocates once per call: proves the counter counts (a 0 below is real).
    Benchmark("Control.oneAllocation") { benchmark in
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations {
            blackHole([UInt8](repeating: UInt8(truncatingIfNeeded: i), count: 64))
        }
    }

    /// A benchmark of the whole responder on one query; the first answer (not measured) is
    /// checked, and warms the signature cache where there is one.
    func respond(
        _ label: String, _ q: UnsafeRawBufferPointer, snapshot: Snapshot? = nil, health: HealthView? = nil,
        rcode: UInt16, check: @escaping @Sendable (QueryOutcome) -> Bool = { _ in true }
    ) {
        Benchmark("Responder.respond.\(label)") { benchmark in
            let snapshot = snapshot ?? fixture.snapshot, health = health ?? fixture.health
            let scratch = fixture.scratch, out = fixture.out
            let first = Responder.respond(
                to: q, over: .udp, snapshot: snapshot, health: health, into: out, scratch: scratch)
            precondition(first.length > 0 && first.rcode == rcode && check(first), "\(label): \(first)")
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(
                    Responder.respond(
                        to: q, over: .udp, snapshot: snapshot, health: health, into: out, scratch: scratch))
            }
        }
    }

    Benchmark("Query.decode") { benchmark in
        let q = fixture.query("h04242.bench.example.", .a)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(Query.decode(q))
        }
    }

    Benchmark("Catalog.lookup") { benchmark in
        let q = fixture.query("h04242.bench.example.", .a)
        let catalog = fixture.snapshot.catalog
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(catalog.lookup(q, from: Header.size, type: .a))
        }
    }

    // Names are file names too (Thresholds/QueryPath.NAME.p90.json).
    for (label, name, type) in [
        ("plain", "h00002.bench.example.", RRType.a),  // 3 A records
        ("pool", "pool.bench.example.", .a),  // 4 A, rotated and health-filtered
        ("alias", "alias000001.bench.example.", .a),  // CNAME followed to an A
        ("wildcard", "x42.wild.bench.example.", .a),
        ("aaaa", fixture.aaaaName, .aaaa),
        ("nxdomain", "nx000042.bench.example.", .a),
        ("referral", "www.sub.bench.example.", .a),  // NS in authority, glue in additional
    ] {
        respond(label, fixture.query(name, type), rcode: label == "nxdomain" ? 3 : 0)
    }

    // The shapes that take other code (Thresholds/QueryPath.Responder.respond.NAME.p90.json too).
    respond("formerr", fixture.bytes(fixture.packet("h00002.bench.example.", .a, questions: 2)), rcode: 1)
    respond("chaos", fixture.query("version.bind.", .txt, class: 3), snapshot: fixture.chaos, rcode: 0)
    respond(
        "sticky", fixture.query("sticky.bench.example.", .a, subnet: [198, 51, 100]), rcode: 0,
        check: { $0.usedClientSubnet })
    respond("tiered", fixture.query("tier.bench.example.", .a), health: fixture.agents, rcode: 0)
    respond("signed", fixture.query("h00002.bench.example.", .a, dnssec: true), snapshot: fixture.signed, rcode: 0)

}

/// The zone, the snapshot with the pool bound, an all-up health view, and buffers made once, as a
/// listener thread has them.
final class Fixture: @unchecked Sendable {
    let snapshot: Snapshot
    let health: HealthView
    /// The same with `version.bind` answered; with the zone signed (one ECDSA key); agents
    /// reporting 50 % for the tiered pool's first member.
    let chaos: Snapshot
    let signed: Snapshot
    let agents: HealthView
    let scratch = ResponderScratch()
    let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
    let aaaaName: String
    var packets: [UnsafeMutableRawBufferPointer] = []

    init() throws {
        var lines = [
            "$ORIGIN bench.example.", "$TTL 3600",
            "@ 300 IN SOA ns1 hostmaster (2026112501 3600 600 86400 300)",
            "@ NS ns1", "@ NS ns2", "@ MX 10 mail",
            "ns1 A 127.0.0.53", "ns2 A 127.0.0.54", "mail A 198.19.255.25",
            "pool 60 A 127.0.99.1", "pool 60 A 127.0.99.2", "pool 60 A 127.0.99.3", "pool 60 A 127.0.99.4",
            "*.wild A 198.19.255.1", "sub NS ns.sub", "sub NS ns1", "ns.sub A 198.19.255.53",
            "sticky 60 A 127.0.98.1", "sticky 60 A 127.0.98.2", "sticky 60 A 127.0.98.3", "sticky 60 A 127.0.98.4",
            "tier 60 A 127.0.97.1", "tier 60 A 127.0.97.2", "tier 60 A 127.0.97.3",
        ]
        var aaaa: String? = nil
        for i in 0..<10_000 {
            let name = "h" + String(i + 100_000).dropFirst()
            for k in 0..<(1 + i % 4) {
                let n = i * 4 + k
                lines.append("\(name) A 198.\(18 + (n >> 16)).\((n >> 8) & 255).\(n & 255)")
            }
            if i % 5 == 3 {
                lines.append("\(name) AAAA 2001:db8::\(String(i, radix: 16)):1")
                if aaaa == nil { aaaa = "\(name).bench.example." }
            }
            if i % 10 == 9 {
                lines.append(
                    "alias" + String(i / 10 + 1_000_000).dropFirst() + " CNAME h"
                        + String((i * 7) % 10_000 + 100_000).dropFirst())
            }
        }
        aaaaName = aaaa!
        let dir = FileManager.default.temporaryDirectory.path + "/carousel-micro-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/bench.example.zone"
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let origin = try DNSName("bench.example.")
        let parsed = try ZoneLoader.parse(file: file, origin: origin).get()
        let catalog = Catalog(zones: [
            try Zone.build(origin: parsed.origin, file: file, records: parsed.records.map(\.record))
        ])

        let check = Check(kind: .tcp, port: 5390, timing: Timing(interval: .seconds(1), timeout: .milliseconds(500)))
        let pools = [
            Pool(name: "pool.bench.example.", ttl: 20, check: check),
            Pool(name: "sticky.bench.example.", ttl: 20, maxAnswers: 2, order: .sticky, check: check),
            Pool(
                name: "tier.bench.example.", ttl: 20, check: check,
                tiers: [Pool.Tier(members: ["127.0.97.1", "127.0.97.2"]), Pool.Tier(members: ["127.0.97.3"])],
                agent: AgentCheck(port: 5391)),
        ]
        var ids: [TargetKey: Int32] = [:]
        for (i, key) in BalancePlan.targets(of: catalog, pools: pools).keys.sorted(by: {
            ($0.address, $0.check.port) < ($1.address, $1.check.port)
        })
        .enumerated() {
            ids[key] = Int32(i)
        }
        precondition(ids.count == 4 + 4 + 6, "the pools should have 14 probe targets, have \(ids.count)")
        let plan = BalancePlan.build(catalog: catalog, pools: pools, ids: ids)
        let up = [UInt8](repeating: HealthState.up.rawValue, count: ids.count)
        snapshot = Snapshot(catalog: catalog, options: ResponderOptions(), plan: plan)
        health = HealthView(states: up)
        var factors = [UInt16](repeating: 1000, count: ids.count)
        for (key, id) in ids where key.check.kind == .agent && key.address == "127.0.97.1" { factors[Int(id)] = 500 }
        agents = HealthView(states: up, factors: factors)
        chaos = Snapshot(
            catalog: catalog, options: ResponderOptions(version: "carousel", identity: "bench"), plan: plan)

        let key = DNSSECKey.generate(zone: origin, algorithm: .ecdsaP256SHA256)
        let keys = ZoneKeys(config: DNSSECZone(zone: origin, keys: dir), keys: [key])
        let now = Int64(Date().timeIntervalSince1970)
        let signedCatalog = Catalog(zones: [try keys.zone(catalog.zones[0], at: now)])
        signed = Snapshot(
            catalog: signedCatalog, options: ResponderOptions(),
            plan: BalancePlan.build(catalog: signedCatalog, pools: pools, ids: ids),
            signing: [keys.signing(at: now)])
    }

    /// A query as dig 9.18 sends it: RD and AD set, EDNS0 with a 1232-byte payload and an 8-byte
    /// client cookie (and DO, or an ECS option for `subnet`'s /24, when asked). Allocated once,
    /// kept for the life of the process.
    func query(
        _ name: String, _ type: RRType, class qclass: UInt16 = 1, dnssec: Bool = false, subnet: [UInt8]? = nil
    ) -> UnsafeRawBufferPointer {
        bytes(packet(name, type, class: qclass, dnssec: dnssec, subnet: subnet))
    }

    func packet(
        _ name: String, _ type: RRType, class qclass: UInt16 = 1, dnssec: Bool = false, subnet: [UInt8]? = nil,
        questions: Int = 1
    ) -> [UInt8] {
        var p: [UInt8] = [0x4a, 0x7e, 0x01, 0x20, 0, UInt8(questions), 0, 0, 0, 0, 0, 1]
        for _ in 0..<questions {
            p += (try! DNSName(name)).wire
            p += [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xff), UInt8(qclass >> 8), UInt8(qclass & 0xff)]
        }
        var options: [UInt8] = [0, 10, 0, 8, 0x5c, 0x21, 0x9f, 0x03, 0xa1, 0x77, 0x40, 0xe2]
        if let subnet { options += [0, 8, 0, 7, 0, 1, 24, 0] + subnet }
        p += [0, 0, 41, 0x04, 0xd0, 0, 0, dnssec ? 0x80 : 0, 0, 0, UInt8(options.count)] + options
        return p
    }

    func bytes(_ p: [UInt8]) -> UnsafeRawBufferPointer {
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: p.count, alignment: 16)
        buf.copyBytes(from: p)
        packets.append(buf)
        return UnsafeRawBufferPointer(buf)
    }
}
