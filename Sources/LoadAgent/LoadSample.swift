/// The machine's load as `carousel agent` reports it: CPU busy over the last interval (from two
/// reads of `/proc/stat`) and memory in use (`/proc/meminfo`: 1 − MemAvailable / MemTotal).
public struct CPUTimes: Sendable, Equatable {
    /// Jiffies since boot, all CPUs: every field of the `cpu` line, and idle + iowait of them.
    public var total: UInt64
    public var idle: UInt64

    public init(total: UInt64, idle: UInt64) {
        self.total = total
        self.idle = idle
    }

    /// The aggregate `cpu` line of `/proc/stat` text: `cpu user nice system idle iowait irq
    /// softirq steal guest guest_nice` (guest time is already inside user and nice, so it is not
    /// counted twice).
    public init?(procStat text: String) {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return nil }
        let fields = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard fields.count >= 4 else { return nil }
        let counted = fields.prefix(8)  // user … steal
        total = counted.reduce(0, +)
        idle = fields[3] + (fields.count > 4 ? fields[4] : 0)
    }

    /// The share of time busy between `earlier` and this read, 0…1 (0 when no time passed).
    public func busy(since earlier: CPUTimes) -> Double {
        guard total > earlier.total else { return 0 }
        let elapsed = Double(total - earlier.total)
        let idled = Double(idle >= earlier.idle ? idle - earlier.idle : 0)
        return max(0, min(1, 1 - idled / elapsed))
    }
}

public enum MemoryUse {
    /// 1 − MemAvailable / MemTotal from `/proc/meminfo` text, 0…1.
    public static func used(procMeminfo text: String) -> Double? {
        var total: Double?
        var available: Double?
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, let value = Double(parts[1]) else { continue }
            if parts[0] == "MemTotal:" { total = value }
            if parts[0] == "MemAvailable:" { available = value }
        }
        guard let total, let available, total > 0 else { return nil }
        return max(0, min(1, 1 - available / total))
    }
}

/// What the agent says: its weight from the load, `drain` while the drain file exists, `down`
/// while the check command fails. Every line carries every word (`63% ready up`), because only
/// the agent can undo what it said (HAProxy's rule, and Carousel's).
public struct AgentReply: Sendable, Equatable {
    public enum Basis: String, Sendable, CaseIterable {
        case cpu, memory, both
    }

    public var percent: Int
    public var draining: Bool
    /// Why the check command failed, or nil while it passes (or there is none).
    public var failure: String?

    public init(percent: Int, draining: Bool = false, failure: String? = nil) {
        self.percent = percent
        self.draining = draining
        self.failure = failure
    }

    /// `100% − max(CPU busy, memory used)` (or the one `basis` names), clamped to 1…100 %: a
    /// machine at full load still gets a trickle, so the balancer keeps seeing it.
    public static func percent(cpu: Double, memory: Double, by basis: Basis) -> Int {
        let load: Double
        switch basis {
        case .cpu: load = cpu
        case .memory: load = memory
        case .both: load = max(cpu, memory)
        }
        return max(1, min(100, Int((100 * (1 - load)).rounded())))
    }

    /// The line sent to every connection, with its line end.
    public var line: String {
        var s = "\(percent)% \(draining ? "drain" : "ready")"
        if let failure {
            s += " down #\(failure.replacingNewlines)"
        } else {
            s += " up"
        }
        return s + "\n"
    }
}

extension String {
    fileprivate var replacingNewlines: String {
        String(map { $0 == "\n" || $0 == "\r" ? " " : $0 })
    }
}
