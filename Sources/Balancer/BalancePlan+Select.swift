import DNSWire
import DNSZone
import Health

/// Whether a member is in answers right now, and why, in words (for the status page and `drain`).
public struct Membership: Sendable, Equatable {
    public var included: Bool
    public var why: String
}

extension BalancePlan {
    public func membership(set index: Int, member m: Int, health: HealthView) -> Membership {
        let set = sets[index]
        let t = set.targets[m]
        if set.isUsable(m, health) { return Membership(included: true, why: t < 0 ? "not checked" : "healthy") }
        let policy = pools[set.pool].allDown
        let reason = set.drained[m] || (t >= 0 && health.isDrained(t)) ? "drained" : "down"
        if set.anyUsable(health) { return Membership(included: false, why: reason) }
        switch policy {
        case .serveAll: return Membership(included: true, why: "\(reason), but every member is out: all_down serve_all")
        default: return Membership(included: false, why: "\(reason); every member is out: all_down \(policy.rawValue)")
        }
    }
}

/// What to answer for a balanced RRset right now.
public enum Selection: Equatable, Sendable {
    /// Write the records whose member indices are in `scratch.picks[0..<count]`, with this TTL.
    case records(count: Int, ttl: UInt32)
    /// Every member is down and the pool says so (`all_down`).
    case servfail
    case nodata
    /// Write the pool's fallback addresses of the set's type, with this TTL.
    case fallback(ttl: UInt32)
}

extension BalancePlan {
    /// Chooses the members to answer with: drop those that are down or drained, apply the
    /// all-down policy, order them (rotate, shuffle, weighted or fixed, starting from the set's
    /// counter; sticky, by the client's own ranking of the members), cap their number with a window
    /// that moves with the rotation, and cap the TTL (halved while any member is down, so
    /// resolvers come back sooner). `client` is the key of a sticky pool's client; a sticky pool
    /// without one (no address, or ECS source 0) rotates.
    @inline(__always)
    public func select(
        _ index: Int, zone: Zone, rrset: RRset, health: HealthView, client: StickyKey? = nil, scratch: BalancerScratch
    ) -> Selection {
        let set = sets[index]
        let pool = pools[set.pool]
        let n = set.targets.count
        scratch.reserve(n)
        var healthy = 0
        for m in 0..<n where set.isUsable(m, health) {
            scratch.healthy[healthy] = Int32(m)
            healthy += 1
        }
        var ttl = min(rrset.ttl, pool.ttl)
        if healthy < n { ttl = max(1, ttl / 2) }
        if healthy == 0 {
            switch pool.allDown {
            case .serveAll:
                for m in 0..<n { scratch.healthy[m] = Int32(m) }
                healthy = n
            case .servfail: return .servfail
            case .nodata: return .nodata
            case .fallback: return .fallback(ttl: ttl)
            }
        }
        let take = min(pool.maxAnswers, healthy)
        if pool.order == .sticky, let client, client.prefix > 0 {
            rankForClient(set, client, count: healthy, take: take, scratch: scratch)
            return .records(count: take, ttl: ttl)
        }
        let counter = Int(zone.nextRotation(rrset.slot))
        var start = 0
        switch pool.order {
        case .fixed:
            start = 0
        case .rotate, .sticky:
            start = counter % healthy
        case .shuffle:
            var i = healthy - 1
            while i > 0 {
                let j = scratch.random(below: i + 1)
                let t = scratch.healthy[i]
                scratch.healthy[i] = scratch.healthy[j]
                scratch.healthy[j] = t
                i -= 1
            }
        case .weighted:
            start = weightedStart(set.schedule, counter: counter, healthy: scratch.healthy, count: healthy)
        }
        for k in 0..<take {
            var p = start + k
            if p >= healthy { p -= healthy }
            scratch.picks[k] = scratch.healthy[p]
        }
        return .records(count: take, ttl: ttl)
    }

    /// The position (in the healthy list) of the first healthy member at or after the counter's
    /// place in the weighted schedule.
    @inline(__always)
    func weightedStart(_ schedule: [Int16], counter: Int, healthy: UnsafeMutablePointer<Int32>, count: Int) -> Int {
        guard !schedule.isEmpty else { return counter % count }
        var pos = counter % schedule.count
        for _ in 0..<schedule.count {
            let member = Int32(schedule[pos])
            for h in 0..<count where healthy[h] == member { return h }
            pos += 1
            if pos == schedule.count { pos = 0 }
        }
        return counter % count
    }
}
