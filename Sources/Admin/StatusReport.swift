import Balancer
import DNSWire
import Foundation
import Health
import Prober
import Runtime
import TransferService

/// `GET /status`: everything an operator asks first — which zones are loaded (and which edit
/// failed), and for every pool member its state and why it is in or out of answers right now.
/// The field names are a contract for scripts, like the config keys.
public struct StatusReport: Codable, Sendable {
    public struct Zone: Codable, Sendable {
        public var origin: String
        public var serial: UInt32
        public var records: Int
        public var file: String
        public var loadedAt: Date
        /// The problem with the file's current content while the last good version serves.
        public var error: String?
    }

    public struct Member: Codable, Sendable {
        public var address: String
        /// up, down, drained or unknown.
        public var state: String
        public var since: Date?
        public var lastResult: String?
        public var latencyMs: Double?
        public var lastChecked: Date?
        public var successes: Int
        public var failures: Int
        public var inAnswers: Bool
        public var why: String
        /// The member's configured weight, and for sticky pools its share of the client key space
        /// now (first places over sampled subnets, 0…1).
        public var weight: Int?
        public var share: Double?
        /// The weight answers use now: configured × the agent's report × the slow-start ramp.
        public var effectiveWeight: Double?
        /// Tiered pools: the member's tier (1 = first).
        public var tier: Int?
        /// The member's agent: its last word and what Carousel made of it.
        public var agent: Agent?
        /// While a slow-start ramp is under way: when the member reaches its full weight.
        public var slowStartUntil: Date?
        /// Answers over the last minute that held the member, and the share of them that put it
        /// first (the address most clients use), 0…1.
        public var answersLastMinute: UInt64?
        public var answerShare: Double?
        /// In a fleet: each fresh member's verdict on this member's target, and the quorum.
        public var fleetVotes: FleetStatus.TargetVotes?
    }

    /// What a member's agent said (HAProxy's agent-check protocol) and its effect.
    public struct Agent: Codable, Sendable {
        /// up, drain, maint, down, fail, failed or stopped.
        public var state: String
        /// The weight it reported, in percent of the configured weight.
        public var percent: Int
        /// The configured weight × percent / 100 (HAProxy's `weight`).
        public var reportedWeight: Double
        /// The text after `#` with its last `down`/`up` word.
        public var reason: String?
        public var lastLine: String?
        /// A word it did not understand, or a line without an end.
        public var problem: String?
        /// Why the last attempt got no line, while it has none.
        public var failure: String?
        public var answered: Bool
    }

    public struct Tier: Codable, Sendable {
        public var tier: Int
        public var members: Int
        public var usable: Int
        public var minUp: Int
        public var answering: Bool
    }

    public struct StickyPrefixes: Codable, Sendable {
        public var ipv4: Int
        public var ipv6: Int
    }

    public struct AddressSet: Codable, Sendable {
        public var owner: String
        public var type: String
        public var members: [Member]
        /// Tiered pools: the tier that answers now (1 = first; nil while every member is out) and
        /// why, and every tier's count.
        public var answeringTier: Int?
        public var tierReason: String?
        public var tiers: [Tier]?
    }

    public struct Pool: Codable, Sendable {
        public var name: String
        public var order: String
        public var allDown: String
        public var ttl: Int
        public var maxAnswers: Int?
        public var check: String
        /// Sticky pools: the prefixes a client's address is cut to.
        public var stickyPrefixes: StickyPrefixes?
        /// `agent:` (its fingerprint, `agent:9999`) and `slow_start:` in seconds, when set.
        public var agent: String?
        public var slowStart: Double?
        public var sets: [AddressSet]
    }

    public var version: String
    public var startedAt: Date
    public var reloads: Int
    public var zones: [Zone]
    /// Every current zone or config problem as `file:line: message`.
    public var errors: [String]
    public var pools: [Pool]
    public var drained: [String]
    /// Present when the config has `transfers:` or `secondaries:`.
    public var transfers: TransferStatus?
    /// Present when the config has `fleet:`: this instance, its role, every member and the votes.
    public var fleet: FleetStatus?

    public static let version = "0.1.0"

    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }

    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        d.dateDecodingStrategy = .iso8601
        return d
    }
}

extension StatusReport.Agent {
    init(_ a: AgentState, weight: Int) {
        self.init(
            state: a.word, percent: a.percent, reportedWeight: Double(weight) * Double(a.percent) / 100,
            reason: a.description, lastLine: a.lastLine, problem: a.problem, failure: a.failure, answered: a.answered)
    }
}

extension StatusReport {
    /// Why the answering tier answers, in words: `tier 1: 2 of 2 usable (min_up 1)`, or
    /// `tier 1 has 0 of 2 usable (min_up 1): tier 2 answers (1 of 1 usable)`.
    static func tierReason(_ set: BalancedSet, _ cs: CandidateSet) -> String {
        let c = cs.candidates
        func count(_ t: Int) -> String {
            "\(cs.tierUsable[t]) of \(set.tierSizes[t]) usable, min_up \(set.tierNeeded[t])"
        }
        guard c.tier >= 0 else { return "no tier has a usable member: all_down applies" }
        let above = (0..<c.tier).filter { set.tierSizes[$0] > 0 }.map { "tier \($0 + 1) has \(count($0))" }
        if above.isEmpty { return "tier \(c.tier + 1) answers: \(count(c.tier))" }
        let met = cs.tierUsable[c.tier] >= set.tierNeeded[c.tier]
        return above.joined(separator: "; ") + "; so tier \(c.tier + 1) answers: \(count(c.tier))"
            + (met ? "" : " (no tier meets its min_up: the first with a usable member answers)")
    }
}

extension CarouselRuntime {
    public func statusReport() async -> StatusReport {
        let targets = Dictionary(await prober.status().map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let view = await healthView()
        let drained = await prober.drainedAddresses
        let fleetStatus = await fleet.status()
        let zones = cache.entries.keys.sorted().compactMap { file -> StatusReport.Zone? in
            let e = cache.entries[file]!
            guard let z = e.served else { return nil }
            return StatusReport.Zone(
                origin: z.origin.description, serial: z.serial, records: z.recordCount, file: file,
                loadedAt: e.loadedAt,
                error: e.errors.first.map(\.description))
        }
        let plan = snapshot.plan
        var pools: [StatusReport.Pool] = plan.pools.map { p in
            StatusReport.Pool(
                name: p.name, order: p.order.rawValue, allDown: p.allDown.rawValue, ttl: Int(p.ttl),
                maxAnswers: p.pool.maxAnswers, check: p.pool.check.fingerprint,
                stickyPrefixes: p.order == .sticky
                    ? StatusReport.StickyPrefixes(ipv4: p.pool.sticky.ipv4, ipv6: p.pool.sticky.ipv6) : nil,
                agent: p.pool.agent.map { $0.check.fingerprint },
                slowStart: p.pool.slowStart.map {
                    Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18
                },
                sets: [])
        }
        let recent = await history.recent(live: liveAnswers())
        for (i, set) in plan.sets.enumerated() {
            let owner = set.owner.description
            let sticky = plan.pools[set.pool].order == .sticky
            let shares = sticky ? plan.shares(set: i, health: view) : []
            let cs = plan.candidateSet(set: i, health: view)
            let firstsTotal = set.counters.reduce(UInt64(0)) {
                $0 + (Int($1) < recent.firsts.count ? recent.firsts[Int($1)] : 0)
            }
            let members = set.addresses.indices.map { m -> StatusReport.Member in
                let t = targets[set.targets[m]]
                let a = targets[set.agents[m]]
                let membership = plan.membership(set: i, member: m, health: view, in: cs)
                var state = t?.state.description ?? (set.targets[m] < 0 ? "up" : "unknown")
                // In a fleet the state answers follow is the fleet's.
                if fleetStatus != nil, set.targets[m] >= 0 { state = view.state(set.targets[m]).description }
                if set.drained[m] || (t?.drained ?? false) { state = "drained" }
                let id = Int(set.counters[m])
                let firsts = id < recent.firsts.count ? recent.firsts[id] : 0
                let rampEnds = [t?.rampEnds, a?.rampEnds].compactMap { $0 }.max()
                return StatusReport.Member(
                    address: set.addresses[m], state: state, since: t?.since, lastResult: t?.lastResult?.reason,
                    latencyMs: t?.lastResult.map {
                        Double($0.latency.components.attoseconds) / 1e15 + Double($0.latency.components.seconds) * 1000
                    },
                    lastChecked: t?.lastChecked, successes: t?.successes ?? 0, failures: t?.failures ?? 0,
                    inAnswers: membership.included, why: membership.why, weight: set.weights[m],
                    share: sticky ? shares[m] : nil,
                    effectiveWeight: set.isUsable(m, view) ? set.effectiveWeight(m, view) : 0,
                    tier: set.isTiered ? Int(set.tiers[m]) + 1 : nil,
                    agent: a?.agent.map { StatusReport.Agent($0, weight: set.weights[m]) },
                    slowStartUntil: rampEnds,
                    answersLastMinute: id < recent.answers.count ? recent.answers[id] : 0,
                    answerShare: firstsTotal > 0 ? Double(firsts) / Double(firstsTotal) : 0,
                    fleetVotes: fleetStatus?.byTarget[set.targets[m]])
            }
            var entry = StatusReport.AddressSet(owner: owner, type: set.type.description, members: members)
            if set.isTiered {
                let c = cs.candidates
                entry.answeringTier = c.tier >= 0 ? c.tier + 1 : nil
                entry.tiers = set.tierSizes.indices.map { t in
                    StatusReport.Tier(
                        tier: t + 1, members: set.tierSizes[t], usable: cs.tierUsable[t], minUp: set.tierNeeded[t],
                        answering: t == c.tier)
                }
                entry.tierReason = StatusReport.tierReason(set, cs)
            }
            pools[set.pool].sets.append(entry)
        }
        return StatusReport(
            version: StatusReport.version, startedAt: startedAt, reloads: reloads, zones: zones,
            errors: (configErrors + [tlsError].compactMap { $0 } + cache.errors.map(\.description)), pools: pools,
            drained: drained.sorted(),
            transfers: await transfers.status(), fleet: fleetStatus)
    }
}
