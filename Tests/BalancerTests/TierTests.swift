import DNSWire
import DNSZone
import Health
import Testing

@testable import Balancer

/// Tiers, agents' weights and slow-start factors, as the selection sees them in a health view.
@Suite("Tiers and effective weights: standby tiers, min_up, agent reports, slow start")
struct TierTests {
    let four = ["127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"]

    /// 11 and 12 first, 13 and 14 standby.
    func tiered(_ minUp: Pool.Tier.MinUp = .count(1), _ configure: (inout Pool) -> Void = { _ in }) -> Pool {
        pool("www.example.com") {
            $0.tiers = [
                Pool.Tier(members: ["127.0.0.11", "127.0.0.12"], minUp: minUp),
                Pool.Tier(members: ["127.0.0.13", "127.0.0.14"]),
            ]
            configure(&$0)
        }
    }

    func firsts(_ h: Harness, _ view: HealthView, _ n: Int) throws -> [String: Int] {
        var out: [String: Int] = [:]
        for _ in 0..<n { out[try h.answer("www.example.com.", view: view).1[0], default: 0] += 1 }
        return out
    }

    func ttl(_ h: Harness, _ view: HealthView) throws -> UInt32? {
        guard case .records(_, let ttl) = try h.answer("www.example.com.", view: view).0 else { return nil }
        return ttl
    }

    @Test("the first tier answers while it has min_up usable members; the standby only when it has not")
    func standby() throws {
        let h = try Harness(pools: [tiered()])
        #expect(Set(try h.answer("www.example.com.", view: h.view()).1) == ["127.0.0.11", "127.0.0.12"])
        #expect(try ttl(h, h.view()) == 20)
        // One primary down: the other answers alone, TTL halved.
        #expect(try h.answer("www.example.com.", view: h.view(down: ["127.0.0.11"])).1 == ["127.0.0.12"])
        #expect(try ttl(h, h.view(down: ["127.0.0.11"])) == 10)
        // Both down: the standby tier, TTL halved.
        let standby = h.view(down: ["127.0.0.11", "127.0.0.12"])
        #expect(Set(try h.answer("www.example.com.", view: standby).1) == ["127.0.0.13", "127.0.0.14"])
        #expect(try ttl(h, standby) == 10)
        // Drained primaries count as out too.
        #expect(
            Set(try h.answer("www.example.com.", view: h.view(drained: ["127.0.0.11", "127.0.0.12"])).1) == [
                "127.0.0.13", "127.0.0.14",
            ])
    }

    @Test("min_up 50 % of four: two up still answer, one up fails over")
    func percent() throws {
        let catalog = try makeCatalog(addresses: four + ["127.0.0.15"])
        let p = pool("www.example.com") {
            $0.tiers = [Pool.Tier(members: four, minUp: .percent(50)), Pool.Tier(members: ["127.0.0.15"])]
        }
        let h = try Harness(pools: [p], catalog: catalog)
        #expect(h.plan.sets[0].tierNeeded == [2, 1])
        let two = try h.answer("www.example.com.", view: h.view(down: ["127.0.0.11", "127.0.0.12"])).1
        #expect(Set(two) == ["127.0.0.13", "127.0.0.14"])
        let one = try h.answer("www.example.com.", view: h.view(down: ["127.0.0.11", "127.0.0.12", "127.0.0.13"])).1
        #expect(one == ["127.0.0.15"])
        // Nothing meets its min_up: the first tier with a usable member answers.
        let none = h.view(down: ["127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.15"])
        #expect(try h.answer("www.example.com.", view: none).1 == ["127.0.0.14"])
    }

    @Test("every tier out: all_down applies, and serve_all answers with the first tier")
    func allDown() throws {
        let down = Set(four)
        let h = try Harness(pools: [tiered()])
        #expect(Set(try h.answer("www.example.com.", view: h.view(down: down)).1) == ["127.0.0.11", "127.0.0.12"])
        let s = try Harness(pools: [tiered { $0.allDown = .servfail }])
        #expect(try s.answer("www.example.com.", view: s.view(down: down)).0 == .servfail)
        // publish_health's zone versions: the members answered now.
        #expect(h.plan.answering(set: 0, health: h.view()) == [0, 1])
        #expect(h.plan.answering(set: 0, health: h.view(down: ["127.0.0.11", "127.0.0.12"])) == [2, 3])
        #expect(h.plan.answering(set: 0, health: h.view(down: down)) == [0, 1])
    }

    @Test("membership says which tier answers and why a usable standby is out")
    func membership() throws {
        let h = try Harness(pools: [tiered()])
        let m = h.plan.membership(set: 0, member: 2, health: h.view())
        #expect(!m.included && m.why.hasPrefix("standby: tier 1 answers"))
        #expect(h.plan.membership(set: 0, member: 0, health: h.view()).why == "healthy, tier 1 answers")
        let failed = h.view(down: ["127.0.0.11", "127.0.0.12"])
        #expect(h.plan.membership(set: 0, member: 2, health: failed).included)
        #expect(h.plan.membership(set: 0, member: 0, health: failed).why == "down")
    }

    /// A view where each address's agent reports `percent` (100 when not given), all checks up.
    func agentView(
        _ h: Harness, _ percents: [String: UInt16], states: [String: HealthState] = [:], maint: Set<String> = []
    )
        -> HealthView
    {
        var s = [UInt8](repeating: HealthState.up.rawValue, count: h.ids.count)
        var f = [UInt16](repeating: 1000, count: h.ids.count)
        for (key, id) in h.ids where key.check.kind == .agent {
            if let p = percents[key.address] { f[Int(id)] = p * 10 }
            if let st = states[key.address] { s[Int(id)] = st.rawValue }
            if maint.contains(key.address) { s[Int(id)] |= HealthView.drainedBit }
        }
        return HealthView(states: s, factors: f)
    }

    @Test("an agent's 25 % on one of two equal members: a fifth of first places (rotate becomes weighted)")
    func agentShare() throws {
        let catalog = try makeCatalog(addresses: ["127.0.0.11", "127.0.0.12"])
        let h = try Harness(pools: [pool("www.example.com") { $0.agent = AgentCheck(port: 9999) }], catalog: catalog)
        #expect(h.plan.sets[0].dynamicWeights)
        let counts = try firsts(h, agentView(h, ["127.0.0.11": 25]), 400)
        let share = Double(counts["127.0.0.11"] ?? 0) / 400
        #expect(abs(share - 0.2) <= 0.02, "share \(share)")
        // Both at 100 %: half each.
        let even = try firsts(h, agentView(h, [:]), 400)
        #expect(abs(Double(even["127.0.0.11"] ?? 0) / 400 - 0.5) <= 0.02)
    }

    @Test("drain, 0 %, maint and down from an agent take a member out; the check's verdict still counts")
    func agentOut() throws {
        let h = try Harness(pools: [pool("www.example.com") { $0.agent = AgentCheck(port: 9999) }])
        for view in [
            agentView(h, ["127.0.0.11": 0]), agentView(h, [:], states: ["127.0.0.11": .down]),
            agentView(h, [:], maint: ["127.0.0.11"]),
        ] {
            #expect(!Set(try h.answer("www.example.com.", view: view).1).contains("127.0.0.11"))
        }
        let why = h.plan.membership(set: 0, member: 0, health: agentView(h, ["127.0.0.11": 0])).why
        #expect(why == "drain (agent)")
        #expect(
            h.plan.membership(set: 0, member: 0, health: agentView(h, [:], states: ["127.0.0.11": .down])).why
                == "down (agent)")
        // An agent that has never answered (unknown, factor 1000) leaves the member in.
        #expect(try h.answer("www.example.com.", view: .empty).1.count == 4)
    }

    @Test("weighted and sticky pools follow effective weights; equal factors keep the sticky order")
    func stickyAndWeighted() throws {
        let catalog = try makeCatalog(addresses: ["127.0.0.11", "127.0.0.12"])
        let w = try Harness(
            pools: [
                pool("www.example.com") {
                    $0.order = .weighted
                    $0.weights = ["127.0.0.11": 3, "127.0.0.12": 1]
                    $0.agent = AgentCheck(port: 9999)
                }
            ], catalog: catalog)
        // Configured 3:1, the first reports 33 %: about 1:1.
        let counts = try firsts(w, agentView(w, ["127.0.0.11": 33]), 400)
        #expect(abs(Double(counts["127.0.0.11"] ?? 0) / 400 - 0.497) <= 0.03)

        let s = try Harness(pools: [pool("www.example.com") { $0.order = .sticky }])
        let d = try Harness(pools: [
            pool("www.example.com") {
                $0.order = .sticky; $0.slowStart = .seconds(30)
            }
        ])
        var moved = 0
        for i in 0..<512 {
            let key = StickyKey(
                ClientSubnet(family: .ipv4, sourcePrefix: 24, high: UInt64(10 << 24 | i << 8) << 32, low: 0),
                prefixes: .init())
            // Dynamic weights at full factor rank as the uniform shortcut does.
            #expect(try s.answer("www.example.com.", client: key).1 == d.answer("www.example.com.", client: key).1)
            // A ramp at 10 % on 127.0.0.11 moves only keys away from it.
            var f = [UInt16](repeating: 1000, count: d.ids.count)
            f[Int(d.ids[TargetKey(address: "127.0.0.11", check: Check(kind: .tcp))]!)] = 100
            let ramped = try d.answer("www.example.com.", view: HealthView(states: [], factors: f), client: key).1[0]
            let before = try d.answer("www.example.com.", client: key).1[0]
            if ramped != before {
                #expect(before == "127.0.0.11")
                moved += 1
            }
        }
        #expect(moved > 64 && moved < 160, "\(moved) of 512 keys left the ramping member (of its ~128)")
    }
}

@Suite("Answer counters: one writer per thread, read from any")
struct AnswerCountsTests {
    @Test("answers and first places per member; a reader on another thread sees them while the writer counts")
    func counts() async throws {
        let h = try Harness(pools: [pool("www.example.com")])
        let set = h.plan.sets[0]
        let counts = AnswerCounts(capacity: 4)
        counts.reserve(h.plan.counterKeys.count)
        let picks = UnsafeMutablePointer<Int32>.allocate(capacity: 4)
        defer { picks.deallocate() }
        for (i, m) in [2, 0, 1, 3].enumerated() { picks[i] = Int32(m) }
        counts.record(set, picks: picks, count: 2)
        counts.record(set, picks: picks, count: 1)
        let totals = counts.copy()
        #expect(totals.answers(set.counters[2]) == 2 && totals.firsts(set.counters[2]) == 2)
        #expect(totals.answers(set.counters[0]) == 1 && totals.firsts(set.counters[0]) == 0)
        #expect(totals.answers(set.counters[1]) == 0)
        // A writer thread counting 20,000 answers while this task reads: every read is a count
        // the writer had reached (never more, never going back), and the last one is all of them.
        // The writer is a thread of its own (not the cooperative pool the timing tests need).
        nonisolated(unsafe) let p = picks
        let writer = Task {
            await onAThreadOfItsOwn { for _ in 0..<20_000 { counts.record(set, picks: p, count: 1) } }
        }
        var last: UInt64 = 0
        for _ in 0..<50 {
            let seen = counts.copy().answers(set.counters[2])
            #expect(seen >= last && seen <= 20_002)
            last = seen
            await Task.yield()
        }
        await writer.value
        #expect(counts.copy().firsts(set.counters[2]) == 20_002)
    }

    @Test("room for more members comes in new segments; the counts already made stay")
    func growth() {
        let counts = AnswerCounts(capacity: 1)
        #expect(counts.capacity == AnswerCounts.segmentSize)
        counts.reserve(AnswerCounts.segmentSize * 3 + 1)
        #expect(counts.capacity == AnswerCounts.segmentSize * 4)
        #expect(counts.copy().answers.count == AnswerCounts.segmentSize * 4)
        counts.reserve(AnswerCounts.segmentSize * (AnswerCounts.maxSegments + 5))
        #expect(counts.capacity == AnswerCounts.segmentSize * AnswerCounts.maxSegments, "capped")
    }
}
