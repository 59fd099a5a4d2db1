import CarouselConfig
import DNSWire
import DNSZone
import Health

/// A pool's answer policy, resolved from its config for the query path.
public struct PoolPolicy: Sendable {
    public let name: String
    public let config: PoolConfig
    public let ttl: UInt32
    public let maxAnswers: Int
    public let order: PoolConfig.Order
    public let allDown: PoolConfig.AllDown
    /// Fallback rdata, split by record type (A, AAAA).
    public let fallbackA: [[UInt8]]
    public let fallbackAAAA: [[UInt8]]
    /// The Extended DNS Error text of a SERVFAIL for `all_down: servfail` (RFC 8914), made once.
    public let allDownText: [UInt8]
}

/// One A or AAAA RRset bound to a pool: its members' probe targets and where each record starts.
public struct BalancedSet: Sendable {
    public let pool: Int
    public let owner: DNSName
    public let type: RRType
    /// Per record, in stored order: the prober's target id, the record's offset in the RRset data.
    public let targets: [Int32]
    public let offsets: [Int]
    public let addresses: [String]
    /// Members drained from this pool only (`POST /drain` with a pool).
    public let drained: [Bool]
    /// Member indices in smooth weighted round-robin order (for `order: weighted`), else empty.
    public let schedule: [Int16]
}

/// How the pools of a config attach to the address RRsets of a catalog. Built off the query path
/// with every snapshot; looked up by (zone, slot) with two array reads.
public final class BalancePlan: Sendable {
    public let pools: [PoolPolicy]
    public let sets: [BalancedSet]
    /// Per catalog zone, per address slot: index into `sets`, or -1.
    let bindings: [[Int32]]
    /// The largest set, so per-thread scratch can be sized once.
    public let largestSet: Int

    public static let empty = BalancePlan(pools: [], sets: [], bindings: [], largestSet: 0)

    init(pools: [PoolPolicy], sets: [BalancedSet], bindings: [[Int32]], largestSet: Int) {
        self.pools = pools
        self.sets = sets
        self.bindings = bindings
        self.largestSet = largestSet
    }

    @inline(__always)
    public func binding(zone: Int, slot: Int32) -> Int? {
        guard slot >= 0, zone < bindings.count else { return nil }
        let b = bindings[zone][Int(slot)]
        return b >= 0 ? Int(b) : nil
    }

    /// An address RRset that a pool covers, found by walking the catalog.
    public struct Member: Sendable {
        public let zone: Int
        public let node: Int
        public let rrset: Int
        public let pool: Int
    }

    /// Every address RRset covered by a pool (exact names win over `*.` patterns, longer
    /// patterns over shorter).
    public static func members(of catalog: Catalog, pools: [PoolConfig]) -> [Member] {
        guard !pools.isEmpty else { return [] }
        let matcher = PoolMatcher(pools)
        var out: [Member] = []
        var seen = Set<[Int]>()
        func add(_ z: Int, _ n: Int, _ p: Int) {
            guard seen.insert([z, n]).inserted else { return }
            for (r, set) in catalog.zones[z].nodes[n].rrsets.enumerated() where set.type == .a || set.type == .aaaa {
                out.append(Member(zone: z, node: n, rrset: r, pool: p))
            }
        }
        // Exact names: direct lookups.
        for (name, p) in matcher.exact.sorted(by: { $0.value < $1.value }) {
            let found = name.wire.withUnsafeBytes { b -> (Int, Int)? in
                guard let (z, _) = catalog.findZone(b, from: 0), let n = catalog.zones[z].names.find(b, from: 0) else { return nil }
                return (z, n)
            }
            if let (z, n) = found { add(z, n, p) }
        }
        // Patterns: walk only the zones that can hold names below the suffix.
        guard !matcher.patterns.isEmpty else { return out }
        for (z, zone) in catalog.zones.enumerated()
        where matcher.patterns.contains(where: { zone.origin.isSubdomain(of: $0.suffix) || $0.suffix.isSubdomain(of: zone.origin) }) {
            for (n, node) in zone.nodes.enumerated() where node.rrsets.contains(where: { $0.type == .a || $0.type == .aaaa }) {
                let owner = zone.names.name(n)
                if matcher.exact[owner] == nil, let p = matcher.pool(for: owner) { add(z, n, p) }
            }
        }
        return out
    }

    /// The probe targets of every pool member, with the pools that use each (for the prober).
    public static func targets(of catalog: Catalog, pools: [PoolConfig]) -> [TargetKey: [String]] {
        var out: [TargetKey: [String]] = [:]
        for m in members(of: catalog, pools: pools) {
            let pool = pools[m.pool]
            guard pool.check.type != .none else { continue }
            let set = catalog.zones[m.zone].nodes[m.node].rrsets[m.rrset]
            for address in addresses(of: set) {
                let key = TargetKey(address: address, check: pool.check)
                if !(out[key]?.contains(pool.name) ?? false) { out[key, default: []].append(pool.name) }
            }
        }
        return out
    }

    /// Pools whose name matches no A/AAAA records in any zone: a config error for `carousel check`.
    public static func unboundPools(_ catalog: Catalog, pools: [PoolConfig]) -> [PoolConfig] {
        let used = Set(members(of: catalog, pools: pools).map(\.pool))
        return pools.indices.filter { !used.contains($0) }.map { pools[$0] }
    }

    /// Builds the plan; `ids` maps each probe target to the prober's id for it.
    /// `poolDrains` holds `pool/address` for addresses drained from one pool only.
    public static func build(
        catalog: Catalog, pools configs: [PoolConfig], ids: [TargetKey: Int32], poolDrains: Set<String> = []
    ) -> BalancePlan {
        let policies = configs.map { c in
            let fallback = c.fallback.compactMap(Address.rdata)
            return PoolPolicy(
                name: c.name, config: c, ttl: UInt32(c.ttl), maxAnswers: c.maxAnswers ?? Int.max, order: c.order,
                allDown: c.allDown, fallbackA: fallback.filter { $0.count == 4 }, fallbackAAAA: fallback.filter { $0.count == 16 },
                allDownText: Array("pool \(c.name): every member is down (all_down: servfail)".utf8.prefix(200)))
        }
        var bindings = catalog.zones.map { [Int32](repeating: -1, count: $0.slotCount) }
        var sets: [BalancedSet] = []
        var largest = 0
        for m in members(of: catalog, pools: configs) {
            let pool = configs[m.pool]
            let rrset = catalog.zones[m.zone].nodes[m.node].rrsets[m.rrset]
            let addresses = addresses(of: rrset)
            let targets = addresses.map { pool.check.type == .none ? -1 : ids[TargetKey(address: $0, check: pool.check)] ?? -1 }
            var schedule: [Int16] = []
            if pool.order == .weighted {
                let weights = addresses.map { pool.weights[$0] ?? canonicalWeight(pool.weights, $0) ?? 1 }
                schedule = WeightedSchedule.make(weights: weights)
            }
            bindings[m.zone][Int(rrset.slot)] = Int32(sets.count)
            sets.append(BalancedSet(
                pool: m.pool, owner: catalog.zones[m.zone].names.name(m.node), type: rrset.type, targets: targets, offsets: offsets(of: rrset), addresses: addresses,
                drained: addresses.map { poolDrains.contains("\(pool.name)/\($0)") }, schedule: schedule))
            largest = max(largest, rrset.count)
        }
        return BalancePlan(pools: policies, sets: sets, bindings: bindings, largestSet: largest)
    }

    static func canonicalWeight(_ weights: [String: Int], _ address: String) -> Int? {
        weights.first { Address.canonical($0.key) == address }?.value
    }

    static func offsets(of set: RRset) -> [Int] {
        var out: [Int] = []
        var i = 0
        while i < set.data.count {
            out.append(i)
            i += 2 + (Int(set.data[i]) << 8 | Int(set.data[i + 1]))
        }
        return out
    }

    static func addresses(of set: RRset) -> [String] {
        set.data.withUnsafeBytes { d in
            offsets(of: set).map { o in
                let len = Int(d[o]) << 8 | Int(d[o + 1])
                return Address.text(rdata: UnsafeRawBufferPointer(rebasing: d[(o + 2)..<(o + 2 + len)])) ?? "?"
            }
        }
    }
}

/// Finds the pool for an owner name: an exact `name:` first, then the longest `*.suffix` pattern
/// that the owner lies strictly below.
struct PoolMatcher {
    var exact: [DNSName: Int] = [:]
    var patterns: [(suffix: DNSName, pool: Int)] = []

    init(_ pools: [PoolConfig]) {
        for (i, p) in pools.enumerated() {
            let text = p.name.hasSuffix(".") ? p.name : p.name + "."
            if text.hasPrefix("*."), let suffix = try? DNSName(String(text.dropFirst(2))) {
                patterns.append((suffix, i))
            } else if let name = try? DNSName(text), exact[name] == nil {
                exact[name] = i
            }
        }
        patterns.sort { $0.suffix.wire.count > $1.suffix.wire.count }
    }

    func pool(for owner: DNSName) -> Int? {
        if let p = exact[owner] { return p }
        return patterns.first { owner != $0.suffix && owner.isSubdomain(of: $0.suffix) }?.pool
    }
}
