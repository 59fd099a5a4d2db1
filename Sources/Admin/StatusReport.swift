import Balancer
import DNSWire
import Foundation
import Health
import Prober
import Runtime
import TransferService

/// `GET /status`: everything an operator asks first — which zones are loaded (and which edit
/// failed), and for every pool member its state and why it is in or out of answers right now.
/// The field names are a contract for scripts, like the config keys.
public struct StatusReport: Codable, Sendable {
    public struct Zone: Codable, Sendable {
        public var origin: String
        public var serial: UInt32
        public var records: Int
        public var file: String
        public var loadedAt: Date
        /// The problem with the file's current content while the last good version serves.
        public var error: String?
    }

    public struct Member: Codable, Sendable {
        public var address: String
        /// up, down, drained or unknown.
        public var state: String
        public var since: Date?
        public var lastResult: String?
        public var latencyMs: Double?
        public var lastChecked: Date?
        public var successes: Int
        public var failures: Int
        public var inAnswers: Bool
        public var why: String
        /// Sticky pools: the member's configured weight, and its share of the client key space
        /// now (first places over sampled subnets, 0…1).
        public var weight: Int?
        public var share: Double?
    }

    public struct StickyPrefixes: Codable, Sendable {
        public var ipv4: Int
        public var ipv6: Int
    }

    public struct AddressSet: Codable, Sendable {
        public var owner: String
        public var type: String
        public var members: [Member]
    }

    public struct Pool: Codable, Sendable {
        public var name: String
        public var order: String
        public var allDown: String
        public var ttl: Int
        public var maxAnswers: Int?
        public var check: String
        /// Sticky pools: the prefixes a client's address is cut to.
        public var stickyPrefixes: StickyPrefixes?
        public var sets: [AddressSet]
    }

    public var version: String
    public var startedAt: Date
    public var reloads: Int
    public var zones: [Zone]
    /// Every current zone or config problem as `file:line: message`.
    public var errors: [String]
    public var pools: [Pool]
    public var drained: [String]
    /// Present when the config has `transfers:` or `secondaries:`.
    public var transfers: TransferStatus?

    public static let version = "0.1.0"

    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }

    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        d.dateDecodingStrategy = .iso8601
        return d
    }
}

extension CarouselRuntime {
    public func statusReport() async -> StatusReport {
        let targets = Dictionary(await prober.status().map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let view = await prober.view
        let drained = await prober.drainedAddresses
        let zones = cache.entries.keys.sorted().compactMap { file -> StatusReport.Zone? in
            let e = cache.entries[file]!
            guard let z = e.served else { return nil }
            return StatusReport.Zone(
                origin: z.origin.description, serial: z.serial, records: z.recordCount, file: file,
                loadedAt: e.loadedAt,
                error: e.errors.first.map(\.description))
        }
        let plan = snapshot.plan
        var pools: [StatusReport.Pool] = plan.pools.map { p in
            StatusReport.Pool(
                name: p.name, order: p.order.rawValue, allDown: p.allDown.rawValue, ttl: Int(p.ttl),
                maxAnswers: p.pool.maxAnswers, check: p.pool.check.fingerprint,
                stickyPrefixes: p.order == .sticky
                    ? StatusReport.StickyPrefixes(ipv4: p.pool.sticky.ipv4, ipv6: p.pool.sticky.ipv6) : nil,
                sets: [])
        }
        for (i, set) in plan.sets.enumerated() {
            let owner = set.owner.description
            let sticky = plan.pools[set.pool].order == .sticky
            let shares = sticky ? plan.shares(set: i, health: view) : []
            let members = set.addresses.indices.map { m -> StatusReport.Member in
                let t = targets[set.targets[m]]
                let membership = plan.membership(set: i, member: m, health: view)
                var state = t?.state.description ?? (set.targets[m] < 0 ? "up" : "unknown")
                if set.drained[m] || (t?.drained ?? false) { state = "drained" }
                return StatusReport.Member(
                    address: set.addresses[m], state: state, since: t?.since, lastResult: t?.lastResult?.reason,
                    latencyMs: t?.lastResult.map {
                        Double($0.latency.components.attoseconds) / 1e15 + Double($0.latency.components.seconds) * 1000
                    },
                    lastChecked: t?.lastChecked, successes: t?.successes ?? 0, failures: t?.failures ?? 0,
                    inAnswers: membership.included, why: membership.why, weight: sticky ? set.weights[m] : nil,
                    share: sticky ? shares[m] : nil)
            }
            pools[set.pool].sets.append(
                StatusReport.AddressSet(owner: owner, type: set.type.description, members: members))
        }
        return StatusReport(
            version: StatusReport.version, startedAt: startedAt, reloads: reloads, zones: zones,
            errors: (configErrors + cache.errors.map(\.description)), pools: pools, drained: drained.sorted(),
            transfers: await transfers.status())
    }
}
