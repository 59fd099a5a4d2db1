import DNSWire
import Health

#if canImport(Glibc)
    import Glibc
#endif

/// A client's key for a sticky pool: its subnet (the ECS option's, or the resolver's own address)
/// cut to the pool's prefix, hashed. The prefix it was cut to is the answer's ECS scope.
public struct StickyKey: Sendable, Hashable {
    public let hash: UInt64
    /// The bits of the address the key holds (0: no client information).
    public let prefix: UInt8

    /// `subnet` cut to the shorter of its source prefix and the pool's prefix for its family.
    @inline(__always)
    public init(_ subnet: ClientSubnet, prefixes: Pool.StickyPrefixes) {
        let limit = subnet.family == .ipv4 ? prefixes.ipv4 : prefixes.ipv6
        let cut = subnet.cut(to: limit)
        prefix = cut.sourcePrefix
        hash = Sticky.mix(
            Sticky.mix(Sticky.mix(UInt64(cut.family.rawValue) << 8 | UInt64(prefix)) ^ cut.high) ^ cut.low)
    }
}

/// Weighted rendezvous hashing (highest random weight): each member gets a pseudo-random draw per
/// client key, `u` in (0, 1), and ranks by `-ln(u) / weight`, lowest first. A client's order of
/// the members depends only on the key and each member's own address, so a member that goes down
/// changes the answer only for the keys that ranked it first (within `max_answers`), and when it
/// comes back they get exactly their old answer. A member added to the zone takes about 1/(n+1)
/// of the keys, each in proportion to its weight.
enum Sticky {
    /// SplitMix64's finaliser: every input bit moves every output bit.
    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// A member's identity for the ranking: its address (the record's rdata), not its place in
    /// the RRset, so zone edits that add or reorder records leave the other members' draws alone.
    static func memberHash(_ rdata: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = UInt64(rdata.count)
        for b in rdata { h = mix(h ^ UInt64(b)) }
        return h
    }

    /// Member `m`'s rank for `key`: lower is better. With equal weights the draw itself orders them
    /// (no logarithm on the query path); with weights that change while serving, the member's
    /// effective weight now (the same order as the shortcut while they are all equal).
    @inline(__always)
    static func rank(_ key: UInt64, _ set: BalancedSet, _ m: Int, _ health: HealthView) -> Double {
        let u = mix(key ^ set.memberHashes[m])
        if set.uniformWeights && !set.dynamicWeights { return Double(UInt64.max - u) }
        // u mapped into (0, 1): 53 random bits, never 0 or 1.
        let unit = (Double(u >> 11) + 0.5) * 0x1p-53
        if set.dynamicWeights {
            let w = set.effectiveWeight(m, health)
            return w > 0 ? -log(unit) / w : .infinity
        }
        return -log(unit) * set.inverseWeights[m]
    }
}

extension BalancePlan {
    /// Puts the `take` usable members (`scratch.healthy[0..<count]`) that rank best for `client`
    /// into `scratch.picks`, best first: a selection of the top few, no allocation.
    @inline(__always)
    func rankForClient(
        _ set: BalancedSet, _ client: StickyKey, _ health: HealthView, count: Int, take: Int, scratch: BalancerScratch
    ) {
        for h in 0..<count { scratch.ranks[h] = Sticky.rank(client.hash, set, Int(scratch.healthy[h]), health) }
        for k in 0..<take {
            var best = k
            for h in (k + 1)..<max(k + 1, count) where scratch.ranks[h] < scratch.ranks[best] { best = h }
            if best != k {
                let r = scratch.ranks[k]
                scratch.ranks[k] = scratch.ranks[best]
                scratch.ranks[best] = r
                let t = scratch.healthy[k]
                scratch.healthy[k] = scratch.healthy[best]
                scratch.healthy[best] = t
            }
            scratch.picks[k] = scratch.healthy[k]
        }
    }

    /// Every member of a sticky set in the client's order, for `explain`: its rank (1 = first)
    /// among all members, whether it is usable now, and its rank among the usable ones.
    public struct Ranked: Sendable, Equatable {
        public var member: Int
        public var address: String
        public var weight: Int
        /// The weight the ranking used: configured × agent × slow start.
        public var effectiveWeight: Double
        public var rank: Int
        public var usableRank: Int?
    }

    public func ranking(set index: Int, client: StickyKey, health: HealthView) -> [Ranked] {
        let set = sets[index]
        let order = set.targets.indices.sorted {
            Sticky.rank(client.hash, set, $0, health) < Sticky.rank(client.hash, set, $1, health)
        }
        let scratch = BalancerScratch(capacity: max(1, set.targets.count))
        let c = candidates(set, health, scratch)
        let answering = Set((0..<c.count).map { Int(scratch.healthy[$0]) })
        var usable = 0
        return order.enumerated().map { i, m in
            let ok = answering.contains(m)
            if ok { usable += 1 }
            return Ranked(
                member: m, address: set.addresses[m], weight: set.weights[m],
                effectiveWeight: set.effectiveWeight(m, health), rank: i + 1, usableRank: ok ? usable : nil)
        }
    }

    /// Each member's share of the key space now: the fraction of `samples` client keys (random /24
    /// IPv4 subnets and /56 IPv6 ones, half each, from a fixed seed so the figure is stable) for
    /// which it ranks first among the usable members. For the status page.
    public func shares(set index: Int, health: HealthView, samples: Int = 4096) -> [Double] {
        let set = sets[index]
        let prefixes = pools[set.pool].pool.sticky
        var firsts = [Int](repeating: 0, count: set.targets.count)
        let scratch = BalancerScratch(capacity: max(1, set.targets.count))
        let c = candidates(set, health, scratch)
        let usable = (0..<c.count).map { Int(scratch.healthy[$0]) }
        guard !usable.isEmpty else { return firsts.map(Double.init) }
        var seed: UInt64 = 0x5eed
        for i in 0..<samples {
            seed = Sticky.mix(seed)
            let subnet =
                i % 2 == 0
                ? ClientSubnet(family: .ipv4, sourcePrefix: 32, high: seed << 32, low: 0)
                : ClientSubnet(family: .ipv6, sourcePrefix: 128, high: seed, low: Sticky.mix(seed))
            let key = StickyKey(subnet, prefixes: prefixes)
            let first = usable.min { Sticky.rank(key.hash, set, $0, health) < Sticky.rank(key.hash, set, $1, health) }!
            firsts[first] += 1
        }
        return firsts.map { Double($0) / Double(samples) }
    }
}
