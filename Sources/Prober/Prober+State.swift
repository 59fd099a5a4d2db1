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
}

extension Prober {
    /// Every target currently probed, ordered by address then check.
    public func status() -> [TargetStatus] {
        targets.indices.filter { targets[$0].active }.map { i in
            let t = targets[i]
            return TargetStatus(
                id: Int32(i), address: t.key.address, fingerprint: t.key.fingerprint, check: t.key.check,
                pools: t.pools, state: t.machine.state, drained: drained.contains(t.key.address),
                since: t.machine.since,
                lastResult: t.machine.last, lastChecked: t.machine.checked,
                successes: t.machine.successes, failures: t.machine.failures, stats: t.stats)
        }.sorted { ($0.address, $0.fingerprint) < ($1.address, $1.fingerprint) }
    }

    /// Drained addresses stay out of answers whatever their health (the next issue's feature);
    /// the flag is kept in the view and in the state file.
    public func setDrained(_ address: String, _ isDrained: Bool) {
        let address = IPAddress.canonical(address) ?? address
        let changed = isDrained ? drained.insert(address).inserted : drained.remove(address) != nil
        guard changed else { return }
        logger.notice("\(address) \(isDrained ? "drained" : "undrained")")
        publishIfChanged()
        save()
    }

    public var drainedAddresses: Set<String> { drained }

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
        targets[i].awaitingFirst = false
        let transition = targets[i].machine.record(result, at: Date())
        targets[i].stats.record(result.latency)  // before `target` shares the buckets (no copy)
        if let transition { targets[i].stats.transition(to: transition.new) }
        let target = targets[i]
        logger.debug("\(describe(target)) \(result)")
        guard let transition else { return false }
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
        HealthView(
            states: targets.map { t in
                guard t.active else { return 0 }
                return t.machine.state.rawValue | (drained.contains(t.key.address) ? HealthView.drainedBit : 0)
            })
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
        let file = StateFile(written: now, targets: entries, drained: drained.sorted())
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
