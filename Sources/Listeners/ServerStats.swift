import Atomics

/// Counters shared by all loops; relaxed atomics, never locks.
public final class ServerStats: Sendable {
    public let tcpOpen = ManagedAtomic<Int>(0)
    /// Connections closed at once: the server was full and this loop had no idle one to close.
    public let tcpRefused = ManagedAtomic<Int>(0)
    /// Idle connections closed to make room for a new one.
    public let tcpEvicted = ManagedAtomic<Int>(0)
    public let tcpIdleClosed = ManagedAtomic<Int>(0)
    /// Closed because a message stayed incomplete past `tcp.message_timeout`.
    public let tcpSlowClosed = ManagedAtomic<Int>(0)
    public let tcpQueryCapClosed = ManagedAtomic<Int>(0)
    public let dropped = ManagedAtomic<Int>(0)
    public init() {}

}
