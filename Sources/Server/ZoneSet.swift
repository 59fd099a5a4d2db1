import DNSWire
import DNSZone

/// Loads every zone file named by the config into zones, keeping going past broken files: a zone
/// that fails is reported (`file:line: message`) and not served; the others are.
public struct ZoneSet: Sendable {
    public var zones: [Zone] = []
    public var errors: [ZoneProblem] = []
    public var warnings: [ZoneProblem] = []

    public init() {}

    public static func load(paths: [String]) -> ZoneSet {
        var set = ZoneSet()
        let files: [String]
        do {
            files = try ZoneLoader.zoneFiles(at: paths)
        } catch {
            set.errors.append(error)
            return set
        }
        var owners: [DNSName: String] = [:]
        for file in files {
            switch ZoneLoader.load(file: file) {
            case .failure(let failure):
                set.errors += failure.errors
            case .success(let outcome):
                set.warnings += outcome.warnings
                let zone = outcome.zone
                if let other = owners[zone.origin] {
                    set.errors.append(ZoneProblem(file: file, line: 1, message: "zone \(zone.origin) is already loaded from \(other)"))
                    continue
                }
                do {
                    let built = try Zone.build(origin: zone.origin, file: file, records: zone.records.map(\.record))
                    owners[zone.origin] = file
                    set.zones.append(built)
                } catch {
                    set.errors.append(ZoneProblem(file: file, line: 1, message: error.message))
                }
            }
        }
        return set
    }
}
