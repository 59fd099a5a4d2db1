import DNSWire
import DNSZone
import Health

/// Which address RRsets of a catalog each pool covers, and what the prober must check for them.
extension BalancePlan {
    /// An address RRset that a pool covers, found by walking the catalog.
    public struct Member: Sendable {
        public let zone: Int
        public let node: Int
        public let rrset: Int
        public let pool: Int
    }

    /// Every address RRset covered by a pool (exact names win over `*.` patterns, longer
    /// patterns over shorter).
    public static func members(of catalog: Catalog, pools: [Pool]) -> [Member] {
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
                guard let (z, _) = catalog.findZone(b, from: 0), let n = catalog.zones[z].names.find(b, from: 0) else {
                    return nil
                }
                return (z, n)
            }
            if let (z, n) = found { add(z, n, p) }
        }
        // Patterns: walk only the zones that can hold names below the suffix.
        guard !matcher.patterns.isEmpty else { return out }
        for (z, zone) in catalog.zones.enumerated()
        where matcher.patterns.contains(where: {
            zone.origin.isSubdomain(of: $0.suffix) || $0.suffix.isSubdomain(of: zone.origin)
        }) {
            for (n, node) in zone.nodes.enumerated()
            where node.rrsets.contains(where: { $0.type == .a || $0.type == .aaaa }) {
                let owner = zone.names.name(n)
                if matcher.exact[owner] == nil, let p = matcher.pool(for: owner) { add(z, n, p) }
            }
        }
        return out
    }

    /// The probe targets of every pool member (its check, and its agent if the pool has one),
    /// with the pools that use each (for the prober).
    public static func targets(of catalog: Catalog, pools: [Pool]) -> [TargetKey: [String]] {
        var out: [TargetKey: [String]] = [:]
        for m in members(of: catalog, pools: pools) {
            let pool = pools[m.pool]
            let checks = (pool.check.isChecked ? [pool.check] : []) + (pool.agent.map { [$0.check] } ?? [])
            let set = catalog.zones[m.zone].nodes[m.node].rrsets[m.rrset]
            for address in addresses(of: set) {
                for check in checks {
                    let key = TargetKey(address: address, check: check)
                    if !(out[key]?.contains(pool.name) ?? false) { out[key, default: []].append(pool.name) }
                }
            }
        }
        return out
    }

    /// The slow-start ramp of each probe target whose pools have `slow_start` (the longest, when
    /// pools that share a target differ).
    public static func slowStarts(of catalog: Catalog, pools: [Pool]) -> [TargetKey: Duration] {
        var out: [TargetKey: Duration] = [:]
        for m in members(of: catalog, pools: pools) {
            let pool = pools[m.pool]
            guard let ramp = pool.slowStart else { continue }
            let checks = (pool.check.isChecked ? [pool.check] : []) + (pool.agent.map { [$0.check] } ?? [])
            for address in addresses(of: catalog.zones[m.zone].nodes[m.node].rrsets[m.rrset]) {
                for check in checks {
                    let key = TargetKey(address: address, check: check)
                    out[key] = max(out[key] ?? .zero, ramp)
                }
            }
        }
        return out
    }

    /// Every address (canonical text) of each pool's RRsets, by pool index.
    public static func addresses(of catalog: Catalog, pools: [Pool]) -> [Int: Set<String>] {
        var out: [Int: Set<String>] = [:]
        for m in members(of: catalog, pools: pools) {
            out[m.pool, default: []].formUnion(addresses(of: catalog.zones[m.zone].nodes[m.node].rrsets[m.rrset]))
        }
        return out
    }

    /// Pools whose name matches no A/AAAA records in any zone: a config error for `carousel check`.
    public static func unboundPools(_ catalog: Catalog, pools: [Pool]) -> [Pool] {
        let used = Set(members(of: catalog, pools: pools).map(\.pool))
        return pools.indices.filter { !used.contains($0) }.map { pools[$0] }
    }
}

/// Finds the pool for an owner name: an exact `name:` first, then the longest `*.suffix` pattern
/// that the owner lies strictly below.
struct PoolMatcher {
    var exact: [DNSName: Int] = [:]
    var patterns: [(suffix: DNSName, pool: Int)] = []

    init(_ pools: [Pool]) {
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
