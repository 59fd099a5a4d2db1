// The fleet as a primary for NSD and Knot: one member at a time (the master) publishes the
// health versions of a `publish_health` zone, the others serve its copy; a secondary listing all
// three gets the same zone under the same serial from any of them, and the zone goes on moving
// when the master is cut off or killed. Everything the secondaries and the members serve is
// sampled by AXFR the whole time: serials only grow, and no serial is ever seen with two contents.

import Foundation
import Testing

@Suite("Fleet: a master publishes for secondaries, a standby takes over", .serialized)
struct FleetNetMasterTests {
    static let nsd = "\(NetLab.subnet).31"
    static let knot = "\(NetLab.subnet).32"

    static let transfers = """
        transfers:
          - zone: example.net
            allow: ["\(NetLab.subnet).0/24"]
            notify: ["\(nsd):53", "\(knot):53"]
            publish_health: true

        """

    /// NSD and Knot in the lab's host `sec`, each listing the three members as primaries.
    static func startSecondaries(_ fleet: FleetNetTests.Fleet) async throws {
        let lab = fleet.lab
        try await lab.add("sec", octets: [31, 32])
        let dir = lab.dir.path("sec")
        try FileManager.default.createDirectory(atPath: dir + "/nsd", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/knot", withIntermediateDirectories: true)
        let primaries = ["m1", "m2", "m3"].map(fleet.address)
        let nsdConf = """
            server:
                ip-address: \(FleetNetMasterTests.nsd)
                port: 53
                do-ip6: no
                username: ""
                database: ""
                chroot: ""
                zonelistfile: "\(dir)/nsd/zone.list"
                xfrdfile: "\(dir)/nsd/xfrd.state"
                xfrdir: "\(dir)/nsd"
                pidfile: "\(dir)/nsd/nsd.pid"
                zonesdir: "\(dir)/nsd"
                server-count: 1
                verbosity: 2
                xfrd-reload-timeout: 0
            remote-control:
                control-enable: no
            zone:
                name: "example.net"
                zonefile: "\(dir)/nsd/example.net.zone"
            \(primaries.map { "    request-xfr: \($0)@53 NOKEY" }.joined(separator: "\n"))
                allow-notify: \(NetLab.subnet).0/24 NOKEY
                provide-xfr: \(NetLab.subnet).0/24 NOKEY

            """
        let knotConf = """
            server:
                rundir: "\(dir)/knot"
                listen: \(FleetNetMasterTests.knot)@53
                udp-workers: 1
                tcp-workers: 1
                background-workers: 1
            log:
              - target: stderr
                any: info
            database:
                storage: "\(dir)/knot"
            remote:
            \(primaries.enumerated().map { "  - id: m\($0.offset + 1)\n    address: \($0.element)@53\n    via: \(FleetNetMasterTests.knot)" }.joined(separator: "\n"))
            acl:
              - id: peers
                address: \(NetLab.subnet).0/24
                action: [transfer, notify]
            template:
              - id: default
                storage: "\(dir)/knot"
                zonefile-sync: -1
                journal-content: none
            zone:
              - domain: example.net
                master: [m1, m2, m3]
                acl: peers

            """
        try nsdConf.write(toFile: dir + "/nsd.conf", atomically: true, encoding: .utf8)
        try knotConf.write(toFile: dir + "/knot.conf", atomically: true, encoding: .utf8)
        _ = try lab.spawn("sec", ["nsd", "-d", "-c", dir + "/nsd.conf"], name: "nsd")
        _ = try lab.spawn("sec", ["knotd", "-c", dir + "/knot.conf"], name: "knot")
    }

    /// The serial `server` answers for example.net's SOA (nil: none yet).
    static func serial(_ fleet: FleetNetTests.Fleet, _ server: String) async throws -> UInt32? {
        let r = try await fleet.lab.run(
            "back", ["dig", "+short", "+time=1", "+tries=1", "@\(server)", "example.net", "SOA"])
        let fields = r.stdout.split(separator: " ")
        return fields.count >= 3 ? UInt32(fields[2]) : nil
    }

    /// Each member's role now (nil for one that does not answer).
    static func roles(_ fleet: FleetNetTests.Fleet, _ members: [String]) async -> [String: String] {
        var out: [String: String] = [:]
        for m in members { out[m] = try? await fleet.role(m) }
        return out
    }

    /// Polls until exactly one of `members` says it is master; its id.
    static func waitForMaster(_ fleet: FleetNetTests.Fleet, _ members: [String], limit: Double) async throws
        -> String
    {
        let start = ContinuousClock.now
        var seen: [String: String] = [:]
        while Poll.seconds(since: start) < limit {
            seen = await roles(fleet, members)
            let masters = seen.filter { $0.value == "master" }.keys
            if masters.count == 1 { return masters.first! }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw HarnessError("no single master among \(members) within \(limit) s: \(seen)")
    }

    @Test(
        "NSD and Knot list all three members: one master at a time, also when the fleet is cut 2 | 1; killed, a standby takes over and the secondaries follow; serials only grow, none with two contents"
    )
    func masterAndStandby() async throws {
        try await FleetNetTests().withFleet(extraConfig: FleetNetMasterTests.transfers) { fleet in
            let all = ["m1", "m2", "m3"]
            let first = try await FleetNetMasterTests.waitForMaster(fleet, all, limit: 15)
            // The page says who is master, and each member's votes; so does carousel explain.
            let page = try await fleet.lab.run(first, ["python3", fleet.client, "get", "http://127.0.0.1:8053/"])
            #expect(page.stdout.contains("id=\"fleet\" data-role=\"master\""), "\(page.stdout)")
            for m in all where m != first {
                #expect(page.stdout.contains("data-member=\"\(m)\" data-role=\"standby\""), "\(page.stdout)")
            }
            #expect(page.stdout.contains("0/3 down, 2 take it out: m1 up, m2 up, m3 up"), "\(page.stdout)")
            let explain = try await fleet.lab.run(
                "m2",
                [
                    CarouselServer.binary, "explain", "www.example.net", "--client", "\(NetLab.subnet).20",
                    "--admin",
                    "http://127.0.0.1:8053",
                ])
            #expect(
                explain.stdout.contains("FLEET VOTES") && explain.stdout.contains("0/3 down, 2 take it out: m1 up"),
                "\(explain.stdout)\(explain.stderr)")
            try await FleetNetMasterTests.startSecondaries(fleet)
            let secondaries = [FleetNetMasterTests.nsd, FleetNetMasterTests.knot]
            let ready = ContinuousClock.now
            for s in secondaries {
                while try await FleetNetMasterTests.serial(fleet, s) == nil {
                    guard Poll.seconds(since: ready) < 20 else {
                        throw HarnessError(
                            "\(s) never had example.net\n\(fleet.lab.output("nsd"))\n\(fleet.lab.output("knot"))")
                    }
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            // Every member and both secondaries, sampled by AXFR for the rest of the test.
            let sampled = 32.0
            let servers = all.map(fleet.address) + secondaries
            async let versions = fleet.lab.run(
                "back", ["python3", fleet.client, "versions", "example.net", "\(sampled)"] + servers,
                timeout: sampled + 30)
            let sampling = ContinuousClock.now

            // The fleet cut 2 | 1, the master alone on its side: one master, on the other side.
            let others = all.filter { $0 != first }
            for peer in others { try await fleet.lab.cut(first, from: fleet.address(peer)) }
            var twoMasters: [[String: String]] = []
            let cut = ContinuousClock.now
            while Poll.seconds(since: cut) < 3 + 1 + 3 {
                let seen = await FleetNetMasterTests.roles(fleet, all)
                if seen.values.filter({ $0 == "master" }).count > 1 { twoMasters.append(seen) }
                try await Task.sleep(for: .milliseconds(150))
            }
            #expect(twoMasters.isEmpty, "two masters at once: \(twoMasters)")
            let second = try await FleetNetMasterTests.waitForMaster(fleet, others, limit: 1)
            #expect(try await fleet.role(first) == "alone")
            for peer in others { try await fleet.lab.mend(first, from: fleet.address(peer)) }
            let back = try await fleet.waitForRole(first, "standby", limit: 5)
            #expect(back != nil, "\(first) did not rejoin as standby\n\(fleet.log(first))")
            #expect(try await fleet.role(second) == "master", "the new master stays when the old one returns")

            // Kill the master, then a backend: both secondaries drop it within stale_after +
            // interval × fall + 2 s, from the member that takes over.
            let dead = fleet.backend(0)
            let killed = Date().timeIntervalSince1970
            fleet.servers[second]?.kill()
            fleet.backends[dead]?.kill()
            let bound = 3 + FleetNetTests.interval * 1.1 * FleetNetTests.fall + 2
            let watched = try await fleet.lab.run(
                "back",
                ["python3", fleet.client, "watch", "www.example.net", dead, "absent", "\(bound + 5)"] + secondaries,
                timeout: bound + 30)
            let gone = try #require(
                try JSONSerialization.jsonObject(with: Data(watched.stdout.utf8)) as? [String: Any],
                "\(watched.stderr)")
            for s in secondaries {
                let t = gone[s] as? Double
                #expect(
                    t != nil && t! - killed <= bound, "\(s) dropped \(dead) after \(t.map { $0 - killed } ?? -1) s")
            }
            let third = try await FleetNetMasterTests.waitForMaster(
                fleet, others.filter { $0 != second } + [first], limit: 2)
            print(
                "fleet: master \(first); cut off, \(second) took over; killed, \(third) took over and the secondaries dropped a dead backend after \(secondaries.map { ((gone[$0] as? Double).map { String(format: "%.2f", $0 - killed) }) ?? "never" }) s"
            )

            // What every server served, version by version.
            try await Task.sleep(for: .seconds(max(0, sampled - Poll.seconds(since: sampling))))
            let r = try await versions
            let json = try #require(
                try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: [[Any]]], "\(r.stderr)")
            var contents: [UInt32: Set<[String]>] = [:]
            for (server, seen) in json {
                var last: UInt32?
                for entry in seen {
                    let serial = try #require((entry[1] as? NSNumber)?.uint32Value)
                    let records = try #require(entry[2] as? [String])
                    contents[serial, default: []].insert(records)
                    if let last { #expect(serial >= last, "\(server) went from \(last) to \(serial)") }
                    last = serial
                }
                #expect(seen.count >= 2 || all.map(fleet.address).contains(server), "\(server): \(seen)")
            }
            for (serial, seen) in contents {
                #expect(seen.count == 1, "serial \(serial) named \(seen.count) contents: \(seen)")
            }
            // The members alive at the end serve what the secondaries have: the master's
            // version, and a standby's copy of it.
            let finalSerial = try #require((json[FleetNetMasterTests.nsd]?.last?[1] as? NSNumber)?.uint32Value)
            for m in all where m != second {
                let served = (json[fleet.address(m)]?.last?[1] as? NSNumber)?.uint32Value
                #expect(
                    served == finalSerial, "\(m) serves \(served.map(String.init) ?? "nothing"), NSD \(finalSerial)"
                )
            }
            for s in secondaries {
                let final = try #require(json[s]?.last?[2] as? [String])
                #expect(!final.contains("www.example.net. A \(dead)"), "\(s) ends with \(final)")
                #expect(final.contains("www.example.net. A \(fleet.backend(1))"), "\(s) ends with \(final)")
            }
        }
    }
}
