import CarouselConfig
import DNSWire
import DNSZone
import Foundation
import Logging
import Responder
import Testing
import Transfer

@testable import Runtime

/// The runtime without its listeners: what a reload takes and what it refuses (the last good
/// config and zones keep serving), and drains with their answers.
@Suite("Runtime: reloads keep the last good; drains", .serialized)
struct RuntimeTests {
    static func zone(serial: Int, extra: String = "") -> String {
        """
        $ORIGIN example.test.
        $TTL 300
        @ IN SOA ns1 hostmaster \(serial) 3600 600 1209600 60
        @ IN NS ns1
        ns1 IN A 192.0.2.53
        www IN A 192.0.2.1
        www IN A 192.0.2.2
        \(extra)

        """
    }

    static let config = """
        listen: ["127.0.0.1:0"]
        pools:
          - name: www.example.test
            ttl: 20
            check: { type: none }

        """

    /// A temporary directory with `zones/example.test.zone` and `carousel.yaml`, and a runtime
    /// over them (never started: no listener is bound); stopped and removed at the end.
    final class World {
        let dir = FileManager.default.temporaryDirectory.path + "/carousel-runtime-" + UUID().uuidString
        var configPath: String { dir + "/carousel.yaml" }
        var zonePath: String { dir + "/zones/example.test.zone" }
        let runtime: CarouselRuntime

        init() throws {
            try FileManager.default.createDirectory(atPath: dir + "/zones", withIntermediateDirectories: true)
            try RuntimeTests.zone(serial: 1).write(
                toFile: dir + "/zones/example.test.zone", atomically: true, encoding: .utf8)
            let text = RuntimeTests.config + "zones: \"\(dir)/zones\"\n"
            try text.write(toFile: dir + "/carousel.yaml", atomically: true, encoding: .utf8)
            let config = try Config.parse(text, file: dir + "/carousel.yaml").get()
            var logger = Logger(label: "runtime-tests")
            logger.logLevel = .critical
            runtime = CarouselRuntime(config: config, configPath: dir + "/carousel.yaml", logger: logger)
        }

        func write(_ path: String, _ text: String) throws {
            try text.write(toFile: path + ".new", atomically: false, encoding: .utf8)
            _ = rename(path + ".new", path)
        }

        func finish() async {
            await runtime.stop()
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    /// The serial and the pools bound in the snapshot the runtime publishes.
    func served(_ runtime: CarouselRuntime) async -> (serial: UInt32?, pools: [String]) {
        let snapshot = await runtime.snapshot
        return (snapshot.catalog.zones.first?.serial, snapshot.plan.pools.map(\.name))
    }

    @Test(
        "a config edit that does not parse, or that the validator refuses, leaves the running config; a good one is taken"
    )
    func configReload() async throws {
        let world = try World()
        await world.runtime.reload()
        #expect(await served(world.runtime) == (1, ["www.example.test"]))
        // Not YAML.
        try world.write(world.configPath, "pools: [\n")
        await world.runtime.reload()
        #expect(await world.runtime.configErrors.first?.hasPrefix(world.configPath + ":") == true)
        #expect(await world.runtime.config.pools.map(\.name) == ["www.example.test"])
        // YAML, but a pool with no records in any zone: the one validator refuses it.
        try world.write(
            world.configPath,
            Self.config.replacingOccurrences(of: "www.example.test", with: "nothing.example.test")
                + "zones: \"\(world.dir)/zones\"\n")
        await world.runtime.reload()
        let errors = await world.runtime.configErrors
        #expect(
            errors == ["\(world.configPath):3: pools: nothing.example.test has no A or AAAA records in any zone"],
            "\(errors)")
        #expect(await served(world.runtime).pools == ["www.example.test"])
        // A good edit: a second pool setting.
        try world.write(
            world.configPath,
            Self.config.replacingOccurrences(of: "ttl: 20", with: "ttl: 7") + "zones: \"\(world.dir)/zones\"\n")
        await world.runtime.reload()
        #expect(await world.runtime.configErrors.isEmpty)
        #expect(await world.runtime.config.pools.first?.ttl == 7)
        await world.finish()
    }

    @Test("a broken zone edit keeps the last good zone in the snapshot, with its error; the fix is served")
    func zoneReload() async throws {
        let world = try World()
        await world.runtime.reload()
        try world.write(world.zonePath, Self.zone(serial: 2, extra: "bad IN A 192.0.2.300"))
        await world.runtime.poll()
        #expect(await served(world.runtime).serial == 1)
        let errors = await world.runtime.zoneErrors.map(\.description)
        #expect(errors.count == 1 && errors[0].hasPrefix(world.zonePath + ":"), "\(errors)")
        try world.write(world.zonePath, Self.zone(serial: 3))
        await world.runtime.poll()
        #expect(await served(world.runtime).serial == 3)
        #expect(await world.runtime.zoneErrors.isEmpty)
        await world.finish()
    }

    @Test("drains: every pool or one; the last usable member only with force; undrain; unknown addresses")
    func drains() async throws {
        let world = try World()
        await world.runtime.reload()
        let runtime = world.runtime
        #expect(await runtime.drain(address: "192.0.2.9", pool: nil, force: false).status == 404)
        #expect(await runtime.drain(address: "not-an-address", pool: nil, force: false).status == 400)
        let first = await runtime.drain(address: "192.0.2.1", pool: nil, force: false)
        #expect(first.status == 200 && first.message == "192.0.2.1 drained from every pool", "\(first)")
        #expect(await runtime.prober.drainedAddresses.contains("192.0.2.1"))
        // The pool has no check: the drain is in the plan (no probe target carries its bit).
        #expect(await runtime.snapshot.plan.sets.first?.drained == [true, false], "drained everywhere, in the plan")
        let last = await runtime.drain(address: "192.0.2.2", pool: nil, force: false)
        #expect(last.status == 409 && last.message.contains("no healthy member"), "\(last)")
        #expect(await runtime.drain(address: "192.0.2.2", pool: "www.example.test", force: true).status == 200)
        #expect(await runtime.prober.drainedAddresses.contains("www.example.test/192.0.2.2"))
        #expect(await runtime.snapshot.plan.sets.first?.drained.contains(true) == true, "a pool drain is in the plan")
        #expect(await runtime.undrain(address: "192.0.2.1", pool: nil).status == 200)
        #expect(await runtime.undrain(address: "192.0.2.2", pool: "www.example.test.").status == 200)
        #expect(await runtime.prober.drainedAddresses.isEmpty)
        await world.finish()
    }

    @Test("not ready before it listens, nor while a zone file has no version that loads")
    func readiness() async throws {
        let world = try World()
        await world.runtime.reload()
        #expect(await world.runtime.notReady() == ["not listening yet"])
        try world.write(world.dir + "/zones/broken.test.zone", "$ORIGIN broken.test.\n@ IN SOA ns1 hostmaster (\n")
        await world.runtime.poll()
        let reasons = await world.runtime.notReady()
        #expect(
            reasons.count == 2
                && reasons[0].hasPrefix("zone file \(world.dir)/zones/broken.test.zone has no version that loads: "),
            "\(reasons)")
        // A broken edit of a zone that loaded before keeps its last good version: still fit.
        try FileManager.default.removeItem(atPath: world.dir + "/zones/broken.test.zone")
        try world.write(world.zonePath, Self.zone(serial: 9, extra: "bad IN A 192.0.2.300"))
        await world.runtime.poll()
        #expect(await world.runtime.notReady() == ["not listening yet"])
        await world.finish()
    }
}

/// Which member of `fleet.members` this instance is, when neither `self`, `--fleet-self` nor
/// CAROUSEL_FLEET_SELF says: the one whose address it listens on, else one whose address is this
/// machine's (a socket binds to it).
@Suite struct FleetSelfTests {
    let members = [
        FleetMember(id: "far", address: HostPort(host: "192.0.2.1", port: 53)),
        FleetMember(id: "lo6", address: HostPort(host: "::1", port: 53)),
        FleetMember(id: "lo", address: HostPort(host: "127.0.0.77", port: 53)),
    ]

    @Test func theMemberItListensOnThenALocalAddress() {
        let listening = CarouselRuntime.localMember(members, listen: [HostPort(host: "127.0.0.77", port: 53)])
        #expect(listening?.id == "lo")
        // Not listened on: the first member whose address binds here (192.0.2.1 is not local).
        #expect(CarouselRuntime.localMember(members, listen: [HostPort(host: "0.0.0.0", port: 53)])?.id == "lo6")
        #expect(CarouselRuntime.isLocal("127.0.0.77") && CarouselRuntime.isLocal("::1"))
        #expect(!CarouselRuntime.isLocal("192.0.2.1") && !CarouselRuntime.isLocal("2001:db8::1"))
        #expect(CarouselRuntime.localMember([members[0]], listen: []) == nil)
    }
}
