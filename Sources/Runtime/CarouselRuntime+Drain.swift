import Balancer
import DNSWire
import Health

/// The result of an admin action, with the HTTP status it maps to.
public struct AdminResult: Error, Sendable {
    public var status: Int
    public var message: String

    public init(status: Int, message: String) {
        self.status = status
        self.message = message
    }

    public static func ok(_ m: String) -> AdminResult { AdminResult(status: 200, message: m) }
    public static func notFound(_ m: String) -> AdminResult { AdminResult(status: 404, message: m) }
    public static func conflict(_ m: String) -> AdminResult { AdminResult(status: 409, message: m) }
    public static func bad(_ m: String) -> AdminResult { AdminResult(status: 400, message: m) }
}

/// Drain: take an address out of answers for maintenance while it is still probed. Kept in the
/// state file, so it survives restarts. Scoped to one pool (`pool/address`) or to every pool.
extension CarouselRuntime {
    public func drain(address: String, pool: String?, force: Bool) async -> AdminResult {
        await setDrain(address: address, pool: pool, drained: true, force: force)
    }

    public func undrain(address: String, pool: String?) async -> AdminResult {
        await setDrain(address: address, pool: pool, drained: false, force: true)
    }

    func setDrain(address text: String, pool poolName: String?, drained: Bool, force: Bool) async -> AdminResult {
        guard let address = IPAddress.canonical(text) else { return .bad("\(text) is not an IP address") }
        let plan = snapshot.plan
        func sameName(_ a: String, _ b: String) -> Bool {
            func norm(_ s: String) -> String { (s.hasSuffix(".") ? String(s.dropLast()) : s).lowercased() }
            return norm(a) == norm(b)
        }
        let sets = plan.sets.indices.filter { i in
            plan.sets[i].addresses.contains(address)
                && (poolName.map { sameName(plan.pools[plan.sets[i].pool].name, $0) } ?? true)
        }
        if sets.isEmpty {
            return .notFound("\(address) is not a member of \(poolName.map { "pool \($0)" } ?? "any pool")")
        }
        let poolNames = Set(sets.map { plan.pools[plan.sets[$0].pool].name })
        if drained && !force {
            let view = await healthView()
            for i in sets {
                let set = plan.sets[i]
                let others = set.addresses.indices.filter { m in
                    set.addresses[m] != address && set.isUsable(m, view)
                }
                if others.isEmpty {
                    return .conflict(
                        "draining \(address) would leave \(set.owner) \(set.type) in pool \(plan.pools[set.pool].name) with no healthy member; add force to do it anyway"
                    )
                }
            }
        }
        // In a fleet the order goes to every member, marked with when and where it was given.
        let me = await fleet.selfID ?? ""
        if poolName != nil {
            let pool = plan.pools[plan.sets[sets[0]].pool].pool
            await prober.setDrained("\(pool.name)/\(address)", drained, by: me)
            if !drained {
                // Back in this pool only: its slow start ramps from here (an undrain everywhere
                // ramps every target of the address in the prober).
                let checks = (pool.check.isChecked ? [pool.check] : []) + (pool.agent.map { [$0.check] } ?? [])
                await prober.restartRamps(checks.map { TargetKey(address: address, check: $0) })
            }
            await rebuild(force: true)
        } else {
            await prober.setDrained(address, drained, by: me)
            // Members with no probe target (a pool without checks) are drained by the plan alone.
            await rebuild(force: true)
        }
        await fleet.setDrainMarks(await prober.drainLog)
        let scope = poolName == nil ? "every pool" : "pool \(poolNames.sorted().joined(separator: ", "))"
        return .ok("\(address) \(drained ? "drained from" : "back in") \(scope)")
    }

    /// A fleet peer's newer drain marks (`pool/address` or a bare address), applied as if given
    /// here (without the check for a last healthy member: the member that took the order made it).
    func applyFleetDrains(_ marks: [String: DrainMark]) async {
        var changed = false
        for (key, mark) in marks.sorted(by: { $0.value.at < $1.value.at }) {
            guard await prober.setDrained(key, mark.drained, mark: mark) else { continue }
            changed = true
            guard !mark.drained, let slash = key.lastIndex(of: "/") else { continue }
            let (name, address) = (String(key[..<slash]), String(key[key.index(after: slash)...]))
            if let pool = config.pools.first(where: { $0.name == name }) {
                let checks = (pool.check.isChecked ? [pool.check] : []) + (pool.agent.map { [$0.check] } ?? [])
                await prober.restartRamps(checks.map { TargetKey(address: address, check: $0) })
            }
        }
        if changed { await rebuild(force: true) }
        await fleet.setDrainMarks(await prober.drainLog)
    }

    /// Drains as the plan wants them: `pool/address` for one pool, a bare address for every pool.
    func poolDrains() async -> Set<String> {
        await prober.drainedAddresses
    }
}
