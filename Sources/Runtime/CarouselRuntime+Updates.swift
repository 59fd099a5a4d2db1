import CarouselConfig
import DNSWire
import DNSZone
import Foundation
import Logging
import Metrics
import Transfer

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
