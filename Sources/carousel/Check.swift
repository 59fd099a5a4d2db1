import ArgumentParser
import Balancer
import CarouselConfig
import DNSZone
import Server

/// `carousel check`: everything a start or reload would validate, offline. Exit 0 when all is
/// well, 1 with every problem listed as `file:line: message`.
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Validate the config and zone files; exit 1 on errors.")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let config: Config
        do {
            config = try options.resolve()
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
        var cache = ZoneCache()
        let refresh = cache.refresh(paths: config.zones, maxRecords: config.maxZoneRecords)
        for w in refresh.warnings { printError("\(w) (warning)") }
        for e in refresh.errors { printError("\(e)") }
        var failed = !refresh.errors.isEmpty
        let zones = cache.zones
        let file = options.configPath ?? "carousel.yaml"
        for pool in BalancePlan.unboundPools(Catalog(zones: zones), pools: config.poolsOutsideSecondaries) {
            printError("\(file):\(pool.line): pools: \(pool.name) has no A or AAAA records in any zone")
            failed = true
        }
        // A transferred zone must be served: from a zone file or from a primary.
        let served = Set(zones.map { $0.origin.description.lowercased() })
        let pulled = Set(
            config.secondaries.map {
                $0.zone.lowercased().hasSuffix(".") ? $0.zone.lowercased() : $0.zone.lowercased() + "."
            })
        for t in config.transfers {
            let zone = t.zone.lowercased().hasSuffix(".") ? t.zone.lowercased() : t.zone.lowercased() + "."
            if !served.contains(zone) && !pulled.contains(zone) {
                printError("\(file):\(t.line): transfers: no zone file or secondaries entry serves \(t.zone)")
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
        let records = zones.reduce(0) { $0 + $1.recordCount }
        print("ok: \(zones.count) zone(s), \(records) record(s), \(config.pools.count) pool(s)")
    }
}
