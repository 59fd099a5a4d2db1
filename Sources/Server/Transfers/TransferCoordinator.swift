import Balancer
import CarouselConfig
import DNSWire
import DNSZone
import Foundation
import Health
import Logging
import Metrics
import NIOCore
import Responder
import Transfer

/// Carousel as a primary: keeps a journal of versions for every zone in `transfers:`, answers
/// from it through the hub, and NOTIFYs the secondaries of each new version. With
/// `publish_health`, a change of health is a new version too, at most one per `minBumpInterval`
/// per zone so a flapping backend cannot storm the secondaries. Carousel as a secondary lives in
/// `TransferCoordinator+Secondary.swift`.
public actor TransferCoordinator {
    /// The shortest time between two health-driven serial bumps of a zone.
    public static let minBumpInterval: Duration = .seconds(1)

    let hub: TransferHub
    let group: EventLoopGroup
    let logger: Logger
    var config = Config()
    var journals: [DNSName: ZoneJournal] = [:]
    /// The source serial each journal was last built from (the zone file's, or the primary's).
    var sourceSerials: [DNSName: UInt32] = [:]
    var catalog = Catalog.empty
    var plan = BalancePlan.empty
    var health = HealthView.empty
    var limiter = BumpLimiter(interval: TransferCoordinator.minBumpInterval)
    nonisolated let healthEvents: AsyncStream<HealthView>
    nonisolated let healthContinuation: AsyncStream<HealthView>.Continuation

    // Secondary state.
    var secondaryCopies: [DNSName: SecondaryCopy] = [:]
    /// Zones whose copy passed EXPIRE (until a new one comes): answered SERVFAIL, saying so.
    var expiredSecondaries: Set<DNSName> = []
    var wakeRequested: Set<DNSName> = []
    var secondaryTasks: [DNSName: Task<Void, Never>] = [:]
    var onSecondaryChange: (@Sendable () async -> Void)?
    /// For `/status`: the last NOTIFY to each secondary (by zone, then address) and each pulled
    /// zone's last refresh.
    var notifyResults: [DNSName: [String: StatusReport.NotifyTarget]] = [:]
    var secondaryProgress: [DNSName: SecondaryProgress] = [:]
    /// The NOTIFY being sent (and resent) to each secondary, by zone then address. A newer
    /// version's NOTIFY cancels the older one, so a late answer to an old serial neither
    /// overwrites the newer result in `/status` nor keeps the secondary busy.
    var notifyTasks: [DNSName: [String: Task<Void, Never>]] = [:]
    /// Why a secondary zone's `file:` could not be read or written (for `/status`).
    var storeErrors: [DNSName: String] = [:]

    /// `publish_health` zones served with the published serial in their SOA (so that a
    /// secondary's SOA check sees what IXFR would give): the zone as loaded, and the copy served.
    var patched: [DNSName: (original: Zone, serial: UInt32, zone: Zone)] = [:]
    /// Asks the runtime for a new snapshot (after a serial bump of a `publish_health` zone).
    var onServedSerialChange: (@Sendable () async -> Void)?

    init(hub: TransferHub, group: EventLoopGroup, logger: Logger) {
        self.hub = hub
        self.group = group
        self.logger = logger
        (healthEvents, healthContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Called by the prober with every new view (from any thread).
    nonisolated func healthChanged(_ view: HealthView) {
        healthContinuation.yield(view)
    }

    /// Follows health changes until the stream ends.
    func followHealth() async {
        for await view in healthEvents {
            hub.update { $0.health = view }
            health = view
            guard config.transfers.contains(where: \.publishHealth) else { continue }
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
    func published(config: Config, catalog: Catalog, plan: BalancePlan, health: HealthView, snapshot: Snapshot) {
        self.config = config
        self.catalog = catalog
        self.plan = plan
        self.health = health
        let keys = config.tsigKeys.compactMap(TransferCoordinator.key)
        let keyring = TSIGKeyring(keys)
        var policies: [DNSName: TransferPolicy] = [:]
        for t in config.transfers {
            guard let zone = try? DNSName(TransferCoordinator.absolute(t.zone)) else { continue }
            let key = t.tsig.flatMap { n in (try? DNSName(TransferCoordinator.absolute(n))).flatMap(keyring.key(named:))
            }
            policies[zone] = TransferPolicy(zone: zone, allow: t.allow, key: key)
        }
        var secondaries: [DNSName: (key: TSIGKey?, primary: [UInt8]?)] = [:]
        for s in config.secondaries {
            guard let zone = try? DNSName(TransferCoordinator.absolute(s.zone)) else { continue }
            let key = s.tsig.flatMap { n in (try? DNSName(TransferCoordinator.absolute(n))).flatMap(keyring.key(named:))
            }
            secondaries[zone] = (key, AddressPrefix.parseAddress(s.primary.host))
        }
        hub.update {
            $0.keyring = keyring
            $0.policies = policies
            $0.secondaries = secondaries
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
        var announce: [(TransferConfig, ZoneVersion)] = []
        for t in config.transfers {
            guard let origin = try? DNSName(TransferCoordinator.absolute(t.zone)) else { continue }
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
            let version =
                t.publishHealth
                ? ZoneVersion(zone: served, zoneIndex: zi, plan: plan, health: health) : ZoneVersion(zone: zone)
            guard var journal = journals[origin] else {
                var serial = zone.serial
                if t.publishHealth {
                    // Never below what an earlier run may have published: seconds since the epoch
                    // grow faster than bumps (at most one a second).
                    let now = UInt32(truncatingIfNeeded: UInt64(Date().timeIntervalSince1970))
                    if Serial.greater(now, serial) { serial = now }
                }
                next[origin] = ZoneJournal(version.withSerial(serial))
                sourceSerials[origin] = zone.serial
                announce.append((t, next[origin]!.current))
                continue
            }
            let sourceMoved = sourceSerials[origin] != zone.serial
            if !sourceMoved && version.sameContent(as: journal.current) {
                next[origin] = journal
                continue
            }
            let serial: UInt32
            if t.publishHealth {
                serial = journal.nextSerial(source: zone.serial)
                bumped = true
            } else {
                serial = zone.serial
            }
            if journal.advance(to: version.withSerial(serial)) {
                logger.info(
                    "zone version",
                    metadata: ["zone": "\(origin)", "serial": "\(serial)", "diffs": "\(journal.diffs.count)"])
                announce.append((t, journal.current))
            }
            sourceSerials[origin] = zone.serial
            next[origin] = journal
        }
        if bumped { limiter.bumped(at: .now) }
        journals = next
        for (origin, j) in next {
            Gauge(label: "carousel_zone_published_serial", dimensions: [("zone", "\(origin)")]).record(
                Int64(j.current.serial))
        }
        let published = next
        hub.update { $0.journals = published }
        // A publish_health zone whose served SOA lags its published serial: a new snapshot.
        let stale = config.transfers.contains { t in
            guard t.publishHealth, let origin = try? DNSName(TransferCoordinator.absolute(t.zone)),
                let j = next[origin], let z = catalog.zone(named: origin)
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

    func announce(_ versions: [(TransferConfig, ZoneVersion)]) {
        for (t, v) in versions { notify(t, v) }
    }

    /// The zones to serve: those of `publish_health` transfers carry the published serial.
    func servedZones(_ zones: [Zone]) -> [Zone] {
        let health = Set(
            config.transfers.filter(\.publishHealth).compactMap { try? DNSName(TransferCoordinator.absolute($0.zone)) })
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
        if let p = patched[z.origin], p.zone === z { return p.original }
        return z
    }

    /// The serial transfers publish for a zone (for status and tests).
    public func publishedSerial(_ origin: DNSName) -> UInt32? { journals[origin]?.current.serial }

    static func key(_ k: TSIGKeyConfig) -> TSIGKey? {
        guard let name = try? DNSName(absolute(k.name)), let alg = TSIGAlgorithm(rawValue: k.algorithm) else {
            return nil
        }
        return TSIGKey(name: name, algorithm: alg, secret: k.secret)
    }

    static func absolute(_ s: String) -> String { s.hasSuffix(".") ? s : s + "." }
}
