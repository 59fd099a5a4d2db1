import Balancer
import Foundation
import Health

/// The last hour of every pool member's answers and states: what the status page draws (each
/// member's share of answers over time, its state changes marked) and its "share of answers over
/// the last minute". Answer counts come from the query threads' own counters, read every
/// ``interval`` (nothing is added to the query path); state changes come from every health view
/// the prober publishes and every new plan, as they happen.
public actor AnswerHistory {
    public static let interval: Duration = .seconds(10)
    /// Samples kept: one hour.
    public static let span = 360
    /// State changes kept (the oldest go first beyond this, and beyond an hour).
    public static let maxEvents = 5000

    /// Answers counted between two reads, by answer counter id.
    public struct Sample: Sendable {
        public var time: Date
        public var answers: [UInt32]
        public var firsts: [UInt32]
    }

    /// Where a member stands: answering, usable but not answering (a standby tier, or a tier
    /// below its `min_up`), or out (down, drained, or taken out by its agent).
    public enum MemberState: String, Sendable, Codable {
        case answering, standby, out
    }

    public struct Event: Sendable {
        public var time: Date
        public var key: AnswerCounterKey
        public var state: MemberState
        public var why: String
    }

    public private(set) var samples: [Sample] = []
    public private(set) var events: [Event] = []
    /// Each member's state now, with the reason, and the counter keys of the current plan.
    public private(set) var states: [AnswerCounterKey: (state: MemberState, why: String)] = [:]
    public private(set) var keys: [AnswerCounterKey] = []
    var last: AnswerTotals?
    var plan: BalancePlan = .empty
    var health: HealthView = .empty
    private let views: AsyncStream<HealthView>
    private let viewSink: AsyncStream<HealthView>.Continuation

    public init() {
        (views, viewSink) = AsyncStream.makeStream(of: HealthView.self)
    }

    /// A new plan (every rebuild): members that came or went are marked.
    public func setPlan(_ plan: BalancePlan, at now: Date = Date()) {
        self.plan = plan
        keys = plan.counterKeys
        observe(at: now)
    }

    /// Called by the prober's publisher for every new view; taken in order by ``follow()``.
    public nonisolated func healthChanged(_ view: HealthView) {
        viewSink.yield(view)
    }

    /// Takes the views handed to ``healthChanged(_:)`` until cancelled.
    public func follow() async {
        for await view in views {
            health = view
            observe(at: Date())
        }
    }

    /// Works out every member's state under the current plan and view and records the changes.
    func observe(at now: Date) {
        var current: [AnswerCounterKey: (state: MemberState, why: String)] = [:]
        for (i, set) in plan.sets.enumerated() {
            let cs = plan.candidateSet(set: i, health: health)
            for m in set.targets.indices {
                let key = plan.counterKeys[Int(set.counters[m])]
                let state: MemberState
                if cs.candidates.count == 0 {
                    // Every member out: all_down decides; serve_all still answers with them.
                    state = plan.membership(set: i, member: m, health: health, in: cs).included ? .answering : .out
                } else {
                    state = cs.members.contains(m) ? .answering : set.isUsable(m, health) ? .standby : .out
                }
                // A member in several sets (A and AAAA owners of a wildcard pool): the best wins.
                if let old = current[key], rank(old.state) >= rank(state) { continue }
                // The reason only when the state changed: it costs more than the state.
                let why =
                    states[key]?.state == state
                    ? states[key]!.why : plan.membership(set: i, member: m, health: health, in: cs).why
                current[key] = (state, why)
            }
        }
        for (key, entry) in current.sorted(by: { ($0.key.pool, $0.key.address) < ($1.key.pool, $1.key.address) })
        where states[key]?.state != entry.state {
            events.append(Event(time: now, key: key, state: entry.state, why: entry.why))
        }
        states = current
        trim(now)
    }

    private func rank(_ s: MemberState) -> Int {
        switch s {
        case .answering: 2
        case .standby: 1
        case .out: 0
        }
    }

    /// One read of the query threads' totals: the answers since the previous read become a sample.
    public func record(_ totals: AnswerTotals, at now: Date = Date()) {
        defer { last = totals }
        guard let sample = delta(totals, at: now) else { return }
        samples.append(sample)
        if samples.count > AnswerHistory.span { samples.removeFirst(samples.count - AnswerHistory.span) }
        trim(now)
    }

    /// The answers between the last read and `totals`, as a sample (nil before the first read).
    func delta(_ totals: AnswerTotals, at now: Date) -> Sample? {
        guard let last else { return nil }
        let n = totals.answers.count
        var sample = Sample(
            time: now, answers: [UInt32](repeating: 0, count: n), firsts: [UInt32](repeating: 0, count: n))
        for i in 0..<n {
            let a = totals.answers[i] &- (i < last.answers.count ? last.answers[i] : 0)
            let f = totals.firsts[i] &- (i < last.firsts.count ? last.firsts[i] : 0)
            sample.answers[i] = UInt32(clamping: a)
            sample.firsts[i] = UInt32(clamping: f)
        }
        return sample
    }

    /// The stored samples, then (given the threads' totals now) the one under way since the last
    /// read, so a page shows answers up to the moment it is drawn.
    func samples(live: AnswerTotals?, at now: Date) -> [Sample] {
        guard let live, let partial = delta(live, at: now) else { return samples }
        return samples + [partial]
    }

    private func trim(_ now: Date) {
        let horizon = now.addingTimeInterval(-3600)
        if let firstKept = events.firstIndex(where: { $0.time >= horizon }) {
            if firstKept > 0 { events.removeFirst(firstKept) }
        } else {
            events.removeAll()
        }
        if events.count > AnswerHistory.maxEvents { events.removeFirst(events.count - AnswerHistory.maxEvents) }
    }

    /// Answers and first places per counter id over the samples of the last `seconds`.
    public func recent(seconds: Double = 60, live: AnswerTotals? = nil, now: Date = Date()) -> (
        answers: [UInt64], firsts: [UInt64]
    ) {
        var answers = [UInt64](repeating: 0, count: keys.count)
        var firsts = answers
        let since = now.addingTimeInterval(-seconds - 1)
        for s in samples(live: live, at: now).reversed() {
            guard s.time >= since else { break }
            for i in 0..<min(keys.count, s.answers.count) {
                answers[i] += UInt64(s.answers[i])
                firsts[i] += UInt64(s.firsts[i])
            }
        }
        return (answers, firsts)
    }

    /// What a chart of pool `pool` needs: its members' counter ids (in the order of the pool's
    /// records), every sample and the state changes of its members.
    public func chart(pool: String, live: AnswerTotals? = nil, now: Date = Date()) -> Chart {
        var ids: [Int32] = []
        for set in plan.sets where plan.pools[set.pool].name == pool {
            for id in set.counters where !ids.contains(id) { ids.append(id) }
        }
        let members = ids.map { plan.counterKeys[Int($0)].address }
        let wanted = Set(members)
        return Chart(
            pool: pool, members: members,
            samples: samples(live: live, at: now).map { s in
                Chart.Point(
                    time: s.time, firsts: ids.map { Int($0) < s.firsts.count ? s.firsts[Int($0)] : 0 },
                    answers: ids.map { Int($0) < s.answers.count ? s.answers[Int($0)] : 0 })
            },
            events: events.filter { $0.key.pool == pool && wanted.contains($0.key.address) }.map {
                Chart.Mark(time: $0.time, address: $0.key.address, state: $0.state, why: $0.why)
            },
            current: members.map { states[AnswerCounterKey(pool: pool, address: $0)]?.state ?? .out })
    }

    /// One pool's history, ready to draw.
    public struct Chart: Sendable {
        public struct Point: Sendable {
            public var time: Date
            /// Per member (in `members` order).
            public var firsts: [UInt32]
            public var answers: [UInt32]
        }

        public struct Mark: Sendable {
            public var time: Date
            public var address: String
            public var state: MemberState
            public var why: String
        }

        public var pool: String
        public var members: [String]
        public var samples: [Point]
        public var events: [Mark]
        /// Each member's state now.
        public var current: [MemberState]
    }
}

extension CarouselRuntime {
    /// Reads the query threads' answer counts into ``history`` every ``AnswerHistory/interval``
    /// until cancelled.
    /// The query threads' answer counts now (for a page: ``AnswerHistory/recent(seconds:live:now:)``).
    public func liveAnswers() -> AnswerTotals { server.answerTotals() }

    public func sampleAnswers() async {
        await history.record(server.answerTotals())
        while !Task.isCancelled {
            do { try await Task.sleep(for: AnswerHistory.interval) } catch { return }
            await history.record(server.answerTotals())
        }
    }
}
