import DNSWire
import DNSZone
import Foundation
import Transfer
import ZoneFiles

#if canImport(Glibc)
    import Glibc
#endif

/// A secondary zone's `file:`: the last good copy as master-file text, rewritten after every
/// transfer, its modification time moved to the present whenever the primary confirms the serial.
/// At start the file is served at once, before the primary answers, while it is younger than the
/// SOA's EXPIRE: a restart while the primary is down keeps the zone (as NSD and Knot do).
extension SecondaryTransfers {
    /// Serves the stored copy of `zone` when there is one, it reads, and EXPIRE has not passed
    /// since the primary last confirmed it. Returns true when it did.
    func restoreStored(_ zone: DNSName, _ s: SecondaryZone) -> Bool {
        guard let path = s.file, secondaryCopies[zone] == nil else { return false }
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno != ENOENT {
                storeErrors[zone] = "cannot read \(path): \(String(cString: strerror(errno)))"
                logger.warning("secondary: \(storeErrors[zone]!)")
            }
            return false
        }
        let age = max(
            0, Date().timeIntervalSince1970 - (Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9))
        let records: [ResourceRecord]
        switch ZoneLoader.parse(file: path, origin: zone) {
        case .failure(let problem):
            logger.error("secondary: the stored copy of \(zone) is not used: \(problem)")
            return false
        case .success(let parsed):
            records = parsed.records.map(\.record)
        }
        guard let soa = records.first(where: { $0.type == .soa && $0.name == zone }) else {
            logger.error("secondary: the stored copy of \(zone) is not used: \(path) has no SOA for \(zone)")
            return false
        }
        let expire = SOA.expire(soa.rdata)
        guard age < Double(expire) else {
            logger.warning(
                "secondary: the stored copy of \(zone) in \(path) was last confirmed \(Int(age)) s ago, past EXPIRE (\(expire) s); not served until the primary sends the zone"
            )
            expiredSecondaries.insert(zone)
            return false
        }
        let built: Zone
        do {
            built = try Zone.build(origin: zone, file: path, records: records)
        } catch {
            logger.error("secondary: the stored copy of \(zone) is not used: \(error)")
            return false
        }
        expiredSecondaries.remove(zone)
        secondaryCopies[zone] = SecondaryCopy(
            soa: soa, records: records.filter { $0.type != .soa || $0.name != zone }, zone: built,
            confirmed: .now - .milliseconds(Int64(age * 1000)))
        logger.notice(
            "secondary: serving the stored copy until the primary answers",
            metadata: [
                "zone": "\(zone)", "serial": "\(built.serial)", "records": "\(built.recordCount)", "file": "\(path)",
                "confirmed_ago": "\(Int(age))s",
            ])
        return true
    }

    /// Writes the copy of `zone` to its `file:` (a new file, then renamed over the old one).
    func store(_ zone: DNSName, _ s: SecondaryZone) {
        guard let path = s.file, let copy = secondaryCopies[zone] else { return }
        let written = ISO8601DateFormatter().string(from: Date())
        let text = ZoneWriter.text(
            origin: zone, records: [copy.soa] + copy.records,
            header: [
                "\(zone) serial \(SOA.serial(copy.soa.rdata)), transferred from \(s.primary); written by Carousel at \(written).",
                "Carousel serves this file at start until EXPIRE after its modification time (the primary's",
                "last confirmation). It is rewritten after every transfer: edit the zone at the primary.",
            ])
        do {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            storeErrors[zone] = nil
        } catch {
            let reason = (error as NSError).localizedDescription
            storeErrors[zone] = "cannot write \(path): \(reason)"
            logger.error("secondary: \(zone): \(storeErrors[zone]!)")
        }
    }

    /// The primary confirmed the serial: the stored copy's clock restarts (or it is written again
    /// when it went missing).
    func touchStored(_ zone: DNSName, _ s: SecondaryZone) {
        guard let path = s.file else { return }
        if utimensat(AT_FDCWD, path, nil, 0) != 0 { store(zone, s) }
    }
}
