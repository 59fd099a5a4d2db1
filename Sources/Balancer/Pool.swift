import DNSWire
import Health

/// A balanced name and how its answers are chosen: the A/AAAA records of its owner(s) in the
/// zones are the members. Built by the config module from `pools:`; the plan resolves it against
/// the catalog.
public struct Pool: Sendable, Hashable {
    public enum Order: String, Sendable, Hashable, CaseIterable {
        case rotate, shuffle, weighted, fixed
    }

    /// What to answer while every member is out.
    public enum AllDown: String, Sendable, Hashable, CaseIterable {
        case serveAll = "serve_all"
        case servfail
        case nodata
        case fallback
    }

    /// An owner name, or `*.suffix` for every owner below suffix.
    public var name: String
    /// The cap on the TTL of the pool's answers (halved while a member is down).
    public var ttl: Int
    /// At most this many addresses per answer; nil: all.
    public var maxAnswers: Int?
    public var order: Order
    /// Canonical address text → weight, for `order: weighted` (others weigh 1).
    public var weights: [String: Int]
    public var allDown: AllDown
    /// The addresses answered under `all_down: fallback`.
    public var fallback: [IPAddress]
    public var check: Check

    public init(
        name: String, ttl: Int = 30, maxAnswers: Int? = nil, order: Order = .rotate, weights: [String: Int] = [:],
        allDown: AllDown = .serveAll, fallback: [IPAddress] = [], check: Check = Check()
    ) {
        self.name = name
        self.ttl = ttl
        self.maxAnswers = maxAnswers
        self.order = order
        self.weights = weights
        self.allDown = allDown
        self.fallback = fallback
        self.check = check
    }
}
