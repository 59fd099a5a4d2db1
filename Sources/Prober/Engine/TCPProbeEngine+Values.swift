/// What goes into the tcp probe engine and what comes out of it: a target's probe spec, the
/// verdict of one probe, and the engine thread's per-target slot (``TCPProbeEngine``).
extension TCPProbeEngine {
    struct Spec: Sendable {
        var address: ProbeAddress
        /// Nanoseconds between probe starts (before the ±10% jitter).
        var interval: Int64
        /// Nanoseconds a connect (and for an agent, its reply) may take.
        var timeout: Int64
        /// An agent: after the connect, read one line (up to ``replyLimit`` bytes, a newline or
        /// the agent's close ends it).
        var readsReply = false
    }

    enum ConnectResult: Sendable, Equatable {
        case connected
        /// An agent's reply: what it sent, up to and including the first CR or LF (without one,
        /// everything before it closed or the limit: an incomplete line).
        case replied([UInt8])
        /// The connect failed with this `errno` (`ECONNREFUSED`, `ENETUNREACH`, …).
        case failed(Int32)
        case timedOut
    }

    struct Result: Sendable {
        var id: Int32
        var outcome: ConnectResult
        /// Nanoseconds from the connect to the verdict.
        var latency: Int64
    }

    struct Slot {
        var spec: Spec?
        /// The socket of the probe in flight, or -1.
        var fd: Int32 = -1
        var started: Int64 = 0
        /// Moves on at every probe start, set and remove: see ``ProbeSchedule``.
        var generation: UInt32 = 0
        /// An agent's probe in flight has connected and is reading its reply into `reply`.
        var reading = false
        var reply: [UInt8] = []
    }
}
