import Balancer
import DNSWire
import DNSZone
import Foundation
import Health
import Listeners
import Logging
import Metrics
import NIOCore
import Responder
import Transfer

/// Carousel as a primary: keeps a journal of versions for every zone in `transfers:`, answers
/// from it through the hub, and NOTIFYs the secondaries of each new version. With
/// `publish_health`, a change of health is a new version too, at most one per `minBumpInterval`
/// per zone so a flapping backend cannot storm the secondaries.
public actor PrimaryTransfers {
    /// The shortest time between two health-driven serial bumps of a zone.
    public static let minBumpInterval: Duration = .seconds(1)

    let hub: TransferHub
    let group: EventLoopGroup
    let logger: Logger
    var setup = TransferSetup()
    var journals: [DNSName: ZoneJournal] = [:]
    /// The source serial each journal was last built from (the zone file's, or the primary's).
    var sourceSerials: [DNSName: UInt32] = [:]
    var catalog = Catalog.empty
    var plan = BalancePlan.empty
    var health = HealthView.empty
    var limiter = BumpLimiter(interval: PrimaryTransfers.minBumpInterval)
    nonisolated let healthEvents: AsyncStream<HealthView>
    nonisolated let healthContinuation: AsyncStream<HealthView>.Continuation

    /// For `/status`: the last NOTIFY to each secondary, by zone, then address.
    var notifyResults: [DNSName: [String: TransferStatus.NotifyTarget]] = [:]
    /// The NOTIFY being sent (and resent) to each secondary, by zone then address. A newer
    /// version's NOTIFY cancels the older one, so a late answer to an old serial neither
    /// overwrites the newer result in `/status` nor keeps the secondary busy.
    var notifyTasks: [DNSName: [String: Task<Void, Never>]] = [:]
    /// `publish_health` zones served with the published serial in their SOA (so that a
    /// secondary's SOA check sees what IXFR would give): the zone as loaded, and the copy served.
    var patched: [DNSName: (original: Zone, serial: UInt32, zone: Zone)] = [:]
    /// How each zone of the catalog is signed (the snapshot's), the presigner of each signed zone
    /// (its signatures carry over between versions), and the task that wakes when signatures fall
    /// due.
    var signing: [ZoneSigning?] = []
    var presigners: [DNSName: ZonePresigner] = [:]
    var signedOrigins: Set<DNSName> = []
    var refreshTask: Task<Void, Never>?
    /// Asks the runtime for a new snapshot (after a serial bump of a `publish_health` zone).
    var onServedSerialChange: (@Sendable () async -> Void)?
    /// In a fleet, this member's role (nil: no fleet, every version is this member's own). Only the
    /// master builds versions of the zones that follow it (`follows`); the others serve the copy
    /// pulled from it. A new master's first version of each zone goes `takeover` (the highest
    /// serial seen served) + `takeoverGap`.
    var fleetRole: FleetRole?
    var takeover: [DNSName: UInt32?] = [:]
    var takeoverGap: UInt32 = 0
    /// Tells the fleet the serials served of the zones that follow the master.
    var onServed: (@Sendable ([DNSName: UInt32]) async -> Void)?

    /// Sets what asks the runtime for a new snapshot.
    public func onServedSerialChange(_ republish: @escaping @Sendable () async -> Void) {
        onServedSerialChange = republish
    }

    public init(hub: TransferHub, group: EventLoopGroup, logger: Logger) {
        self.hub = hub
        self.group = group
        self.logger = logger
        (healthEvents, healthContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Called by the prober with every new view (from any thread).
    public nonisolated func healthChanged(_ view: HealthView) {
        healthContinuation.yield(view)
    }

    /// Follows health changes until the stream ends.
    public func followHealth() async {
        for await view in healthEvents {
            // A weight that moved (an agent's report, a ramp) changes no zone version; a member
            // in or out does.
            let changed = !view.sameUsability(as: health)
            hub.update { $0.health = view }
            health = view
            guard changed, setup.primaries.contains(where: \.publishHealth) else { continue }
            switch limiter.request(at: .now) {
            case .now:
                refreshJournals(healthOnly: true)
            case .after(let wait):
                Task {
                    try? await Task.sleep(for: wait)
                    self.deferredBump()
                }
            case .pending:
                break
            }
        }
    }

    func deferredBump() {
        limiter.fired()
        refreshJournals(healthOnly: true)
    }

    /// The runtime published a new snapshot: take the config, catalog and plan, and bring every
    /// journal up to date.
    public func published(
        setup: TransferSetup, catalog: Catalog, plan: BalancePlan, health: HealthView, snapshot: Snapshot
    ) {
        self.setup = setup
        self.catalog = catalog
        self.plan = plan
        self.health = health
        self.signing = snapshot.signing
        self.signedOrigins = Set(
            catalog.zones.indices.filter { $0 < snapshot.signing.count && snapshot.signing[$0] != nil }
                .map { catalog.zones[$0].origin })
        hub.update {
            $0.keyring = TSIGKeyring(setup.keys)
            $0.primaries = Dictionary(setup.primaries.map { ($0.zone, $0) }, uniquingKeysWith: { a, _ in a })
            $0.snapshot = snapshot
            $0.health = health
        }
        refreshJournals(healthOnly: false)
    }

    /// Builds the current version of every transferred zone and advances its journal when the
    /// content or the source serial changed; NOTIFYs on every new version.
    func refreshJournals(healthOnly: Bool) {
        var next: [DNSName: ZoneJournal] = [:]
        var bumped = false
        var announce: [(PrimaryZone, ZoneVersion)] = []
        for t in setup.primaries {
            let origin = t.zone
            if let role = fleetRole, role != .master, follows(t) {
                // A standby serves the master's versions, as copied.
                if let j = journals[origin] { next[origin] = j }
                continue
            }
            if healthOnly && !t.publishHealth {
                if let j = journals[origin] { next[origin] = j }
                continue
            }
            guard let zi = catalog.zones.firstIndex(where: { $0.origin == origin }) else {
                if journals[origin] != nil {
                    logger.warning("transfers: zone \(origin) is not loaded; not transferred")
                }
                continue
            }
            let served = catalog.zones[zi]
            let zone = sourceZone(served)
            // A signed zone goes out presigned: RRSIGs and the NSEC chain, the SOA's signed once
            // the serial is known; its serial moves with every new signature too. Its content is
            // the served copy's (which holds the DNSKEY RRset); its source serial the file's.
            let zs = zi < signing.count ? signing[zi] : nil
            var version =
                t.publishHealth
                ? ZoneVersion(zone: served, zoneIndex: zi, plan: plan, health: health)
                : ZoneVersion(zone: zs != nil ? served : zone)
            let now = Int64(Date().timeIntervalSince1970)
            let presigner = zs.map { _ in presigners[origin] ?? ZonePresigner() }
            if let zs, let presigner {
                version = presigner.sign(version, with: zs, now: now)
                presigners[origin] = presigner
            } else {
                presigners[origin] = nil
            }
            func finished(_ v: ZoneVersion) -> ZoneVersion {
                guard let zs, let presigner else { return v }
                return presigner.signSOA(v, with: zs, now: now)
            }
            let movingSerial = t.publishHealth || zs != nil
            let jump = takeover.removeValue(forKey: origin)
            guard var journal = journals[origin] else {
                var serial = zone.serial
                if let floor = jump ?? nil, Serial.greater(floor &+ takeoverGap, serial) {
                    serial = floor &+ takeoverGap
                }
                if movingSerial {
                    // Never below what an earlier run may have published: seconds since the epoch
                    // grow faster than bumps (at most one a second).
                    let now = UInt32(truncatingIfNeeded: UInt64(Date().timeIntervalSince1970))
                    if Serial.greater(now, serial) { serial = now }
                }
                next[origin] = ZoneJournal(finished(version.withSerial(serial)))
                sourceSerials[origin] = zone.serial
                announce.append((t, next[origin]!.current))
                continue
            }
            let sourceMoved = sourceSerials[origin] != zone.serial
            if jump == nil && !sourceMoved && version.sameContent(as: journal.current.withoutSOASignatures) {
                next[origin] = journal
                continue
            }
            var serial: UInt32
            if let jump {
                // Taking over: above what the old master can have published unseen.
                let base = jump.map { Serial.greater($0, journal.current.serial) ? $0 : journal.current.serial }
                serial = (base ?? journal.current.serial) &+ takeoverGap
                if Serial.greater(zone.serial, serial) { serial = zone.serial }
            } else if movingSerial {
                serial = journal.nextSerial(source: zone.serial)
                bumped = t.publishHealth || bumped
            } else {
                serial = zone.serial
            }
            if journal.advance(to: finished(version.withSerial(serial))) {
                logger.info(
                    "zone version",
                    metadata: ["zone": "\(origin)", "serial": "\(serial)", "diffs": "\(journal.diffs.count)"])
                announce.append((t, journal.current))
            }
            sourceSerials[origin] = zone.serial
            next[origin] = journal
        }
        if bumped { limiter.bumped(at: .now) }
        scheduleSignatureRefresh()
        journals = next
        for (origin, j) in next {
            Gauge(label: "carousel_zone_published_serial", dimensions: [("zone", "\(origin)")]).record(
                Int64(j.current.serial))
        }
        let published = next
        hub.update { $0.journals = published }
        reportServed()
        // A publish_health zone whose served SOA lags its published serial: a new snapshot.
        let stale = setup.primaries.contains { t in
            guard t.publishHealth || signedOrigins.contains(t.zone), let j = next[t.zone],
                let z = catalog.zone(named: t.zone)
            else { return false }
            return z.serial != j.current.serial
        }
        // NOTIFY only once the served SOA shows the new serial: Knot checks the SOA before it
        // transfers, and would otherwise find nothing new.
        if stale, let republish = onServedSerialChange {
            Task {
                await republish()
                self.announce(announce)
            }
        } else {
            self.announce(announce)
        }
    }

    func announce(_ versions: [(PrimaryZone, ZoneVersion)]) {
        for (t, v) in versions { notify(t, v) }
    }

    /// The zones to serve: those of `publish_health` transfers carry the published serial.
    public func servedZones(_ zones: [Zone]) -> [Zone] {
        let health = Set(setup.primaries.filter { $0.publishHealth || signedOrigins.contains($0.zone) }.map(\.zone))
        return zones.map { z in
            guard health.contains(z.origin), let j = journals[z.origin], j.current.serial != z.serial else { return z }
            if let p = patched[z.origin], p.original === z, p.serial == j.current.serial { return p.zone }
            let v = ZoneVersion(zone: z).withSerial(j.current.serial)
            guard let built = try? Zone.build(origin: z.origin, file: z.file, records: [v.soa] + v.records) else {
                return z
            }
            patched[z.origin] = (z, j.current.serial, built)
            return built
        }
    }

    /// The zone as loaded behind a served copy.
    func sourceZone(_ z: Zone) -> Zone {
        // The served copy itself, or a signed zone built from it (same serial, plus its DNSKEYs).
        if let p = patched[z.origin], p.zone === z || p.serial == z.serial { return p.original }
        return z
    }

    /// The serial transfers publish for a zone (for status and tests).
    public func publishedSerial(_ origin: DNSName) -> UInt32? { journals[origin]?.current.serial }

    /// A key's name as the config writes it (`xfr`, without the root's dot).
    static func keyName(_ key: TSIGKey) -> String {
        let text = key.name.description
        return text.count > 1 && text.hasSuffix(".") ? String(text.dropLast()) : text
    }

    func recordNotify(_ zone: DNSName, _ target: String, serial: UInt32, result: String) {
        notifyResults[zone, default: [:]][target] = TransferStatus.NotifyTarget(
            address: target, serial: serial, result: result, at: Date())
    }

    /// The `transfers:` zones in `/status`.
    public func status() -> [TransferStatus.PrimaryZone] {
        setup.primaries.map { t -> TransferStatus.PrimaryZone in
            let journal = journals[t.zone]
            let told = notifyResults[t.zone] ?? [:]
            return TransferStatus.PrimaryZone(
                zone: t.zone.description, serial: journal?.current.serial, versions: journal?.diffs.count ?? 0,
                publishHealth: t.publishHealth, allow: t.allow.map(\.description),
                tsig: t.key.map { PrimaryTransfers.keyName($0) },
                notify: t.notify.map { told["\($0)"] ?? TransferStatus.NotifyTarget(address: "\($0)") })
        }
    }

    /// Wakes when the first signature of a transferred zone falls due, to sign again and publish
    /// a new version (a new serial) before secondaries serve signatures close to expiring.
    func scheduleSignatureRefresh() {
        refreshTask?.cancel()
        guard let due = presigners.values.compactMap(\.nextRefresh).min() else { return }
        let wait = max(1, due - Int64(Date().timeIntervalSince1970))
        refreshTask = Task {
            try? await Task.sleep(for: .seconds(wait))
            guard !Task.isCancelled else { return }
            self.refreshJournals(healthOnly: false)
        }
    }
}
