import DNSWire
import DNSZone
import Health
import Testing

@testable import Balancer

/// A zone with a four-address pool name and a two-address (v6) one, built from records.
func makeCatalog(addresses: [String] = ["127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"]) throws -> Catalog {
    let origin = try DNSName("example.com.")
    func rr(_ name: String, _ type: RRType, _ rdata: [UInt8], ttl: UInt32 = 60) throws -> ResourceRecord {
        ResourceRecord(name: try DNSName(name, origin: origin), type: type, ttl: ttl, rdata: rdata)
    }
    let soa =
        try DNSName("ns1.example.com.").wire + DNSName("h.example.com.").wire + [0, 0, 0, 1]
        + [UInt8](repeating: 0, count: 12) + [0, 0, 0, 60]
    var records = [
        try rr("@", .soa, soa, ttl: 300),
        try rr("@", .ns, try DNSName("ns1.example.com.").wire),
        try rr("ns1", .a, [127, 0, 0, 1]),
    ]
    for a in addresses { records.append(try rr("www", .a, IPAddress(a)!.bytes)) }
    records.append(try rr("v6", .aaaa, IPAddress("::1")!.bytes))
    records.append(try rr("v6", .aaaa, IPAddress("::2")!.bytes))
    records.append(try rr("x.svc", .a, [127, 0, 0, 21]))
    records.append(try rr("y.svc", .a, [127, 0, 0, 22]))
    return Catalog(zones: [try Zone.build(origin: origin, file: "example.com.zone", records: records)])
}

func pool(_ name: String, _ configure: (inout Pool) -> Void = { _ in }) -> Pool {
    var p = Pool(name: name, ttl: 20, check: Check(kind: .tcp))
    configure(&p)
    return p
}

struct Harness {
    let catalog: Catalog
    let plan: BalancePlan
    let ids: [TargetKey: Int32]
    let scratch = BalancerScratch(capacity: 2)

    init(pools: [Pool], catalog: Catalog? = nil, poolDrains: Set<String> = []) throws {
        self.catalog = try catalog ?? makeCatalog()
        var ids: [TargetKey: Int32] = [:]
        for (i, key) in BalancePlan.targets(of: self.catalog, pools: pools).keys.sorted(by: { $0.address < $1.address })
            .enumerated()
        {
            ids[key] = Int32(i)
        }
        self.ids = ids
        self.plan = BalancePlan.build(catalog: self.catalog, pools: pools, ids: ids, poolDrains: poolDrains)
    }

    /// A view with the given addresses down (and optionally drained).
    func view(down: Set<String> = [], drained: Set<String> = []) -> HealthView {
        var states = [UInt8](repeating: HealthState.up.rawValue, count: ids.count)
        for (key, id) in ids {
            if down.contains(key.address) { states[Int(id)] = HealthState.down.rawValue }
            if drained.contains(key.address) { states[Int(id)] |= HealthView.drainedBit }
        }
        return HealthView(states: states)
    }

    /// Selects for `name`'s A (or AAAA) set; returns the addresses answered, in order, and the TTL.
    func answer(_ name: String, _ type: RRType = .a, view: HealthView = .empty, client: StickyKey? = nil) throws -> (
        Selection, [String]
    ) {
        let zone = catalog.zones[0]
        let node = try #require(zone.names.find(try DNSName(name)))
        let rrset = try #require(zone.nodes[node].rrsets.first { $0.type == type })
        let b = try #require(plan.binding(zone: 0, slot: rrset.slot))
        let sel = plan.select(b, zone: zone, rrset: rrset, health: view, client: client, scratch: scratch)
        guard case .records(let count, _) = sel else { return (sel, []) }
        return (sel, (0..<count).map { plan.sets[b].addresses[Int(scratch.picks[$0])] })
    }
}

@Suite struct BalancerTests {
    let four = ["127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"]

    @Test func rotateStartsOneLaterEachAnswer() throws {
        let h = try Harness(pools: [pool("www.example.com")])
        var firsts: [String] = []
        for _ in 0..<8 {
            let (_, addrs) = try h.answer("www.example.com.")
            #expect(addrs.count == 4)
            #expect(Set(addrs) == Set(four))
            firsts.append(addrs[0])
        }
        #expect(firsts == four + four)
    }

    @Test func downAndDrainedMembersAreLeftOut() throws {
        let h = try Harness(pools: [pool("www.example.com")])
        let view = h.view(down: ["127.0.0.12"], drained: ["127.0.0.14"])
        for _ in 0..<4 {
            let (sel, addrs) = try h.answer("www.example.com.", view: view)
            #expect(Set(addrs) == ["127.0.0.11", "127.0.0.13"])
            // TTL: min(zone 60, pool 20), halved while a member is down.
            #expect(sel == .records(count: 2, ttl: 10))
        }
    }

    @Test func ttlIsCappedAndNeverBelowOne() throws {
        let h = try Harness(pools: [pool("www.example.com") { $0.ttl = 1 }])
        #expect(try h.answer("www.example.com.").0 == .records(count: 4, ttl: 1))
        #expect(try h.answer("www.example.com.", view: h.view(down: ["127.0.0.11"])).0 == .records(count: 3, ttl: 1))
        let big = try Harness(pools: [pool("www.example.com") { $0.ttl = 3600 }])
        #expect(try big.answer("www.example.com.").0 == .records(count: 4, ttl: 60))
    }

    @Test(arguments: [Pool.AllDown.serveAll, .servfail, .nodata, .fallback])
    func allDownPolicies(policy: Pool.AllDown) throws {
        let h = try Harness(pools: [
            pool("www.example.com") {
                $0.allDown = policy; $0.fallback = [IPAddress("127.0.0.99")!, IPAddress("::99")!]
            }
        ])
        let (sel, addrs) = try h.answer("www.example.com.", view: h.view(down: Set(four)))
        switch policy {
        case .serveAll:
            #expect(sel == .records(count: 4, ttl: 10))
            #expect(Set(addrs) == Set(four))
        case .servfail: #expect(sel == .servfail)
        case .nodata: #expect(sel == .nodata)
        case .fallback:
            #expect(sel == .fallback(ttl: 10))
            #expect(h.plan.pools[0].fallbackA == [[127, 0, 0, 99]])
            #expect(h.plan.pools[0].fallbackAAAA.count == 1)
        }
    }

    @Test func maxAnswersWindowMovesAndCoversEveryAddress() throws {
        let h = try Harness(pools: [pool("www.example.com") { $0.maxAnswers = 2 }])
        var seen: [[String]] = []
        for _ in 0..<4 { seen.append(try h.answer("www.example.com.").1) }
        #expect(
            seen == [
                ["127.0.0.11", "127.0.0.12"], ["127.0.0.12", "127.0.0.13"], ["127.0.0.13", "127.0.0.14"],
                ["127.0.0.14", "127.0.0.11"],
            ])
        #expect(Set(seen.flatMap { $0 }) == Set(four))
    }

    @Test func weightedSharesOfFirstPlaceMatchTheWeights() throws {
        let weights = ["127.0.0.11": 3, "127.0.0.12": 1, "127.0.0.13": 2, "127.0.0.14": 4]
        let h = try Harness(pools: [
            pool("www.example.com") {
                $0.order = .weighted; $0.weights = weights
            }
        ])
        var counts: [String: Int] = [:]
        let n = 10_000
        for _ in 0..<n { counts[try h.answer("www.example.com.").1[0], default: 0] += 1 }
        let total = weights.values.reduce(0, +)
        for (address, w) in weights {
            let share = Double(counts[address] ?? 0) / Double(n)
            #expect(abs(share - Double(w) / Double(total)) < 0.02, "\(address): \(share)")
        }
    }

    @Test func weightedSkipsDownMembers() throws {
        let h = try Harness(pools: [
            pool("www.example.com") {
                $0.order = .weighted; $0.weights = ["127.0.0.11": 9]
            }
        ])
        let view = h.view(down: ["127.0.0.11"])
        for _ in 0..<20 { #expect(try h.answer("www.example.com.", view: view).1.first != "127.0.0.11") }
    }

    @Test func smoothScheduleSpreadsHeavyMembers() {
        #expect(WeightedSchedule.make(weights: [5, 1, 1]) == [0, 0, 1, 0, 2, 0, 0])
        #expect(WeightedSchedule.make(weights: [1, 0]) == [0])
    }

    @Test func fixedKeepsStoredOrder() throws {
        let h = try Harness(pools: [pool("www.example.com") { $0.order = .fixed }])
        for _ in 0..<3 { #expect(try h.answer("www.example.com.").1 == four) }
    }

    @Test func shuffleServesEveryoneInSomeOrder() throws {
        let h = try Harness(pools: [pool("www.example.com") { $0.order = .shuffle }])
        var firsts = Set<String>()
        for _ in 0..<200 {
            let addrs = try h.answer("www.example.com.").1
            #expect(Set(addrs) == Set(four))
            firsts.insert(addrs[0])
        }
        #expect(firsts == Set(four))
    }

    @Test func patternsAndTargetsAndUnboundPools() throws {
        let pools = [pool("*.svc.example.com"), pool("v6.example.com."), pool("missing.example.com")]
        let h = try Harness(pools: pools)
        #expect(try h.answer("x.svc.example.com.").1 == ["127.0.0.21"])
        #expect(try h.answer("y.svc.example.com.").1 == ["127.0.0.22"])
        #expect(Set(try h.answer("v6.example.com.", .aaaa).1) == ["::1", "::2"])
        let targets = BalancePlan.targets(of: h.catalog, pools: pools)
        #expect(Set(targets.keys.map(\.address)) == ["127.0.0.21", "127.0.0.22", "::1", "::2"])
        #expect(BalancePlan.unboundPools(h.catalog, pools: pools).map(\.name) == ["missing.example.com"])
        // An address shared by two pools with the same check is one target.
        let shared = BalancePlan.targets(of: h.catalog, pools: [pool("www.example.com"), pool("*.example.com")])
        #expect(shared[TargetKey(address: "127.0.0.11", check: pool("x").check)]?.count == 1)
    }

    @Test func addressText() {
        #expect(IPAddress.canonical("2001:DB8:0:0::1") == "2001:db8::1")
        #expect(IPAddress.canonical("127.000.0.1") == nil || IPAddress.canonical("127.000.0.1") == "127.0.0.1")
        #expect(IPAddress("not-an-ip")?.bytes == nil)
    }
}

@Suite("AllDownWatch: every member out, told once")
struct AllDownWatchTests {
    @Test("a set whose members are all drained from its pool is dark, though every address is healthy")
    func poolDrainsCount() throws {
        let all = ["127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"]
        let h = try Harness(pools: [pool("www.example.com")], poolDrains: Set(all.map { "www.example.com/\($0)" }))
        var watch = AllDownWatch(plan: h.plan)
        let changes = watch.update(h.view())
        #expect(changes.map(\.description) == ["pool www.example.com A: every member is down; all_down: serve_all"])
        #expect(watch.update(h.view()).isEmpty, "told once")
    }

    @Test("dark when every member is down or drained, back when one is up again")
    func downAndBack() throws {
        let h = try Harness(pools: [pool("www.example.com")])
        var watch = AllDownWatch(plan: h.plan)
        #expect(watch.update(h.view()).isEmpty)
        let dark = watch.update(h.view(down: ["127.0.0.11", "127.0.0.12"], drained: ["127.0.0.13", "127.0.0.14"]))
        #expect(dark.count == 1 && dark[0].dark && dark[0].type == .a && dark[0].pool == "www.example.com")
        let back = watch.update(h.view(down: ["127.0.0.11", "127.0.0.12", "127.0.0.13"]))
        #expect(back.map(\.description) == ["pool www.example.com A: members are up again"])
    }
}
