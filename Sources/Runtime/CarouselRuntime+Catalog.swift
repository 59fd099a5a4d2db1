import DNSWire
import DNSZone
import Foundation
import Transfer

/// The catalog zone (`catalog:`, RFC 9432): built from `transfers:` at every rebuild, and given a
/// new serial only when what it lists changed, so a zone added to or removed from `transfers:` is
/// one new version (IXFR, NOTIFY) and nothing else is.
struct CatalogState {
    var settings: CatalogSettings
    var members: [DNSName]
    var serial: UInt32
    var zone: Zone
}

extension CarouselRuntime {
    func catalogZones() -> [Zone] {
        guard let c = config.catalog else {
            catalogState = nil
            return []
        }
        let members = config.transfers.map(\.zone).filter { $0 != c.zone }
        if let s = catalogState, s.settings == c, s.members == members { return [s.zone] }
        // Seconds since the epoch, so a restarted Carousel's serials still move forward; one more
        // than the last when two versions fall in one second.
        var serial = UInt32(truncatingIfNeeded: UInt64(Date().timeIntervalSince1970))
        if let previous = catalogState?.serial, !Serial.greater(serial, previous) { serial = previous &+ 1 }
        let records = CatalogZone.records(c, members: members, serial: serial)
        guard let zone = try? Zone.build(origin: c.zone, file: "(catalog)", records: records) else {
            logger.error("catalog: \(c.zone) could not be built")
            return catalogState.map { [$0.zone] } ?? []
        }
        logger.notice(
            "catalog: \(c.zone) lists \(members.count) zones, serial \(serial)",
            metadata: ["zones": "\(members.map(\.description).joined(separator: " "))"])
        catalogState = CatalogState(settings: c, members: members, serial: serial, zone: zone)
        return [zone]
    }
}
