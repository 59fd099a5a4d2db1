import Health

/// One target's probe durations (a histogram) and state transitions, kept in the prober's own
/// state and written out by the metrics endpoint. Not in a swift-metrics registry: swift-prometheus
/// copies a family's whole label dictionary to add a label set, so 10,000 per-address series cost
/// O(n²) to create (about 20 s of a core) and a lock and a hash per probe after that.
public struct ProbeStats: Sendable, Hashable {
    /// Upper bounds of the duration buckets, seconds (the last bucket, +Inf, is implied).
    public static let bounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    /// Probes per bucket (not cumulative), the +Inf bucket last.
    public private(set) var buckets = [Int](repeating: 0, count: ProbeStats.bounds.count + 1)
    public private(set) var count = 0
    public private(set) var sum: Double = 0
    /// Transitions into up, down and unknown.
    public private(set) var toUp = 0
    public private(set) var toDown = 0
    public private(set) var toUnknown = 0

    public init() {}

    mutating func record(_ latency: Duration) {
        let seconds = Double(latency.components.seconds) + Double(latency.components.attoseconds) / 1e18
        var b = 0
        while b < ProbeStats.bounds.count && seconds > ProbeStats.bounds[b] { b += 1 }
        buckets[b] += 1
        count += 1
        sum += seconds
    }

    mutating func transition(to state: HealthState) {
        switch state {
        case .up: toUp += 1
        case .down: toDown += 1
        case .unknown: toUnknown += 1
        }
    }
}
