import Balancer
import CarouselConfig
import DNSSEC
import DNSWire
import DNSZone
import Foundation

/// The one validator of a config against the zones it would serve: `carousel check` runs it, and
/// every config reload is refused when it finds anything (the running config stays). What the
/// config file alone can tell is checked by `Config.parse`; this checks what needs the zones too.
public enum Validator {
    /// Every problem of `config` (read from `file`) with `zones` (loaded from files, and pulled
    /// from primaries when the server has them): each as `file:line: message`.
    public static func problems(_ config: Config, file: String, zones: [Zone]) -> [Problem] {
        var out: [Problem] = []
        var keyProblems: [Problem] = []
        // A pool must match A/AAAA records, unless its name lies in a zone pulled from a primary
        // (whose records arrive only at run time).
        let pulled = config.secondaries.map(\.zone)
        let catalog = Catalog(zones: zones)
        let unbound = Set(BalancePlan.unboundPools(catalog, pools: config.pools).map(\.name))
        for (i, pool) in config.pools.enumerated() where unbound.contains(pool.name) {
            guard !pulled.contains(where: { inZone(pool.name, $0) }) else { continue }
            out.append(
                Problem(
                    file: file, line: line(config.lines.pools, i),
                    message: "pools: \(pool.name) has no A or AAAA records in any zone"))
        }
        // Tiers: every address of the pool's records in exactly one tier (the parser saw to "at
        // most one"), and no tier member that is not one of them.
        let addresses = BalancePlan.addresses(of: catalog, pools: config.pools)
        for (i, pool) in config.pools.enumerated() where !pool.tiers.isEmpty {
            let inZones = addresses[i] ?? []
            let inTiers = Set(pool.tiers.flatMap(\.members))
            let at = line(config.lines.pools, i)
            for a in inZones.subtracting(inTiers).sorted() {
                out.append(
                    Problem(
                        file: file, line: at,
                        message:
                            "pools: \(pool.name): \(a) is in the zone but in no tier (tiers must hold every address)"))
            }
            guard !inZones.isEmpty else { continue }
            for (t, tier) in pool.tiers.enumerated() {
                for a in tier.members where !inZones.contains(a) {
                    out.append(
                        Problem(
                            file: file, line: at,
                            message:
                                "pools: \(pool.name): tier \(t + 1) member \(a) is not an A or AAAA record of the pool"
                        ))
                }
            }
        }
        // A transferred zone must be served: from a zone file or from a primary.
        let served = Set(zones.map(\.origin)).union(pulled)
        for (i, t) in config.transfers.enumerated() where !served.contains(t.zone) {
            out.append(
                Problem(
                    file: file, line: line(config.lines.transfers, i),
                    message: "transfers: no zone file or secondaries entry serves \(t.zone)"))
        }
        // A signed zone must be one served from a zone file here, with loadable keys of which one
        // signs now.
        let files = Set(zones.map(\.origin))
        let now = Int64(Date().timeIntervalSince1970)
        for (i, d) in config.dnssec.enumerated() {
            let at = line(config.lines.dnssec, i)
            if !files.contains(d.zone) {
                let why =
                    pulled.contains(d.zone)
                    ? "is pulled from a primary (sign it there)" : "is not served by any zone file"
                out.append(Problem(file: file, line: at, message: "dnssec: \(d.zone) \(why)"))
                continue
            }
            switch ZoneKeys.load(d) {
            case .failure(let p):
                out.append(Problem(file: file, line: at, message: "dnssec: the keys of \(d.zone) do not load:"))
                keyProblems += p.errors
            case .success(let keys):
                if keys.active(at: now).isEmpty {
                    out.append(
                        Problem(
                            file: file, line: at,
                            message: "dnssec: no key of \(d.zone) in \(d.keys) is active now (see their Activate times)"
                        ))
                }
            }
        }
        // A zone takes updates only where its records live: a zone file here.
        for (i, u) in config.updates.enumerated() where !files.contains(u.zone) {
            let why =
                pulled.contains(u.zone)
                ? "is pulled from a primary (update it there)" : "is not served by any zone file"
            out.append(Problem(file: file, line: line(config.lines.updates, i), message: "updates: \(u.zone) \(why)"))
        }
        // The catalog has a name of its own, and groups only for zones it lists.
        if let c = config.catalog {
            let at = config.lines.catalog
            if files.contains(c.zone) || pulled.contains(c.zone)
                || config.transfers.contains(where: { $0.zone == c.zone })
            {
                out.append(
                    Problem(
                        file: file, line: at,
                        message: "catalog: \(c.zone) is also a zone served here; the catalog needs a name of its own"))
            }
            for zone in c.groups.keys.sorted(by: { $0.description < $1.description })
            where !config.transfers.contains(where: { $0.zone == zone }) {
                out.append(
                    Problem(
                        file: file, line: at,
                        message: "catalog.groups: \(zone) is not a zone of transfers: (the catalog lists only those)"))
            }
        }
        return out.sorted { $0.line < $1.line } + keyProblems
    }

    static func line(_ lines: [Int], _ i: Int) -> Int { i < lines.count ? lines[i] : 1 }

    /// Whether a pool name (`www.example.com` or `*.svc.example.com`) lies in `zone`.
    static func inZone(_ pool: String, _ zone: DNSName) -> Bool {
        var text = pool.hasSuffix(".") ? pool : pool + "."
        if text.hasPrefix("*.") { text.removeFirst(2) }
        guard let name = try? DNSName(text) else { return false }
        return name.isSubdomain(of: zone)
    }
}
