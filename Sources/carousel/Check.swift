import ArgumentParser
import CarouselConfig
import Loading
import Runtime

/// `carousel check`: everything a start or reload would validate, offline. Exit 0 when all is
/// well, 1 with every problem listed as `file:line: message`.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Validate the config and zone files; exit 1 on errors.")

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
        let file = options.configPath ?? "carousel.yaml"
        let problems =
            Validator.problems(config, file: file, zones: cache.zones)
            + CarouselRuntime.tlsProblems(config, file: file)
        for p in problems { printError("\(p)") }
        if !refresh.errors.isEmpty || !problems.isEmpty { throw ExitCode(1) }
        let records = cache.zones.reduce(0) { $0 + $1.recordCount }
        print("ok: \(cache.zones.count) zone(s), \(records) record(s), \(config.pools.count) pool(s)")
    }
}
