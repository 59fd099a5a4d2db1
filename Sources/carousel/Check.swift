import ArgumentParser
import CarouselConfig
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
        let set = ZoneSet.load(paths: config.zones)
        for w in set.warnings { printError("\(w) (warning)") }
        for e in set.errors { printError("\(e)") }
        if !set.errors.isEmpty { throw ExitCode(1) }
        let records = set.zones.reduce(0) { $0 + $1.recordCount }
        print("ok: \(set.zones.count) zone(s), \(records) record(s)")
    }
}
