import DNSWire
import DNSZone
import Health

/// Whether a member is in answers right now, and why, in words (for the status page and `drain`).
public struct Membership: Sendable, Equatable {
    public var included: Bool
    public var why: String
}

/// A set's candidates as values, for callers off the query path that ask about many members.
public struct CandidateSet: Sendable {
    public var candidates: Candidates
    public var members: Set<Int>
    /// Per tier: its usable members now.
    public var tierUsable: [Int]
}

extension BalancePlan {
    public func candidateSet(set index: Int, health: HealthView) -> CandidateSet {
        let set = sets[index]
        let scratch = BalancerScratch(capacity: max(1, set.targets.count))
        let c = candidates(set, health, scratch)
        return CandidateSet(
            candidates: c, members: Set((0..<c.count).map { Int(scratch.healthy[$0]) }),
            tierUsable: set.tierSizes.indices.map { t in
                set.targets.indices.filter { Int(set.tiers[$0]) == t && set.isUsable($0, health) }.count
            })
    }

    public func membership(set index: Int, member m: Int, health: HealthView) -> Membership {
        membership(set: index, member: m, health: health, in: candidateSet(set: index, health: health))
    }

    /// Why member `m` is in or out, given the set's candidates now (``candidateSet(set:health:)``).
    public func membership(set index: Int, member m: Int, health: HealthView, in cs: CandidateSet) -> Membership {
        let set = sets[index]
        let t = set.targets[m]
        let a = set.agents[m]
        let c = cs.candidates
        let answering = cs.members.contains(m)
        if set.isUsable(m, health) {
            if answering {
                var why = t < 0 ? "not checked" : "healthy"
                if c.tier >= 0 { why += ", tier \(c.tier + 1) answers" }
                return Membership(included: true, why: why)
            }
            // Usable but in a tier that does not answer now.
            let mine = Int(set.tiers[m])
            let why =
                mine > c.tier
                ? "standby: tier \(c.tier + 1) answers (\(c.count) of \(set.tierSizes[c.tier]) usable, min_up \(set.tierNeeded[c.tier]))"
                : "tier \(mine + 1) has \(cs.tierUsable[mine]) of \(set.tierSizes[mine]) usable, below min_up \(set.tierNeeded[mine])"
            return Membership(included: false, why: why)
        }
        let reason: String
        if set.drained[m] || (t >= 0 && health.isDrained(t)) {
            reason = "drained"
        } else if t >= 0 && !health.isUp(t) {
            reason = "down"
        } else if a >= 0 && !health.isUp(a) {
            reason = "down (agent)"
        } else if a >= 0 && health.isDrained(a) {
            reason = "maint (agent)"
        } else {
            reason = "drain (agent)"
        }
        if c.count > 0 { return Membership(included: false, why: reason) }
        let policy = pools[set.pool].allDown
        switch policy {
        case .serveAll:
            let served = !set.isTiered || Int(set.tiers[m]) == set.firstTier
            return Membership(
                included: served,
                why: "\(reason), but every member is out: all_down serve_all"
                    + (served ? "" : " (serves tier \(set.firstTier + 1))"))
        default: return Membership(included: false, why: "\(reason); every member is out: all_down \(policy.rawValue)")
        }
    }
}

/// The members a selection chooses from: the usable members of the answering tier (or of the
/// whole set without tiers), in `scratch.healthy[0..<count]`.
public struct Candidates: Sendable, Equatable {
    public var count: Int
    /// The answering tier (0-based), or -1: no tiers, or no tier has a usable member.
    public var tier: Int
    /// Some member is out, or a tier other than the first answers: the TTL is halved.
    public var degraded: Bool
}

extension BalancedSet {
    /// The first tier with members in this set (tiers without any of its records never answer).
    public var firstTier: Int { tierSizes.firstIndex { $0 > 0 } ?? 0 }
}

extension BalancePlan {
    /// The one rule for which members may answer now: without tiers, every usable member; with
    /// tiers, the usable members of the first tier with at least `min_up` of them usable, else
    /// of the first tier with any. Writes them to `scratch.healthy`; no allocation.
    @inline(__always)
    public func candidates(_ set: BalancedSet, _ health: HealthView, _ scratch: BalancerScratch) -> Candidates {
        let n = set.targets.count
        scratch.reserve(n)
        if !set.isTiered {
            var k = 0
            for m in 0..<n where set.isUsable(m, health) {
                scratch.healthy[k] = Int32(m)
                k += 1
            }
            return Candidates(count: k, tier: -1, degraded: k < n)
        }
        let tierCount = set.tierSizes.count
        for t in 0..<tierCount { scratch.tierCounts[t] = 0 }
        for m in 0..<n {
            let ok = set.isUsable(m, health)
            scratch.usable[m] = ok ? 1 : 0
            if ok { scratch.tierCounts[Int(set.tiers[m])] += 1 }
        }
        var chosen = -1
        for t in 0..<tierCount where set.tierSizes[t] > 0 && scratch.tierCounts[t] >= set.tierNeeded[t] {
            chosen = t
            break
        }
        if chosen < 0 {
            for t in 0..<tierCount where scratch.tierCounts[t] > 0 {
                chosen = t
                break
            }
        }
        guard chosen >= 0 else { return Candidates(count: 0, tier: -1, degraded: true) }
        var k = 0
        for m in 0..<n where scratch.usable[m] != 0 && Int(set.tiers[m]) == chosen {
            scratch.healthy[k] = Int32(m)
            k += 1
        }
        return Candidates(count: k, tier: chosen, degraded: chosen != set.firstTier || k < set.tierSizes[chosen])
    }

    /// The members answered now, by index (for `publish_health`'s zone versions): the candidates,
    /// or while every member is out, the ones `serve_all` would answer (the first tier's).
    public func answering(set index: Int, health: HealthView) -> Set<Int> {
        let set = sets[index]
        let scratch = BalancerScratch(capacity: max(1, set.targets.count))
        let c = candidates(set, health, scratch)
        if c.count == 0 {
            return Set(set.targets.indices.filter { !set.isTiered || Int(set.tiers[$0]) == set.firstTier })
        }
        return Set((0..<c.count).map { Int(scratch.healthy[$0]) })
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
        let c = candidates(set, health, scratch)
        var healthy = c.count
        var ttl = min(rrset.ttl, pool.ttl)
        if c.degraded { ttl = max(1, ttl / 2) }
        if healthy == 0 {
            switch pool.allDown {
            case .serveAll:
                // Every member as if up: the first tier's, for a tiered pool.
                for m in 0..<n where !set.isTiered || Int(set.tiers[m]) == set.firstTier {
                    scratch.healthy[healthy] = Int32(m)
                    healthy += 1
                }
            case .servfail: return .servfail
            case .nodata: return .nodata
            case .fallback: return .fallback(ttl: ttl)
            }
        }
        let take = min(pool.maxAnswers, healthy)
        if pool.order == .sticky, let client, client.prefix > 0 {
            rankForClient(set, client, health, count: healthy, take: take, scratch: scratch)
            return .records(count: take, ttl: ttl)
        }
        let counter = Int(zone.nextRotation(rrset.slot))
        var start = 0
        switch pool.order {
        case .fixed:
            start = 0
        case .rotate where set.dynamicWeights, .weighted where set.dynamicWeights:
            start = dynamicStart(set, health, counter: counter, count: healthy, scratch: scratch)
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

    /// With weights that change while serving: the position (in the healthy list) where the
    /// golden-ratio point of the counter falls on the members' effective weights laid end to end.
    /// Consecutive counters spread evenly (a Weyl sequence), so each member comes first in
    /// proportion to its weight now, with no state shared between threads.
    @inline(__always)
    func dynamicStart(
        _ set: BalancedSet, _ health: HealthView, counter: Int, count: Int, scratch: BalancerScratch
    ) -> Int {
        var total = 0.0
        for h in 0..<count {
            let w = set.effectiveWeight(Int(scratch.healthy[h]), health)
            scratch.ranks[h] = w
            total += w
        }
        guard total > 0 else { return counter % count }
        let point = Double((UInt64(truncatingIfNeeded: counter) &* 0x9E37_79B9_7F4A_7C15) >> 11) * 0x1p-53 * total
        var sum = 0.0
        for h in 0..<count {
            sum += scratch.ranks[h]
            if point < sum { return h }
        }
        return count - 1
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
