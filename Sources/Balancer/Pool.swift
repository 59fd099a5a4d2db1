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

    /// One tier of a tiered pool: its members (canonical address text) and how many of them must be
    /// usable for the tier to answer.
    public struct Tier: Sendable, Hashable {
        public enum MinUp: Sendable, Hashable, CustomStringConvertible {
            case count(Int)
            /// A percentage of the tier's members in the RRset, rounded up.
            case percent(Int)

            /// The number of usable members this needs out of `size`: at least 1, at most `size`.
            public func needed(of size: Int) -> Int {
                switch self {
                case .count(let n): return max(1, min(n, size))
                case .percent(let p): return max(1, min(size, (size * p + 99) / 100))
                }
            }

            public var description: String {
                switch self {
                case .count(let n): "\(n)"
                case .percent(let p): "\(p)%"
                }
            }
        }

        public var members: [String]
        public var minUp: MinUp

        public init(members: [String], minUp: MinUp = .count(1)) {
            self.members = members.map { IPAddress.canonical($0) ?? $0 }
            self.minUp = minUp
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
    /// Answered in order: the first tier with `min_up` usable members (empty: one flat set).
    public var tiers: [Tier]
    /// A member that comes back ramps from 10 % of its weight to all of it over this long.
    public var slowStart: Duration?
    /// Each member's own agent, which reports its load (HAProxy's agent-check protocol).
    public var agent: AgentCheck?

    /// Weights that change while serving (an agent's reports, slow-start ramps): `rotate` and
    /// `weighted` then pick by each member's effective weight at every query.
    public var hasDynamicWeights: Bool { agent != nil || slowStart != nil }

    public init(
        name: String, ttl: Int = 30, maxAnswers: Int? = nil, order: Order = .rotate, weights: [String: Int] = [:],
        allDown: AllDown = .serveAll, fallback: [IPAddress] = [], check: Check = Check(),
        sticky: StickyPrefixes = StickyPrefixes(), tiers: [Tier] = [], slowStart: Duration? = nil,
        agent: AgentCheck? = nil
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
        self.tiers = tiers
        self.slowStart = slowStart
        self.agent = agent
    }

    /// The tier of an address (canonical text), or nil when the pool has no tiers or the address
    /// is in none of them.
    public func tier(of address: String) -> Int? {
        tiers.firstIndex { $0.members.contains(address) }
    }
}
