/// What the query path knows about health: one byte per target id, immutable. The prober builds a
/// new view and publishes it only when a byte changes; the server swaps it in atomically and
/// reads it without locks.
///
/// A byte holds the ``HealthState`` in its low bits and ``drainedBit`` for an address an operator
/// has drained. Ids are small integers the prober hands out per ``TargetKey``; an id this view
/// does not know (a target added after it was built) counts as up.
public struct HealthView: Sendable, Hashable {
    public static let drainedBit: UInt8 = 0x80
    static let stateMask: UInt8 = 0x7F

    public let states: [UInt8]

    public init(states: [UInt8] = []) {
        self.states = states
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

    public func state(_ id: Int32) -> HealthState {
        guard id >= 0, Int(id) < states.count else { return .unknown }
        return HealthState(rawValue: states[Int(id)] & HealthView.stateMask) ?? .unknown
    }

    /// True when both views say the same about every id (an id past the end reads as 0,
    /// unknown and not drained), so growing the table alone is not a change worth publishing.
    public func sameMeaning(as other: HealthView) -> Bool {
        let n = max(states.count, other.states.count)
        for i in 0..<n {
            let a = i < states.count ? states[i] : 0
            let b = i < other.states.count ? other.states[i] : 0
            if a != b { return false }
        }
        return true
    }
}
