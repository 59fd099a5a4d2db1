/// At most one health-driven serial bump per `interval` (per `publish_health` primary), so a
/// flapping backend cannot storm the secondaries with NOTIFYs and transfers: a change inside the
/// interval waits for its end, and every change that arrives meanwhile rides along.
public struct BumpLimiter: Sendable {
    public let interval: Duration
    var last: ContinuousClock.Instant?
    var scheduled = false

    public init(interval: Duration) { self.interval = interval }

    public enum Decision: Equatable, Sendable {
        /// Publish now.
        case now
        /// Publish after this wait (the caller schedules it, then calls `fired`).
        case after(Duration)
        /// A deferred publish is already on its way and will see this change.
        case pending
    }

    public mutating func request(at now: ContinuousClock.Instant) -> Decision {
        if scheduled { return .pending }
        guard let last, now - last < interval else { return .now }
        scheduled = true
        return .after(interval - (now - last))
    }

    /// A deferred publish ran.
    public mutating func fired() { scheduled = false }

    /// A new version went out at `now`.
    public mutating func bumped(at now: ContinuousClock.Instant) { last = now }
}
