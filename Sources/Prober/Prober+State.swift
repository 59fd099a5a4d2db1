import DNSWire
import Foundation
import Health
import Logging

/// What the prober reports about one target, for the admin API and `carousel status`.
public struct TargetStatus: Sendable, Hashable {
    public var id: Int32
    public var address: String
    public var fingerprint: String
    public var check: Check
    public var pools: [String]
    public var state: HealthState
    public var drained: Bool
    /// When the state last changed (wall clock).
    public var since: Date
    public var lastResult: ProbeResult?
    public var lastChecked: Date?
    public var successes: Int
    public var failures: Int
    public var stats: ProbeStats
    /// An agent target's reports.
    public var agent: AgentState?
    /// The weight factor in the view now, in thousandths (an agent's percentage, a ramp).
    public var factor: UInt16
    /// The slow-start ramp under way: when it ends (wall clock).
    public var rampEnds: Date?
}

extension Prober {
    /// Every target currently probed, ordered by address then check.
    public func status() -> [TargetStatus] {
        let now = ContinuousClock.now
        let wall = Date()
        return targets.indices.filter { targets[$0].active }.map { i in
            let t = targets[i]
            var rampEnds: Date?
            if let start = t.rampStart, let window = t.slowStart, now < start + window {
                rampEnds = wall.addingTimeInterval(Double((start + window - now).nanoseconds) / 1e9)
            }
            return TargetStatus(
                id: Int32(i), address: t.key.address, fingerprint: t.key.fingerprint, check: t.key.check,
                pools: t.pools, state: t.agent.map(agentHealth) ?? t.machine.state,
                drained: drained.contains(t.key.address), since: t.machine.since,
                lastResult: t.machine.last, lastChecked: t.machine.checked,
                successes: t.machine.successes, failures: t.machine.failures, stats: t.stats, agent: t.agent,
                factor: factor(t, now), rampEnds: rampEnds)
        }.sorted { ($0.address, $0.fingerprint) < ($1.address, $1.fingerprint) }
    }

    /// Drained addresses stay out of answers whatever their health (the next issue's feature);
    /// the flag is kept in the view and in the state file.
    /// An order given here (`mark` nil) is marked now, by `by` (this fleet member's id), and
    /// always taken: it is the newest. A fleet peer's `mark` is taken only when it is newer than
    /// the one held for the key (the last writer wins). Returns whether the mark was taken.
    @discardableResult
    public func setDrained(_ address: String, _ isDrained: Bool, by: String = "", mark: DrainMark? = nil) -> Bool {
        let address = IPAddress.canonical(address) ?? address
        let held = drainMarks[address]
        var local = DrainMark.now(drained: isDrained, by: by)
        if let held, held.at >= local.at { local.at = held.at + 1 }
        let mark = mark ?? local
        if let held, !mark.newer(than: held) { return false }
        drainMarks[address] = mark
        let changed = isDrained ? drained.insert(address).inserted : drained.remove(address) != nil
        guard changed else {
            save()
            return true
        }
        logger.notice("\(address) \(isDrained ? "drained" : "undrained")")
        if !isDrained {
            for i in targets.indices where targets[i].active && targets[i].key.address == address { startRamp(i) }
        }
        publishIfChanged()
        save()
        return true
    }

    public var drainedAddresses: Set<String> { drained }

    /// The newest mark of every drain key, undrains included (what a fleet exchanges).
    public var drainLog: [String: DrainMark] { drainMarks }

    /// Takes one probe result; logs, publishes and saves when it changes the state.
    func record(_ id: Int32, _ result: ProbeResult) {
        let wasAwaiting = targets[Int(id)].awaitingFirst
        if apply(id, result) {
            publishIfChanged()
            save()
        }
        if wasAwaiting { checkFirstRound() }
    }

    /// Takes one probe result and logs a change of state, but leaves publishing and saving to
    /// the caller: a batch of results publishes and saves once, however many targets changed
    /// (a first round of 10,000 targets would otherwise build 10,000 views and files).
    /// Returns whether the state changed.
    func apply(_ id: Int32, _ result: ProbeResult) -> Bool {
        let i = Int(id)
        if targets[i].agent != nil { return applyAgent(i, result) }
        targets[i].awaitingFirst = false
        let transition = targets[i].machine.record(result, at: Date())
        targets[i].stats.record(result.latency)  // before `target` shares the buckets (no copy)
        if let transition { targets[i].stats.transition(to: transition.new) }
        let target = targets[i]
        logger.debug("\(describe(target)) \(result)")
        guard let transition else { return false }
        if transition.old == .down && transition.new == .up { startRamp(i) }
        let line =
            "\(describe(target)) \(transition.old) → \(transition.new): \(result.reason) (\(target.machine.countText))"
        if transition.new == .down { logger.warning("\(line)") } else { logger.info("\(line)") }
        return true
    }

    /// `www.example.com,api.example.com 127.0.0.12 http:8080/healthz`.
    func describe(_ target: Target) -> String {
        let pools = target.pools.isEmpty ? "" : target.pools.joined(separator: ",") + " "
        return "\(pools)\(target.key.address) \(target.key.fingerprint)"
    }

    func currentView() -> HealthView {
        let states = targets.map { t -> UInt8 in
            guard t.active else { return 0 }
            let drainedBit = drained.contains(t.key.address) ? HealthView.drainedBit : 0
            if let a = t.agent {
                return agentHealth(a).rawValue | (a.admin == .maint ? HealthView.drainedBit : drainedBit)
            }
            return t.machine.state.rawValue | drainedBit
        }
        // Factors only when some target has one: most configs have no agent and no ramp.
        guard targets.contains(where: { $0.active && ($0.agent != nil || $0.rampStart != nil) }) else {
            return HealthView(states: states)
        }
        let now = ContinuousClock.now
        return HealthView(states: states, factors: targets.map { factor($0, now) })
    }

    /// An agent target's state in the view: unknown until it first answers, then down while it
    /// says `down`, `fail` or `stopped`.
    func agentHealth(_ a: AgentState) -> HealthState {
        guard a.answered else { return .unknown }
        return a.verdict.isDown ? .down : .up
    }

    /// A target's weight factor at `now`: its agent's, times its slow-start ramp (10 % → 100 %).
    func factor(_ t: Target, _ now: ContinuousClock.Instant) -> UInt16 {
        guard t.active else { return HealthView.fullFactor }
        var f = Int(t.agent?.factor ?? HealthView.fullFactor)
        if let start = t.rampStart, let window = t.slowStart, window > .zero, now < start + window {
            let done = Double((now - start).nanoseconds) / Double(window.nanoseconds)
            f = f * Int(100 + 900 * max(0, done)) / 1000
        }
        return UInt16(clamping: f)
    }

    /// Starts target `i`'s slow-start ramp, if its pools have one.
    func startRamp(_ i: Int) {
        guard targets[i].slowStart != nil else { return }
        targets[i].rampStart = .now
    }

    /// Restarts the ramps of these targets (a member undrained from one pool).
    public func restartRamps(_ keys: [TargetKey]) {
        for key in keys { if let id = ids[key], targets[Int(id)].active { startRamp(Int(id)) } }
        publishIfChanged()
    }

    /// Every 250 ms while a ramp is under way: a new view with the ramps moved on, and ramps that
    /// are over forgotten.
    func rampLoop() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: .milliseconds(250)) } catch { return }
            tickRamps()
        }
    }

    func tickRamps() {
        let now = ContinuousClock.now
        var any = false
        for i in targets.indices {
            guard let start = targets[i].rampStart else { continue }
            any = true
            if let window = targets[i].slowStart, now < start + window { continue }
            targets[i].rampStart = nil
        }
        if any { publishIfChanged() }
    }

    /// Takes an agent's answer (or its silence): the view changes when its word or weight does.
    func applyAgent(_ i: Int, _ result: ProbeResult) -> Bool {
        targets[i].awaitingFirst = false
        targets[i].stats.record(result.latency)
        guard let before = targets[i].agent else { return false }
        // The common case, an agent repeating itself: the state it left stands as it is (a
        // complete line taken again, with no miss since, leaves every field unchanged).
        if result.ok, let reply = result.reply, before.answered, before.misses == 0, before.failure == nil,
            reply == targets[i].agentReply
        {
            return false
        }
        var after = before
        if result.ok, let reply = result.reply {
            targets[i].agentReply = reply
            let line = String(decoding: reply.prefix { $0 != 0x0A && $0 != 0x0D }, as: UTF8.self)
            after.take(AgentReport(reply: reply), line: line)
        } else {
            after.missed(result.reason)
        }
        targets[i].agent = after
        let wasIn = !before.isOut && before.factor > 0
        let isIn = !after.isOut && after.factor > 0
        if before.answered && !wasIn && isIn { startRamp(i) }
        let target = targets[i]
        if after.problem != before.problem, let problem = after.problem {
            logger.warning("\(describe(target)) said \(quoted(after.lastLine ?? "")): \(problem)")
        }
        if after.failure != nil && before.failure == nil && after.answered {
            logger.info("\(describe(target)) no answer: \(after.failure ?? "")")
        }
        let changed =
            after.word != before.word || after.factor != before.factor || after.answered != before.answered
            || after.description != before.description
        if changed {
            var line = "\(describe(target)) \(before.word) \(before.percent)% → \(after.word) \(after.percent)%"
            if let d = after.description { line += " (\(d))" }
            if let l = after.lastLine, after.failure == nil { line += ": \(quoted(l))" }
            if after.isOut && !before.isOut { logger.warning("\(line)") } else { logger.info("\(line)") }
        }
        return changed
    }

    /// Hands the new view to `onChange` only when it says something different.
    func publishIfChanged() {
        let view = currentView()
        let changed = !view.sameMeaning(as: published)
        published = view
        if changed { onChange(view) }
    }

    /// Writes the state file (a no-op without one): every known state, plus saved states not
    /// yet claimed that are still fresh, plus the drained addresses.
    public func save() {
        guard let stateFile else { return }
        let now = Date()
        var entries: [StateFile.Entry] = targets.filter { $0.active && $0.machine.state != .unknown }.map { t in
            StateFile.Entry(
                address: t.key.address, check: t.key.fingerprint, state: t.machine.state, since: t.machine.since,
                checked: t.machine.checked)
        }
        let claimed = Set(entries.map(\.key))
        entries += saved.values.filter { !claimed.contains($0.key) && $0.isFresh(at: now) }
        entries.sort { ($0.address, $0.check) < ($1.address, $1.check) }
        var file = StateFile(written: now, targets: entries, drained: drained.sorted())
        file.drainLog = drainMarks.isEmpty ? nil : drainMarks
        do {
            try file.write(to: stateFile)
            lastSaveError = nil
        } catch {
            // Once per distinct error: a read-only disk must not flood the log at every change.
            if lastSaveError != error.description { logger.error("state file \(error)") }
            lastSaveError = error.description
        }
    }
}
