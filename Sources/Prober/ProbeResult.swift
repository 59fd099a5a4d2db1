/// The outcome of one probe: a verdict, a short reason a person can act on (`connect refused`,
/// `HTTP 503`, `timeout after 500ms`, `body lacks "ok"`, `rcode REFUSED`, `exit 1`) and how long
/// the probe took.
public struct ProbeResult: Sendable, Hashable, CustomStringConvertible {
    public var ok: Bool
    public var reason: String
    public var latency: Duration
    /// An agent's reply (up to and including its line end), for an agent target that answered.
    public var reply: [UInt8]?

    public init(ok: Bool, reason: String, latency: Duration = .zero, reply: [UInt8]? = nil) {
        self.ok = ok
        self.reason = reason
        self.latency = latency
        self.reply = reply
    }

    public static func success(_ reason: String) -> ProbeResult { ProbeResult(ok: true, reason: reason) }
    public static func failure(_ reason: String) -> ProbeResult { ProbeResult(ok: false, reason: reason) }

    public var description: String { "\(ok ? "ok" : "failed"): \(reason) in \(DurationText.format(latency))" }
}

/// Durations as people write them in the config: `500ms`, `2s`, `12.5s` (and `350µs` for latencies).
enum DurationText {
    static func format(_ d: Duration) -> String {
        let (seconds, attoseconds) = d.components
        let ms = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        if ms == 0 && d > .zero { return "\(attoseconds / 1_000_000_000_000)µs" }
        if ms % 1000 == 0 { return "\(ms / 1000)s" }
        if ms < 10_000 { return "\(ms)ms" }
        return "\(Double(ms) / 1000)s"
    }
}
