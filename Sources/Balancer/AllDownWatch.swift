import DNSWire
import Health

/// Follows, view after view, which balanced address sets have every member out, so the change
/// is told once when a set goes dark (and its pool's `all_down` policy takes over) and once when
/// it has members again. A value: the runtime keeps it, feeds it views and logs what it returns.
public struct AllDownWatch: Sendable {
    /// One change of one address set.
    public struct Change: Sendable, Equatable, CustomStringConvertible {
        public var pool: String
        public var type: RRType
        public var allDown: Pool.AllDown
        /// True when every member just went out; false when one is back.
        public var dark: Bool

        public var description: String {
            dark
                ? "pool \(pool) \(type): every member is down; all_down: \(allDown.rawValue)"
                : "pool \(pool) \(type): members are up again"
        }
    }

    public private(set) var plan: BalancePlan
    private var dark: Set<Int> = []

    public init(plan: BalancePlan = .empty) { self.plan = plan }

    /// A new plan: sets are followed afresh (their indices are the new plan's).
    public mutating func follow(_ plan: BalancePlan) {
        self.plan = plan
        dark = []
    }

    /// The changes `view` brings.
    public mutating func update(_ view: HealthView) -> [Change] {
        var out: [Change] = []
        for (i, set) in plan.sets.enumerated() {
            let isDark = !set.targets.isEmpty && !set.anyUsable(view)
            guard isDark != dark.contains(i) else { continue }
            if isDark { dark.insert(i) } else { dark.remove(i) }
            let pool = plan.pools[set.pool]
            out.append(Change(pool: pool.name, type: set.type, allDown: pool.allDown, dark: isDark))
        }
        return out
    }
}
