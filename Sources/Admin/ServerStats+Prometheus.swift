import Atomics
import Listeners

/// The listeners' connection counters in the Prometheus text format.
enum ServerStatsText {
    /// `carousel_tcp_closed_total{reason}` in the Prometheus text format.
    static func text(_ stats: ServerStats) -> String {
        var s = "# HELP carousel_tcp_closed_total TCP connections closed by the server, by reason.\n"
        s += "# TYPE carousel_tcp_closed_total counter\n"
        for (reason, n) in [
            ("full", stats.tcpRefused), ("evicted", stats.tcpEvicted), ("idle", stats.tcpIdleClosed),
            ("slow", stats.tcpSlowClosed),
            ("query_cap", stats.tcpQueryCapClosed),
        ] {
            s += "carousel_tcp_closed_total{reason=\"\(reason)\"} \(n.load(ordering: .relaxed))\n"
        }
        return s
    }
}
