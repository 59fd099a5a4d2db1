import DNSWire
import Health

/// A balanced name and how its answers are chosen: the A/AAAA records of its owner(s) in the
/// zones are the members. Built by the config module from `pools:`; the plan resolves it against
/// the catalog.
public struct Pool: Sendable, Hashable {
    public enum Order: String, Sendable, Hashable, CaseIterable {
        case rotate, shuffle, weighted, fixed
        /// Each client keeps its members (weighted rendezvous hashing of its subnet): see `StickyKey`.
        case sticky
    }

    /// How much of a client's address is its key for `order: sticky`: the ECS source (or the
    /// resolver's address) cut to this many bits.
    public struct StickyPrefixes: Sendable, Hashable {
        public var ipv4: Int
        public var ipv6: Int

        public init(ipv4: Int = 24, ipv6: Int = 56) {
            self.ipv4 = ipv4
            self.ipv6 = ipv6
        }
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
    /// For `order: sticky`.
    public var sticky: StickyPrefixes

    public init(
        name: String, ttl: Int = 30, maxAnswers: Int? = nil, order: Order = .rotate, weights: [String: Int] = [:],
        allDown: AllDown = .serveAll, fallback: [IPAddress] = [], check: Check = Check(),
        sticky: StickyPrefixes = StickyPrefixes()
    ) {
        self.name = name
        self.ttl = ttl
        self.maxAnswers = maxAnswers
        self.order = order
        self.weights = weights
        self.allDown = allDown
        self.fallback = fallback
        self.check = check
        self.sticky = sticky
    }
}
