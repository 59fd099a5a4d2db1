import CarouselConfig
import DNSWire
import DNSZone
import Foundation
import Logging
import Metrics
import Transfer
import ZoneFiles

/// Dynamic updates (`updates:`, RFC 2136): each one judged against the zone as served, written
/// to the zone's journal and synced, then published (the next answer sees all of it), and only
/// then answered. The served zone is the zone file with every journaled update applied on top,
/// in order: an edit of the file is read as before and the updates stay (an update that the
/// edit contradicts wins, and a line says so); `carousel zone sync` writes the updates into the
/// file and empties the journal.
extension CarouselRuntime {
    /// Reads every journal (at start, and when `updates:` changes) and sets the handler.
    func startUpdates() {
        var overlays: [DNSName: [UpdateEffect]] = [:]
        for policy in config.updates {
            guard let journal = policy.journal else {
                overlays[policy.zone] = updateOverlays[policy.zone] ?? []
                continue
            }
            let (effects, problem) = UpdateJournal.read(journal)
            if let problem { logger.error("\(problem)") }
            if !effects.isEmpty {
                logger.info(
                    "updates replayed from the journal",
                    metadata: ["zone": "\(policy.zone)", "updates": "\(effects.count)", "journal": "\(journal)"])
            }
            overlays[policy.zone] = effects
        }
        updateOverlays = overlays
        if config.updates.isEmpty {
            server.transfers.setUpdateHandler(nil)
        } else {
            let handler: @Sendable ([UInt8], [UInt8]) async -> [UInt8]? = { [weak self] request, source in
                await self?.handleUpdate(request, source: source)
            }
            server.transfers.setUpdateHandler(handler)
        }
    }

    /// The zone files' zones with their updates applied (each merged zone kept until its file
    /// zone or its updates change).
    func updatedZones(_ zones: [Zone]) -> [Zone] {
        zones.map { z in
            guard let effects = updateOverlays[z.origin], !effects.isEmpty else { return z }
            if let c = mergedZones[z.origin], c.base === z, c.count == effects.count { return c.zone }
            var u = UpdatableZone(zone: z)
            for e in effects { u.apply(e) }
            // A file edit with a newer serial than the last update's: that serial, updates kept.
            if Serial.greater(z.serial, u.serial) { u.setSerial(z.serial) }
            do {
                let merged = try Zone.build(origin: z.origin, file: z.file, records: [u.soa] + u.records)
                if let c = mergedZones[z.origin], c.base !== z {
                    logger.notice(
                        "\(z.file) changed: its \(effects.count) journaled updates stay applied on top (carousel zone sync writes them into the file)"
                    )
                }
                mergedZones[z.origin] = (z, effects.count, merged)
                return merged
            } catch {
                logger.error("\(z.file): its journaled updates do not apply (\(error)); serving the file alone")
                return z
            }
        }
    }

    /// Answers one UPDATE (from `TransferHub`, off the query path).
    func handleUpdate(_ request: [UInt8], source: [UInt8]) async -> [UInt8]? {
        let now = UInt64(Date().timeIntervalSince1970)
        let verdict = TSIGKeyring(config.tsigKeys).verify(request: request, now: now)
        let client = IPAddress(bytes: source)?.description ?? "?"
        func count(_ rcode: RCode) {
            Counter(label: "carousel_updates_total", dimensions: [("rcode", rcode.description)]).increment()
        }
        if let failure = TransferResponder.tsigFailure(request, verdict, now: now) {
            count(.notAuth)
            logger.notice("update refused: bad TSIG", metadata: ["client": "\(client)"])
            return failure
        }
        guard let m = try? Message.decode(request), m.question.count == 1, m.question[0].type == .soa else {
            count(.formErr)
            return TransferResponder.header(request, rcode: RCode.formErr.rawValue)
        }
        var key: TSIGKey?
        var mac: [UInt8]?
        if case .valid(let k, let record) = verdict {
            key = k
            mac = record.mac
        }
        let zoneName = m.question[0].name
        func answer(_ rcode: RCode, _ why: String?) -> [UInt8] {
            count(rcode)
            if rcode != .noError {
                logger.notice(
                    "update refused",
                    metadata: [
                        "zone": "\(zoneName)", "client": "\(client)", "rcode": "\(rcode)", "why": "\(why ?? "")",
                        "key": "\(key?.name.description ?? "none")",
                    ])
            }
            return DynamicUpdate.reply(to: m, rcode: rcode, why: why, key: key, requestMAC: mac, now: now)
        }
        guard let policy = config.updates.first(where: { $0.zone == zoneName }),
            let served = snapshot.catalog.zone(named: zoneName)
        else { return answer(.notAuth, "no updates of \(zoneName) here") }
        guard let key else { return answer(.notAuth, "updates must be signed") }
        guard policy.keys.contains(key) else { return answer(.refused, "key \(key.name) may not update \(zoneName)") }
        guard policy.allow.contains(where: { $0.contains(source) }) else {
            return answer(.refused, "updates of \(zoneName) are not allowed from \(client)")
        }
        guard updateLimiter.take(now: ContinuousClock.now) else {
            return answer(.refused, "too many updates; try again in a second")
        }
        switch DynamicUpdate.evaluate(m, zone: UpdatableZone(zone: served), policy: policy) {
        case .rejected(let rcode, let why):
            return answer(rcode, why)
        case .applied(let effect):
            guard !(effect.removed.isEmpty && effect.added.isEmpty) else { return answer(.noError, nil) }
            if let journal = policy.journal {
                do {
                    try UpdateJournal.append(effect, to: journal)
                } catch {
                    logger.error("update of \(zoneName) not applied: \(error)")
                    return answer(.servFail, nil)
                }
            }
            updateOverlays[zoneName, default: []].append(effect)
            await rebuild(force: true)
            logger.info(
                "zone updated",
                metadata: [
                    "zone": "\(zoneName)", "serial": "\(effect.serial)", "removed": "\(effect.removed.count)",
                    "added": "\(effect.added.count)", "key": "\(key.name)", "client": "\(client)",
                ])
            return answer(.noError, nil)
        }
    }
}

extension UpdatableZone {
    /// A served zone's records, every one (not rotated, not filtered), as an update sees them.
    init(zone: Zone) {
        let v = ZoneVersion(zone: zone)
        self.init(origin: zone.origin, soa: v.soa, records: v.records)
    }
}

extension CarouselRuntime {
    /// `carousel zone sync`: the zone as its updates made it, written over its zone file (a new
    /// file renamed over the old, in Carousel's form: comments and `$INCLUDE`s do not survive),
    /// then the journal emptied. A crash between the two replays the journal onto a file that
    /// already holds it, which changes nothing.
    public func syncZone(_ name: DNSName) async -> (status: Int, message: String) {
        guard let policy = config.updates.first(where: { $0.zone == name }) else {
            return (404, "\(name) is not a zone of updates:")
        }
        let effects = updateOverlays[name] ?? []
        guard !effects.isEmpty else { return (200, "\(name): no updates to write") }
        guard let merged = mergedZones[name], merged.count == effects.count else {
            return (409, "\(name): its updates are not applied now (see the log); nothing written")
        }
        let file = merged.base.file
        let v = ZoneVersion(zone: merged.zone)
        let text = ZoneWriter.text(
            origin: name, records: [v.soa] + v.records,
            header: [
                "\(name) serial \(v.serial): \(file) with \(effects.count) dynamic updates, written by carousel zone sync at \(ISO8601DateFormatter().string(from: Date()))."
            ])
        let temp = file + ".carousel-sync"
        do {
            var mode: Int = 0o644
            if let attributes = try? FileManager.default.attributesOfItem(atPath: file),
                let m = attributes[.posixPermissions] as? Int
            {
                mode = m
            }
            try text.write(toFile: temp, atomically: false, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: temp)
            let fd = open(temp, O_RDONLY)
            if fd >= 0 {
                fsync(fd)
                close(fd)
            }
            guard rename(temp, file) == 0 else {
                throw UpdateJournal.Failure(description: "rename to \(file): \(String(cString: strerror(errno)))")
            }
            if let journal = policy.journal { try UpdateJournal.truncate(journal) }
        } catch {
            unlink(temp)
            logger.error("zone sync of \(name) failed: \(error)")
            return (500, "\(name): not written: \(error)")
        }
        updateOverlays[name] = []
        mergedZones[name] = nil
        await rebuild(force: true, reread: true)
        logger.info("zone synced", metadata: ["zone": "\(name)", "file": "\(file)", "updates": "\(effects.count)"])
        return (
            200, "\(name): \(effects.count) updates written into \(file) (serial \(v.serial)); the journal is empty"
        )
    }
}
