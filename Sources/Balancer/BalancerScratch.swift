/// Per-thread memory for selections: no allocation per query.
public final class BalancerScratch: @unchecked Sendable {
    public private(set) var picks: UnsafeMutablePointer<Int32>
    var healthy: UnsafeMutablePointer<Int32>
    /// Each usable member's rank for the client (sticky pools): lower is better.
    var ranks: UnsafeMutablePointer<Double>
    /// Per member, usable now (tiered sets); per tier, its usable members.
    var usable: UnsafeMutablePointer<UInt8>
    var tierCounts: UnsafeMutablePointer<Int>
    var capacity: Int
    /// Tiers a pool may have (the config's limit).
    public static let maxTiers = 16
    var rng: UInt64

    public init(capacity: Int = 64, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) {
        self.capacity = capacity
        self.picks = .allocate(capacity: capacity)
        self.healthy = .allocate(capacity: capacity)
        self.ranks = .allocate(capacity: capacity)
        self.usable = .allocate(capacity: capacity)
        self.tierCounts = .allocate(capacity: BalancerScratch.maxTiers)
        self.rng = seed | 1
    }

    deinit {
        picks.deallocate()
        healthy.deallocate()
        ranks.deallocate()
        usable.deallocate()
        tierCounts.deallocate()
    }

    /// Grows the buffers (rarely: only when a snapshot brings a larger set).
    @inline(__always)
    func reserve(_ n: Int) {
        guard n > capacity else { return }
        picks.deallocate()
        healthy.deallocate()
        ranks.deallocate()
        usable.deallocate()
        capacity = n
        picks = .allocate(capacity: n)
        healthy = .allocate(capacity: n)
        ranks = .allocate(capacity: n)
        usable = .allocate(capacity: n)
    }

    @inline(__always)
    func random(below n: Int) -> Int {
        rng ^= rng << 13
        rng ^= rng >> 7
        rng ^= rng << 17
        return Int(rng % UInt64(n))
    }
}
