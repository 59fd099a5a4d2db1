import DNSWire
import DNSZone
import Foundation
import Health
import Testing

@testable import Balancer

/// Sticky pools: weighted rendezvous hashing of the client's subnet over the usable members.
// One at a time: each test keeps a core busy for seconds in a debug build, and the suite's
// timing tests need the other.
@Suite("Sticky pools: each client keeps its members, and only a dead member's clients move", .serialized)
struct StickyTests {
    let four = ["127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"]

    /// The 65,536 /24 keys 10.b.c.0/24 (for the pool's default prefix of 24).
    static let keys: [StickyKey] = (0..<65536).map { i in
        let subnet = ClientSubnet(
            family: .ipv4, sourcePrefix: 32, high: UInt64(10 << 24 | i << 8 | 7) << 32, low: 0)
        return StickyKey(subnet, prefixes: Pool.StickyPrefixes())
    }

    func sticky(_ configure: (inout Pool) -> Void = { _ in }) -> Pool {
        pool("www.example.com") {
            $0.order = .sticky
            configure(&$0)
        }
    }

    /// Every key's answer (the addresses, in order): the set is looked up once, then selected from
    /// for each key, on a thread of its own. A debug build takes seconds for 65,536 keys, and on
    /// the cooperative pool (two threads on a two-core machine) that stalls the suite's timing
    /// tests; a thread of its own only shares the cores with them.
    func answers(_ h: Harness, _ view: HealthView = .empty) async throws -> [[String]] {
        let zone = h.catalog.zones[0]
        let node = try #require(zone.names.find(try DNSName("www.example.com.")))
        let rrset = try #require(zone.nodes[node].rrsets.first { $0.type == .a })
        let b = try #require(h.plan.binding(zone: 0, slot: rrset.slot))
        return await onAThreadOfItsOwn {
            let addresses = h.plan.sets[b].addresses
            return Self.keys.map { key in
                guard
                    case .records(let count, _) = h.plan.select(
                        b, zone: zone, rrset: rrset, health: view, client: key, scratch: h.scratch)
                else { return [] }
                return (0..<count).map { addresses[Int(h.scratch.picks[$0])] }
            }
        }
    }

    @Test("the key is the subnet cut to the pool's prefix: two addresses of one /24 are one key, of two are two")
    func keys() {
        let prefixes = Pool.StickyPrefixes()
        func key(_ text: String, _ source: Int? = nil) -> StickyKey {
            let a = IPAddress(text)!
            return StickyKey(ClientSubnet(address: a.bytes, prefix: source ?? a.bytes.count * 8)!, prefixes: prefixes)
        }
        #expect(key("192.0.2.5") == key("192.0.2.250"))
        #expect(key("192.0.2.5") != key("192.0.3.5"))
        #expect(key("192.0.2.5").prefix == 24 && key("2001:db8:1:2::1").prefix == 56)
        #expect(key("2001:db8:1:2::1") == key("2001:db8:1:2:ffff::1"))
        #expect(key("2001:db8:1:200::1") != key("2001:db8:1:300::1"))
        // The shorter of the ECS source and the pool's prefix.
        #expect(key("192.0.0.0", 16).prefix == 16 && key("192.0.0.0", 16) != key("192.0.0.0", 24))
        #expect(key("192.0.2.0", 0).prefix == 0)
    }

    @Test("the same client gets the same answer every time; a /0 key rotates")
    func stable() throws {
        let h = try Harness(pools: [sticky { $0.maxAnswers = 2 }])
        let key = Self.keys[1234]
        let first = try h.answer("www.example.com.", client: key).1
        #expect(first.count == 2)
        for _ in 0..<10 { #expect(try h.answer("www.example.com.", client: key).1 == first) }
        let none = StickyKey(ClientSubnet(family: .ipv4, sourcePrefix: 0, high: 0, low: 0), prefixes: .init())
        let firsts = try (0..<8).map { _ in try h.answer("www.example.com.", client: none).1[0] }
        #expect(Set(firsts) == Set(four), "no client information: rotation")
    }

    @Test("over 65,536 /24 keys each member's share of first places is within ±3 % of its weight share")
    func shares() async throws {
        let weights = ["127.0.0.11": 1, "127.0.0.12": 1, "127.0.0.13": 2, "127.0.0.14": 4]
        for configure: (inout Pool) -> Void in [{ _ in }, { $0.weights = weights }] {
            var p = sticky()
            configure(&p)
            let h = try Harness(pools: [p])
            let total = Double(four.map { p.weights[$0] ?? 1 }.reduce(0, +))
            var firsts: [String: Int] = [:]
            for a in try await answers(h) { firsts[a[0], default: 0] += 1 }
            for address in four {
                let share = Double(firsts[address] ?? 0) / Double(Self.keys.count)
                let expected = Double(p.weights[address] ?? 1) / total
                #expect(abs(share - expected) <= 0.03, "\(address): \(share) of first places, weight share \(expected)")
            }
            // The status page's estimate agrees.
            let estimate = h.plan.shares(set: 0, health: .empty)
            for (m, address) in h.plan.sets[0].addresses.enumerated() {
                let expected = Double(p.weights[address] ?? 1) / total
                #expect(abs(estimate[m] - expected) <= 0.04, "estimate \(estimate[m]) for \(address)")
            }
        }
    }

    @Test("kill one of four: exactly the keys that had it in their answer move; back up, every key has its old answer")
    func deathAndReturn() async throws {
        for maxAnswers in [1, 2] {
            let h = try Harness(pools: [sticky { $0.maxAnswers = maxAnswers }])
            let before = try await answers(h)
            let victim = "127.0.0.13"
            let during = try await answers(h, h.view(down: [victim]))
            var moved = 0
            for (a, b) in zip(before, during) {
                if a.contains(victim) {
                    moved += 1
                    #expect(!b.contains(victim))
                    // The others keep their order; the victim's place goes to the next in line.
                    #expect(Array(b.prefix(a.count - 1)) == a.filter { $0 != victim })
                } else {
                    #expect(a == b, "a key without \(victim) changed: \(a) → \(b)")
                }
            }
            let share = Double(moved) / Double(Self.keys.count)
            #expect(abs(share - Double(maxAnswers) / 4) <= 0.03, "\(moved) keys had \(victim) in their \(maxAnswers)")
            #expect(try await answers(h) == before, "back up: every key has its old answer")
        }
    }

    @Test("a member added to the zone takes about 1/(n+1) of the keys; every other key keeps its first")
    func addingAMember() async throws {
        let h = try Harness(pools: [sticky()])
        let five = try Harness(pools: [sticky()], catalog: try makeCatalog(addresses: four + ["127.0.0.15"]))
        let (a, b) = (try await answers(h), try await answers(five))
        var moved = 0
        for (x, y) in zip(a, b) where x[0] != y[0] {
            moved += 1
            #expect(y[0] == "127.0.0.15", "a key moved to \(y[0]), not to the new member")
        }
        #expect(abs(Double(moved) / Double(Self.keys.count) - 0.2) <= 0.02, "\(moved) keys moved")
    }

    @Test("explain: the client's order of every member, with the usable ones ranked among themselves")
    func ranking() throws {
        let h = try Harness(pools: [sticky()])
        let key = Self.keys[42]
        let answer = try h.answer("www.example.com.", client: key).1
        let ranked = h.plan.ranking(set: 0, client: key, health: .empty)
        #expect(ranked.map(\.address) == answer)
        #expect(ranked.map(\.rank) == [1, 2, 3, 4] && ranked.map(\.usableRank) == [1, 2, 3, 4])
        let down = h.plan.ranking(set: 0, client: key, health: h.view(down: [answer[0]]))
        #expect(down.map(\.usableRank) == [nil, 1, 2, 3])
    }
}

/// Runs `work` on a new thread and waits for it without holding a cooperative thread.
func onAThreadOfItsOwn<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { done in
        Thread { done.resume(returning: work()) }.start()
    }
}
