// The query path, piece by piece and end to end, with allocation counts: a change that adds a heap
// allocation per query shows up here as a mallocCountTotal above 0 (README "Answers").
// The zone has the shape of bench/gen-zone's: 10,000 hosts with 1–4 A records, AAAA on some,
// CNAME aliases, a wildcard and a four-address pool name bound to a tcp-checked pool.
import Balancer
import Benchmark
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
        Benchmark("Responder.respond.\(label)") { benchmark in
            let q = fixture.query(name, type)
            let snapshot = fixture.snapshot, health = fixture.health, scratch = fixture.scratch, out = fixture.out
            let check = Responder.respond(
                to: q, over: .udp, snapshot: snapshot, health: health, into: out, scratch: scratch)
            precondition(check.length > 0 && check.rcode == (label == "nxdomain" ? 3 : 0), "\(label): \(check)")
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(
                    Responder.respond(
                        to: q, over: .udp, snapshot: snapshot, health: health, into: out, scratch: scratch))
            }
        }
    }
}

/// The zone, the snapshot with the pool bound, an all-up health view, and buffers made once, as a
/// listener thread has them.
final class Fixture: @unchecked Sendable {
    let snapshot: Snapshot
    let health: HealthView
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
        let pools = [Pool(name: "pool.bench.example.", ttl: 20, check: check)]
        var ids: [TargetKey: Int32] = [:]
        for (i, key) in BalancePlan.targets(of: catalog, pools: pools).keys.sorted(by: { $0.address < $1.address })
            .enumerated()
        {
            ids[key] = Int32(i)
        }
        precondition(ids.count == 4, "the pool should have four probe targets, has \(ids.count)")
        let plan = BalancePlan.build(catalog: catalog, pools: pools, ids: ids)
        snapshot = Snapshot(catalog: catalog, options: ResponderOptions(), plan: plan)
        health = HealthView(states: [UInt8](repeating: HealthState.up.rawValue, count: ids.count))
    }

    /// A query as dig 9.18 sends it: RD and AD set, EDNS0 with a 1232-byte payload and an 8-byte
    /// client cookie. Allocated once, kept for the life of the process.
    func query(_ name: String, _ type: RRType) -> UnsafeRawBufferPointer {
        var p: [UInt8] = [0x4a, 0x7e, 0x01, 0x20, 0, 1, 0, 0, 0, 0, 0, 1]
        p += (try! DNSName(name)).wire
        p += [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xff), 0, 1]
        p += [0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 12, 0, 10, 0, 8, 0x5c, 0x21, 0x9f, 0x03, 0xa1, 0x77, 0x40, 0xe2]
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: p.count, alignment: 16)
        buf.copyBytes(from: p)
        packets.append(buf)
        return UnsafeRawBufferPointer(buf)
    }
}
