import Testing

@testable import Transfer

/// The master's election, run over simulated members that poll each other once a second through
/// links that a test cuts and mends: never two masters, whatever the partition; one master again
/// within `stale_after` + 1 s of the old one's death; a returning member does not displace it.
/// (Serialized, and the long simulation yields between rounds: it is pure computation, and would
/// otherwise hold the cooperative pool's threads from other suites' timed work for seconds.)
@Suite(.serialized) struct FleetElectionTests {
    /// A fleet on a simulated clock, stepped every 50 ms. Each member polls each peer once a second
    /// (at its own phase); a poll that crosses a working link brings the peer's current vote; a
    /// member whose vote changed NOTIFYs its peers, which pull at once when the link works.
    struct Sim {
        let ids: [String]
        let staleAfter: Duration = .seconds(3)
        var now = ContinuousClock.now
        var elections: [String: FleetElection] = [:]
        var known: [String: [String: FleetElection.Peer]] = [:]
        var phase: [String: Int] = [:]
        var ms = 0
        var down: Set<String> = []
        var cut: Set<[String]> = []
        var outcomes: [String: FleetElection.Outcome] = [:]
        var rng: UInt64

        init(_ n: Int, seed: UInt64 = 1) {
            ids = (1...n).map { "m\($0)" }
            rng = seed
            for (i, id) in ids.enumerated() {
                elections[id] = FleetElection(now: now, staleAfter: staleAfter)
                known[id] = [:]
                // Members poll at their own phases: evenly spread for the first seed, at random after.
                phase[id] = seed == 1 ? 1000 * i / n + 37 : random(1000)
            }
        }

        mutating func random(_ n: Int) -> Int {
            rng = rng &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((rng >> 33) % UInt64(n))
        }

        func linked(_ a: String, _ b: String) -> Bool {
            !down.contains(a) && !down.contains(b) && !cut.contains([a, b].sorted())
        }

        mutating func hear(_ a: String, _ b: String) {
            known[a]![b] = FleetElection.Peer(lastHeard: now, upToDate: true, vote: elections[b]!.vote)
        }

        /// One 50 ms step: polls that fall due, every live member's election, NOTIFYs.
        mutating func tick() {
            now += .milliseconds(50)
            ms += 50
            for a in ids where !down.contains(a) && (ms + 1000 - phase[a]! % 1000) % 1000 < 50 {
                for b in ids where b != a && linked(a, b) { hear(a, b) }
            }
            for a in ids where !down.contains(a) {
                let before = elections[a]!.vote
                outcomes[a] = elections[a]!.step(me: a, members: ids, peers: known[a]!, now: now)
                if elections[a]!.vote != before {
                    for b in ids where b != a && linked(a, b) { hear(b, a) }
                }
            }
        }

        var masters: [String] { ids.filter { !down.contains($0) && outcomes[$0]?.role == .master } }

        mutating func run(seconds: Double, check: (Sim) -> Void = { _ in }) {
            for _ in 0..<Int(seconds * 20) {
                tick()
                check(self)
            }
        }

        mutating func kill(_ id: String) {
            down.insert(id)
            outcomes[id] = nil
        }

        mutating func restart(_ id: String) {
            down.remove(id)
            elections[id] = FleetElection(now: now, staleAfter: staleAfter)
            known[id] = [:]
        }
    }

    @Test func oneMasterFormsAndStays() {
        var sim = Sim(3)
        sim.run(seconds: 6)
        #expect(sim.masters == ["m1"])
        #expect(sim.outcomes["m2"]?.role == .standby && sim.outcomes["m2"]?.master == "m1")
        sim.run(seconds: 20) { #expect($0.masters == ["m1"]) }
    }

    @Test func standbyTakesOverWithinStaleAfterAndASecond() {
        var sim = Sim(3)
        sim.run(seconds: 8)
        sim.kill("m1")
        var took: Double?
        for step in 1...200 {
            sim.tick()
            #expect(sim.masters.count <= 1)
            if sim.masters == ["m2"] {
                took = Double(step) * 0.05
                break
            }
        }
        #expect(took != nil, "no master after the old one died: \(sim.outcomes)")
        #expect((took ?? 99) <= 3 + 1 + 0.1, "took over after \(took ?? -1) s")
        // The old master returns: it follows; m2 stays master.
        sim.restart("m1")
        sim.run(seconds: 10) { #expect($0.masters.count <= 1) }
        #expect(sim.masters == ["m2"])
        #expect(sim.outcomes["m1"]?.role == .standby && sim.outcomes["m1"]?.master == "m2")
    }

    @Test func aMinorityNeverHasAMaster() {
        var sim = Sim(3)
        sim.run(seconds: 8)
        // m1 (the master) alone on one side.
        sim.cut = [["m1", "m2"], ["m1", "m3"]]
        sim.run(seconds: 10) { #expect($0.masters.count <= 1) }
        #expect(sim.masters == ["m2"])
        #expect(sim.outcomes["m1"]?.role == .alone)
        // A link cut between the master and one standby only: still one master.
        sim.cut = [["m2", "m3"]]
        sim.run(seconds: 15) { #expect($0.masters.count <= 1) }
        #expect(sim.masters.count == 1)
        sim.cut = []
        sim.run(seconds: 10) { #expect($0.masters.count <= 1) }
        #expect(sim.masters.count == 1)
    }

    @Test(arguments: [3, 5], 1...16)
    func randomPartitionsNeverMakeTwoMasters(members: Int, seed: Int) async {
        var sim = Sim(members, seed: UInt64(seed))
        for _ in 0..<30 {
            // Cut or mend a random link, or kill or restart a member, then let a while pass.
            let a = sim.ids[sim.random(members)]
            let b = sim.ids[sim.random(members)]
            switch sim.random(4) {
            case 0 where a != b: sim.cut.insert([a, b].sorted())
            case 1: sim.cut.remove([a, b].sorted())
            case 2 where sim.down.count < members / 2: sim.kill(a)
            default: if sim.down.contains(a) { sim.restart(a) }
            }
            sim.run(seconds: Double(1 + sim.random(6))) {
                #expect($0.masters.count <= 1, "two masters: \($0.masters) cut \($0.cut) down \($0.down)")
            }
            await Task.yield()
        }
        // Everything mended: one master within stale_after + a hold.
        sim.cut = []
        for id in sim.down { sim.restart(id) }
        sim.run(seconds: 12)
        #expect(sim.masters.count == 1, "\(sim.outcomes)")
    }
}
