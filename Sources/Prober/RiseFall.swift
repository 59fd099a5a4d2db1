import Foundation
import Health

/// The hysteresis that damps flapping: a target goes down after `fall` consecutive failures and
/// comes back after `rise` consecutive successes. A pure value: the caller passes the time of
/// each result, so tests drive it with a hand-advanced clock.
///
/// The very first result decides at once (success → up, failure → down): a prober that starts
/// without a saved state must not hand out a dead address for `fall` intervals ("not blind at
/// start"). A state restored from the state file starts where it was saved, with zero counts.
public struct RiseFall: Sendable, Hashable {
    public var rise: Int
    public var fall: Int
    public private(set) var state: HealthState = .unknown
    /// Consecutive successes and failures; one of the two is always zero.
    public private(set) var successes = 0
    public private(set) var failures = 0
    /// When `state` last changed (creation time while unknown, saved time when restored).
    public private(set) var since: Date
    public private(set) var last: ProbeResult?
    /// When `last` arrived; for a restored state, when it was last confirmed before the restart.
    public private(set) var checked: Date?

    public struct Transition: Sendable, Hashable {
        public var old: HealthState
        public var new: HealthState
    }

    public init(rise: Int, fall: Int, now: Date) {
        self.rise = max(1, rise)
        self.fall = max(1, fall)
        self.since = now
    }

    /// Starts from a saved state (see ``StateFile``).
    public init(rise: Int, fall: Int, restoring state: HealthState, since: Date, checked: Date?) {
        self.init(rise: rise, fall: fall, now: since)
        self.state = state
        self.checked = checked
    }

    /// Takes one probe result; returns the transition it caused, if any.
    @discardableResult
    public mutating func record(_ result: ProbeResult, at now: Date) -> Transition? {
        last = result
        checked = now
        if result.ok {
            successes += 1
            failures = 0
        } else {
            failures += 1
            successes = 0
        }
        let old = state
        switch state {
        case .unknown: state = result.ok ? .up : .down
        case .up: if failures >= fall { state = .down }
        case .down: if successes >= rise { state = .up }
        }
        guard state != old else { return nil }
        since = now
        return Transition(old: old, new: state)
    }

    /// The counts behind the current verdict, for log lines: `2 failures`, `1 success`.
    public var countText: String {
        if failures > 0 { return failures == 1 ? "1 failure" : "\(failures) failures" }
        return successes == 1 ? "1 success" : "\(successes) successes"
    }
}
