import DNSWire
import DNSZone
import Health

/// A pool's answer policy, resolved for the query path.
public struct PoolPolicy: Sendable {
    public let name: String
    public let pool: Pool
    public let ttl: UInt32
    public let maxAnswers: Int
    public let order: Pool.Order
    public let allDown: Pool.AllDown
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
    /// Each member's configured weight (1 unless `weights:` says otherwise).
    public let weights: [Int]
    /// For `order: sticky`: each member's identity in the ranking (from its address), 1/weight
    /// (infinite for weight 0: last), and whether every weight is the same.
    public let memberHashes: [UInt64]
    public let inverseWeights: [Double]
    public let uniformWeights: Bool
    /// Per record: the prober's id for the member's agent, or -1 (no `agent:`).
    public let agents: [Int32]
    /// Tiers (`tiers:`): each record's tier, and per tier how many records it has in this set and
    /// how many must be usable for it to answer. Empty for a pool without tiers.
    public let tiers: [UInt8]
    public let tierSizes: [Int]
    public let tierNeeded: [Int]
    /// Weights change while serving (agents, slow start): selection reads each member's
    /// effective weight from the health view.
    public let dynamicWeights: Bool
    /// Per record: the id of its answer counters (per pool and address, stable across reloads).
    public let counters: [Int32]

    /// Whether member `m` may be answered now: its address is up (or not checked) and drained
    /// neither everywhere nor from this pool, and its agent (if any) has not taken it out
    /// (`down`, `maint`, `drain` or `0%`). The one definition every part of Carousel uses: the
    /// selection, the status page, the all-down log and `publish_health`'s zone versions.
    @inline(__always)
    public func isUsable(_ m: Int, _ health: HealthView) -> Bool {
        let t = targets[m]
        let a = agents[m]
        return (t < 0 || (health.isUp(t) && !health.isDrained(t)))
            && (a < 0 || (health.isUp(a) && !health.isDrained(a) && health.factor(a) > 0)) && !drained[m]
    }

    /// Member `m`'s weight now: its configured weight times its agent's report and its
    /// slow-start ramp.
    @inline(__always)
    public func effectiveWeight(_ m: Int, _ health: HealthView) -> Double {
        guard dynamicWeights else { return Double(weights[m]) }
        let f = Double(health.factor(targets[m])) * Double(health.factor(agents[m]))
        return Double(weights[m]) * f * 1e-6
    }

    public var isTiered: Bool { !tierSizes.isEmpty }

    /// Whether any member may be answered now.
    public func anyUsable(_ health: HealthView) -> Bool {
        targets.indices.contains { isUsable($0, health) }
    }
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
    /// What each answer counter id counts (`BalancedSet.counters`), in id order.
    public let counterKeys: [AnswerCounterKey]

    public static let empty = BalancePlan(pools: [], sets: [], bindings: [], largestSet: 0, counterKeys: [])

    init(
        pools: [PoolPolicy], sets: [BalancedSet], bindings: [[Int32]], largestSet: Int, counterKeys: [AnswerCounterKey]
    ) {
        self.pools = pools
        self.sets = sets
        self.bindings = bindings
        self.largestSet = largestSet
        self.counterKeys = counterKeys
    }

    @inline(__always)
    public func binding(zone: Int, slot: Int32) -> Int? {
        guard slot >= 0, zone < bindings.count else { return nil }
        let b = bindings[zone][Int(slot)]
        return b >= 0 ? Int(b) : nil
    }

    /// Builds the plan; `ids` maps each probe target to the prober's id for it.
    /// `poolDrains` holds `pool/address` for addresses drained from one pool only, and bare
    /// addresses drained from every pool (the health view carries those for checked members
    /// too; a member with no probe target has only the plan to say it).
    public static func build(
        catalog: Catalog, pools configs: [Pool], ids: [TargetKey: Int32], poolDrains: Set<String> = []
    ) -> BalancePlan {
        var counters = AnswerCounterIndex()
        return build(catalog: catalog, pools: configs, ids: ids, poolDrains: poolDrains, counters: &counters)
    }

    /// The same, with answer counter ids from `counters`, which keeps them across plans.
    public static func build(
        catalog: Catalog, pools configs: [Pool], ids: [TargetKey: Int32], poolDrains: Set<String>,
        counters: inout AnswerCounterIndex
    ) -> BalancePlan {
        let policies = configs.map { c in
            let fallback = c.fallback.map(\.bytes)
            return PoolPolicy(
                name: c.name, pool: c, ttl: UInt32(c.ttl), maxAnswers: c.maxAnswers ?? Int.max, order: c.order,
                allDown: c.allDown, fallbackA: fallback.filter { $0.count == 4 },
                fallbackAAAA: fallback.filter { $0.count == 16 },
                allDownText: Array("pool \(c.name): every member is down (all_down: servfail)".utf8.prefix(200)))
        }
        var bindings = catalog.zones.map { [Int32](repeating: -1, count: $0.slotCount) }
        var sets: [BalancedSet] = []
        var largest = 0
        for m in members(of: catalog, pools: configs) {
            let pool = configs[m.pool]
            let rrset = catalog.zones[m.zone].nodes[m.node].rrsets[m.rrset]
            let addresses = addresses(of: rrset)
            let targets = addresses.map {
                pool.check.isChecked ? ids[TargetKey(address: $0, check: pool.check)] ?? -1 : -1
            }
            let agents = addresses.map { a in pool.agent.map { ids[TargetKey(address: a, check: $0.check)] ?? -1 } ?? -1
            }
            var tiers: [UInt8] = []
            var tierSizes: [Int] = []
            var tierNeeded: [Int] = []
            if !pool.tiers.isEmpty {
                // An address in no tier (the validator reports it) answers with the last one.
                tiers = addresses.map { UInt8(pool.tier(of: $0) ?? pool.tiers.count - 1) }
                tierSizes = pool.tiers.indices.map { t in tiers.filter { Int($0) == t }.count }
                tierNeeded = pool.tiers.indices.map { pool.tiers[$0].minUp.needed(of: tierSizes[$0]) }
            }
            let weights = addresses.map { pool.weights[$0] ?? 1 }
            let schedule = pool.order == .weighted ? WeightedSchedule.make(weights: weights) : []
            let hashes = rrset.data.withUnsafeBytes { d in
                offsets(of: rrset).map { o in
                    let len = Int(d[o]) << 8 | Int(d[o + 1])
                    return Sticky.memberHash(UnsafeRawBufferPointer(rebasing: d[(o + 2)..<(o + 2 + len)]))
                }
            }
            bindings[m.zone][Int(rrset.slot)] = Int32(sets.count)
            sets.append(
                BalancedSet(
                    pool: m.pool, owner: catalog.zones[m.zone].names.name(m.node), type: rrset.type, targets: targets,
                    offsets: offsets(of: rrset), addresses: addresses,
                    drained: addresses.map { poolDrains.contains("\(pool.name)/\($0)") || poolDrains.contains($0) },
                    schedule: schedule,
                    weights: weights, memberHashes: hashes,
                    inverseWeights: weights.map { $0 > 0 ? 1 / Double($0) : .infinity },
                    uniformWeights: Set(weights).count <= 1, agents: agents, tiers: tiers, tierSizes: tierSizes,
                    tierNeeded: tierNeeded, dynamicWeights: pool.hasDynamicWeights,
                    counters: addresses.map { counters.id(pool: pool.name, address: $0) }))
            largest = max(largest, rrset.count)
        }
        return BalancePlan(
            pools: policies, sets: sets, bindings: bindings, largestSet: largest, counterKeys: counters.keys)
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
                return IPAddress.text(UnsafeRawBufferPointer(rebasing: d[(o + 2)..<(o + 2 + len)])) ?? "?"
            }
        }
    }
}
