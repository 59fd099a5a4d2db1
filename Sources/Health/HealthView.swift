/// What the query path knows about health: one byte per target id, immutable. The prober builds a
/// new view and publishes it only when a byte changes; the server swaps it in atomically and
/// reads it without locks.
///
/// A byte holds the ``HealthState`` in its low bits and ``drainedBit`` for an address an operator
/// has drained. Ids are small integers the prober hands out per ``TargetKey``; an id this view
/// does not know (a target added after it was built) counts as up.
///
/// Beside each state, a weight factor in thousandths (``fullFactor`` is the configured weight):
/// what an agent reported (`75%` is 750, `drain` is 0) for an agent target, and the slow-start
/// ramp (100 → 1000) for a check target that came back. An id without one is at 1000.
public struct HealthView: Sendable, Hashable {
    public static let drainedBit: UInt8 = 0x80
    static let stateMask: UInt8 = 0x7F
    public static let fullFactor: UInt16 = 1000

    public let states: [UInt8]
    public let factors: [UInt16]

    public init(states: [UInt8] = [], factors: [UInt16] = []) {
        self.states = states
        self.factors = factors
    }

    public static let empty = HealthView()

    /// False only for a target that is known to be down; unknown and unseen ids are up.
    @inline(__always)
    public func isUp(_ id: Int32) -> Bool {
        guard id >= 0, Int(id) < states.count else { return true }
        return states[Int(id)] & HealthView.stateMask != HealthState.down.rawValue
    }

    /// True when the target's address has been drained (taken out of answers by an operator,
    /// whatever its health).
    @inline(__always)
    public func isDrained(_ id: Int32) -> Bool {
        guard id >= 0, Int(id) < states.count else { return false }
        return states[Int(id)] & HealthView.drainedBit != 0
    }

    /// The target's weight factor in thousandths of the configured weight.
    @inline(__always)
    public func factor(_ id: Int32) -> UInt16 {
        guard id >= 0, Int(id) < factors.count else { return HealthView.fullFactor }
        return factors[Int(id)]
    }

    public func state(_ id: Int32) -> HealthState {
        guard id >= 0, Int(id) < states.count else { return .unknown }
        return HealthState(rawValue: states[Int(id)] & HealthView.stateMask) ?? .unknown
    }

    /// True when both views say the same about every id (an id past the end reads as 0,
    /// unknown and not drained, at the full factor), so growing the table alone is not a change
    /// worth publishing.
    public func sameMeaning(as other: HealthView) -> Bool {
        sameStates(as: other) && sameFactors(as: other)
    }

    /// The states alone: who is up, down or drained (what `publish_health` zone versions and the
    /// all-down log depend on), whatever the weights.
    public func sameStates(as other: HealthView) -> Bool {
        let n = max(states.count, other.states.count)
        for i in 0..<n {
            let a = i < states.count ? states[i] : 0
            let b = i < other.states.count ? other.states[i] : 0
            if a != b { return false }
        }
        return true
    }

    /// The states, and which targets are at factor 0 (an agent's `drain` or `0%`): everything
    /// that decides whether a member may be answered, nothing of how often.
    public func sameUsability(as other: HealthView) -> Bool {
        guard sameStates(as: other) else { return false }
        let n = max(factors.count, other.factors.count)
        for i in 0..<n where (factor(Int32(i)) == 0) != (other.factor(Int32(i)) == 0) { return false }
        return true
    }

    func sameFactors(as other: HealthView) -> Bool {
        let n = max(factors.count, other.factors.count)
        for i in 0..<n where factor(Int32(i)) != other.factor(Int32(i)) { return false }
        return true
    }
}
