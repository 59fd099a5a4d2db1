/// What a fleet member is for the secondaries of `publish_health` zones.
public enum FleetRole: String, Sendable, Hashable {
    /// Publishes the zones' versions (one member at a time, elected by a majority of all members).
    case master
    /// Hears a peer; serves the copy of what the master published.
    case standby
    /// Hears no peer; answers from its own probes, publishes nothing new.
    case alone
}

/// The choice of a master by votes. Each member serves its vote in its observation zone; a member
/// is master while it votes for itself and holds the up-to-date votes of a majority of all
/// members (itself included). A vote is a lease: it is taken back only once the member it went to
/// can no longer be counting it, so two members never count one vote and a partition never makes
/// two masters:
/// - a master counts a peer's vote while it heard the peer within `stale_after` less a margin
///   and holds the version of its zone that the peer's last SOA announced;
/// - a member withdraws a vote from another member, and then waits `stale_after` + 1 s from the
///   last time it heard that member before voting again (the margin and the second cover the
///   other side's poll, one a second: a link that fails, fails both ways).
/// A member votes for the member a majority already votes for (so a master is never displaced by
/// one that returns), else for the first live member in the config's order. It may take back a
/// vote for itself at once: only it counts that one.
public struct FleetElection: Sendable {
    /// What this member knows of a peer.
    public struct Peer: Sendable {
        /// When it last answered.
        public var lastHeard: ContinuousClock.Instant?
        /// True when the version of its zone held is the one its last SOA announced.
        public var upToDate: Bool
        /// Its vote, as its zone holds it.
        public var vote: String?

        public init(lastHeard: ContinuousClock.Instant?, upToDate: Bool, vote: String?) {
            self.lastHeard = lastHeard
            self.upToDate = upToDate
            self.vote = vote
        }
    }

    /// The outcome of a step.
    public struct Outcome: Sendable, Equatable {
        public var role: FleetRole
        /// The member a majority votes for, as this one counts (nil: none).
        public var master: String?
        /// Member id → the votes it holds, as this one counts them.
        public var votes: [String: Int]
    }

    /// This member's vote (nil: none, as after a start or while a withdrawn vote's lease runs).
    public private(set) var vote: String?
    /// No vote before this.
    public private(set) var holdUntil: ContinuousClock.Instant
    let staleAfter: Duration

    /// A member starting up: it votes only after `stale_after` + 1 s, since before it was
    /// restarted it may have voted for another member that still counts that vote.
    public init(now: ContinuousClock.Instant, staleAfter: Duration) {
        self.staleAfter = staleAfter
        holdUntil = now + staleAfter + .seconds(1)
    }

    /// A master stops counting a peer this long before the peer counts as silent.
    var margin: Duration { staleAfter / 6 }

    /// Brings the vote up to date with what this member hears now, and says what it is.
    public mutating func step(
        me: String, members: [String], peers: [String: Peer], now: ContinuousClock.Instant
    ) -> Outcome {
        let majority = members.count / 2 + 1
        let fresh = peers.filter { _, p in p.lastHeard.map { now - $0 < staleAfter } ?? false }
        let live = Set(fresh.keys).union([me])
        var tally: [String: Int] = [:]
        if let vote { tally[vote, default: 0] += 1 }
        for (_, p) in fresh where p.upToDate {
            if let v = p.vote { tally[v, default: 0] += 1 }
        }
        let leader = tally.filter { live.contains($0.key) && $0.value >= majority }.keys.sorted().first
        let desired = leader ?? members.first { live.contains($0) } ?? me
        if let v = vote, v != desired {
            if v != me {
                // Withdrawn: the member it went to may count it until it hears of the change, or
                // until this member is silent to it.
                let heard = peers[v]?.lastHeard ?? now
                holdUntil = max(holdUntil, min(now, heard) + staleAfter + .seconds(1))
            }
            vote = nil
        }
        if vote == nil, now >= holdUntil { vote = desired }
        // Counted as master: its own vote, and the votes of peers heard within the margin.
        var mine = vote == me ? 1 : 0
        for (_, p) in peers where p.upToDate && p.vote == me {
            if let heard = p.lastHeard, now - heard < staleAfter - margin { mine += 1 }
        }
        let role: FleetRole = mine >= majority ? .master : (fresh.isEmpty ? .alone : .standby)
        if vote == me { tally[me] = mine }
        return Outcome(role: role, master: role == .master ? me : leader, votes: tally)
    }
}
