import Balancer
import CarouselConfig
import DNSSEC
import DNSWire
import DNSZone
import Foundation
import Health
import Listeners
import Loading
import Logging
import Metrics
import NIOConcurrencyHelpers
import Prober
import Responder
import Transfer
import TransferService

/// Carousel as a whole: zones + config → snapshot, the prober, the listeners and the transfer
/// service. Every change (start, reload) builds a complete snapshot off the query path and
/// publishes it; a zone file that fails to load keeps its last good version serving, and a config
/// edit that `Validator` refuses leaves the running config in place.
public actor CarouselRuntime {
    public private(set) var config: Config
    /// The config file, watched for changes like the zone files; nil when running on defaults.
    let configPath: String?
    var configSignature: FileSignature
    var configDigest: UInt64 = 0
    /// Command-line overrides re-applied to every reloaded config.
    let overrides: @Sendable (inout Config) -> Void
    public nonisolated let logger: Logger
    public nonisolated let prober: Prober
    public nonisolated let server: DNSServer
    let watch: PoolWatch
    public private(set) var cache = ZoneCache()
    public var zoneErrors: [Problem] { cache.errors }
    /// Reloads since start (the initial load does not count).
    public private(set) var reloads = 0
    var started = false
    public nonisolated let startedAt = Date()
    /// Problems of the config file's current content, while the previous config runs.
    public private(set) var configErrors: [String] = []
    public private(set) var snapshot: Snapshot
    var listeners: Listeners?
    /// Zone transfers both ways (CarouselRuntime+Transfers.swift).
    public nonisolated let transfers: TransferCoordinator
    /// The fleet's exchange of observations (CarouselRuntime+Fleet.swift); without `fleet:` it
    /// hands the prober's views straight on.
    public nonisolated let fleet: FleetExchange
    /// Zones pulled from primaries, served beside the zone files.
    var pulledZones: [Zone] = []
    /// The catalog zone as last built (`+Catalog`): what it lists, its serial, the zone.
    var catalogState: CatalogState?
    /// Answer counter ids per (pool, address), kept across reloads.
    var answerCounters = AnswerCounterIndex()
    /// The last hour of answers and states per member (the status page's charts).
    public nonisolated let history: AnswerHistory
    /// Signed zones' keys as last loaded well (CarouselRuntime+DNSSEC.swift), the next key event
    /// (a rollover step, when the snapshot is rebuilt) and the key files' signatures.
    public internal(set) var zoneKeys: [DNSName: ZoneKeys] = [:]
    public internal(set) var nextKeyEvent: Int64?
    var keyFiles: [String: [Int64]] = [:]
    /// The key files' signatures when a load last failed, until when every poll reads them again
    /// (see `signedZones`), and each zone's last errors (logged once, not at every poll).
    var failedKeyFiles: [String: [Int64]]?
    var retryKeysUntil: ContinuousClock.Instant?
    var lastKeyErrors: [DNSName: [String]] = [:]
    /// DNS over TLS (CarouselRuntime+TLS.swift): the certificate the listeners present, its
    /// files' signatures when last loaded, and why the last reload of them failed.
    var tlsContext: TLSServerContext?
    var tlsFiles: [FileSignature] = []
    public internal(set) var tlsError: String?
    /// Dynamic updates (CarouselRuntime+Updates.swift): each zone's acknowledged updates in
    /// order, the zones merged with them (until the file zone or the updates change), and the
    /// updates' rate limit.
    var updateOverlays: [DNSName: [UpdateEffect]] = [:]
    var mergedZones: [DNSName: (base: Zone, count: Int, zone: Zone)] = [:]
    var updateLimiter = UpdateLimiter(rate: 500, burst: 1000)

    public init(
        config: Config, configPath: String? = nil, overrides: @escaping @Sendable (inout Config) -> Void = { _ in },
        logger: Logger
    ) {
        self.config = config
        self.configPath = configPath
        self.configSignature = configPath.map(FileSignature.init) ?? FileSignature("")
        if let configPath, let data = FileManager.default.contents(atPath: configPath) {
            self.configDigest = FileSignature.digest(data)
        }
        self.overrides = overrides
        self.logger = logger
        let options = ResponderOptions(config)
        let snapshot = Snapshot(catalog: .empty, options: options)
        self.snapshot = snapshot
        let server = DNSServer(threads: config.threads, snapshot: snapshot, logger: logger)
        self.server = server
        let watch = PoolWatch(logger: logger)
        self.watch = watch
        let transfers = TransferCoordinator(hub: server.transfers, group: server.group, logger: logger)
        self.transfers = transfers
        let history = AnswerHistory()
        self.history = history
        let probers = NIOLockedValueBox<Prober?>(nil)
        let fleet = FleetExchange(
            hub: server.transfers, group: server.group, logger: logger,
            leave: { ids in await probers.withLockedValue { $0 }?.setUnobserved(ids) }
        ) { view in
            server.publish(view)
            watch.check(view)
            transfers.primary.healthChanged(view)
            history.healthChanged(view)
        }
        self.fleet = fleet
        let prober = Prober(logger: logger, stateFile: config.stateFile) { view in fleet.localChanged(view) }
        self.prober = prober
        probers.withLockedValue { $0 = prober }
    }

    /// Loads everything, probes once (bounded by the longest check timeout) so the first answer
    /// is not blind, then listens.
    public func start() async throws {
        startUpdates()
        await startTransfers()
        await rebuild()
        started = true
        let bound = config.pools.map { max($0.check.timing.timeout, $0.agent?.timeout ?? .zero) }.max() ?? .zero
        if bound > .zero {
            await prober.firstRound(within: bound + .milliseconds(200))
        }
        let view = await healthView()
        server.publish(view)
        watch.check(view)
        listeners = try await server.bind(config.listen, tcp: TCPSettings(config), tls: try startTLS())
        let records = snapshot.catalog.zones.reduce(0) { $0 + $1.recordCount }
        logger.info(
            "ready",
            metadata: [
                "zones": "\(snapshot.catalog.zones.count)", "records": "\(records)", "pools": "\(config.pools.count)",
            ])
    }

    /// Reloads the config and every zone file (SIGHUP, `carousel reload`): each changed file is
    /// read again; health state carries over (keyed by address and check).
    public func reload() async {
        logger.info("reload requested")
        reloadConfigIfChanged(force: true)
        await rebuild(force: true, reread: true)
    }

    /// Looks for edits (the watcher calls this about twice a second): a changed config or zone
    /// file triggers a rebuild; nothing else does.
    public func poll() async {
        let configChanged = reloadConfigIfChanged(force: false)
        pollTLS()
        await rebuild(force: configChanged || keysChanged())
    }

    /// Re-reads the config file if its content changed; a broken edit is reported and the
    /// running config stays. Returns true when a new config was taken.
    @discardableResult
    func reloadConfigIfChanged(force: Bool) -> Bool {
        guard let path = configPath else { return false }
        let sig = FileSignature(path)
        if !force && sig == configSignature { return false }
        configSignature = sig
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            logger.error("\(path):0: cannot read the config file; keeping the running config")
            return false
        }
        let digest = FileSignature.digest(data)
        if digest == configDigest { return false }
        configDigest = digest
        let base = (path as NSString).deletingLastPathComponent
        switch Config.parse(text, file: path, baseDirectory: base.isEmpty ? nil : base) {
        case .failure(let errors):
            Counter(label: "carousel_reload_failures_total").increment()
            configErrors = errors.errors.map(\.description)
            for e in errors.errors { logger.error("\(e)") }
            logger.error("\(path): not applied; the running config stays")
            return false
        case .success(var next):
            overrides(&next)
            // Everything `carousel check` rejects is refused here too (one validator).
            let problems =
                Validator.problems(next, file: path, zones: cache.zones + pulledZones)
                + Self.tlsProblems(next, file: path)
            if !problems.isEmpty {
                Counter(label: "carousel_reload_failures_total").increment()
                configErrors = problems.map(\.description)
                for e in configErrors { logger.error("\(e)") }
                logger.error("\(path): not applied; the running config stays")
                return false
            }
            if next.listen != config.listen || next.threads != config.threads
                || next.tcpIdleTimeout != config.tcpIdleTimeout
                || next.tcpMaxConnections != config.tcpMaxConnections
                || next.tcpMessageTimeout != config.tcpMessageTimeout
                || next.tcpMaxQueries != config.tcpMaxQueries || next.stateFile != config.stateFile
                || next.tls?.listen != config.tls?.listen
            {
                logger.warning(
                    "\(path): listen, tls.listen, threads, tcp and state_file changes take effect at the next restart")
                if let old = config.tls, next.tls != nil {
                    next.tls?.listen = old.listen
                } else {
                    next.tls = config.tls
                }
                next.listen = config.listen
                next.threads = config.threads
                next.tcpIdleTimeout = config.tcpIdleTimeout
                next.tcpMaxConnections = config.tcpMaxConnections
                next.tcpMessageTimeout = config.tcpMessageTimeout
                next.tcpMaxQueries = config.tcpMaxQueries
                next.stateFile = config.stateFile
            }
            let updatesChanged = next.updates != config.updates
            config = next
            if updatesChanged { startUpdates() }
            configErrors = []
            logger.info("config reloaded", metadata: ["file": "\(path)", "pools": "\(next.pools.count)"])
            return true
        }
    }

    /// Stops accepting, saves the state file, stops the event loops.
    public func stop() async {
        await listeners?.close()
        listeners = nil
        await prober.save()
        try? await server.shutdown()
    }

    /// Refreshes the zone cache and, when anything changed (or `force`), builds and publishes a
    /// new snapshot. `reread` compares the content of every file, not only of those whose
    /// metadata moved.
    func rebuild(force: Bool = true, reread: Bool = false) async {
        let r = cache.refresh(paths: config.zones, force: reread, maxRecords: config.maxZoneRecords)
        for w in r.warnings { logger.warning("\(w)") }
        for e in r.errors { logger.error("\(e)") }
        if !r.errors.isEmpty { Counter(label: "carousel_reload_failures_total").increment(by: r.errors.count) }
        for z in r.loaded {
            logger.info(
                "zone loaded",
                metadata: [
                    "zone": "\(z.origin)", "serial": "\(z.serial)", "records": "\(z.recordCount)", "file": "\(z.file)",
                ])
        }
        for f in r.removed { logger.notice("zone file removed; no longer served", metadata: ["file": "\(f)"]) }
        for e in r.errors {
            guard let served = cache.entries[e.file]?.served else { continue }
            logger.warning("\(e.file): keeping the last good version (serial \(served.serial))")
        }
        guard force || !r.loaded.isEmpty || !r.removed.isEmpty else { return }
        pulledZones = await transfers.secondary.secondaryZones()
        let (zones, signing) = signedZones(
            await transfers.primary.servedZones(updatedZones(cache.zones) + pulledZones + catalogZones()))
        let catalog = Catalog(zones: zones, unavailable: await transfers.secondary.unavailableSecondaries())
        for (i, pool) in config.pools.enumerated() where BalancePlan.unboundPools(catalog, pools: [pool]).count == 1 {
            let line = i < config.lines.pools.count ? config.lines.pools[i] : 1
            logger.warning("pool \(pool.name) (line \(line)) matches no A or AAAA records in any zone")
        }
        let ids = await prober.setTargets(
            BalancePlan.targets(of: catalog, pools: config.pools),
            slowStarts: BalancePlan.slowStarts(of: catalog, pools: config.pools))
        await configureFleet(targets: ids)
        let plan = BalancePlan.build(
            catalog: catalog, pools: config.pools, ids: ids, poolDrains: await poolDrains(), counters: &answerCounters)
        let options = ResponderOptions(config)
        snapshot = Snapshot(
            catalog: catalog, options: options, plan: plan, signing: catalog.zones.map { signing[$0.origin] })
        server.publish(snapshot)
        if started {
            reloads += 1
            Counter(label: "carousel_reloads_total").increment()
        }
        watch.setPlan(plan)
        watch.check(await healthView())
        await history.setPlan(plan)
        await transfersPublished(catalog: catalog, plan: plan)
    }
}

/// Logs once per change when every member of a pool's address set is down (and the all_down
/// policy takes over), and when the set recovers (`AllDownWatch` decides; this logs). Runs off the
/// query path, on the prober's and the runtime's threads.
final class PoolWatch: Sendable {
    let logger: Logger
    let watch = NIOLockedValueBox(AllDownWatch())

    init(logger: Logger) { self.logger = logger }

    func setPlan(_ plan: BalancePlan) {
        watch.withLockedValue { $0.follow(plan) }
    }

    func check(_ view: HealthView) {
        for change in watch.withLockedValue({ $0.update(view) }) {
            if change.dark { logger.error("\(change)") } else { logger.notice("\(change)") }
        }
    }
}

extension TCPSettings {
    init(_ config: Config) {
        self.init(
            idleTimeout: config.tcpIdleTimeout, messageTimeout: config.tcpMessageTimeout,
            maxConnections: config.tcpMaxConnections, maxQueries: config.tcpMaxQueries)
    }
}

extension TransferSetup {
    init(_ config: Config) {
        self.init(
            primaries: config.transfers + (config.catalog.map { [$0.primary] } ?? []),
            secondaries: config.secondaries, keys: config.tsigKeys,
            maxZoneRecords: config.maxZoneRecords)
    }
}

extension ResponderOptions {
    init(_ config: Config) {
        self.init(
            maxUDPPayload: UInt16(config.maxUDPPayload), version: config.chaosVersion, identity: config.chaosIdentity)
        rrlLimit = config.rrl.responsesPerSecond
        rrlSlip = config.rrl.slip
        rrlIPv4Prefix = config.rrl.ipv4Prefix
        rrlIPv6Prefix = config.rrl.ipv6Prefix
        nsid = config.nsid.map { Array($0.utf8) }
        if config.cookies {
            cookieSecret = config.cookieSecret.flatMap(CookieSecret.init) ?? Self.processCookieSecret
            cookiePreviousSecret = config.cookiePreviousSecret.flatMap(CookieSecret.init)
        }
    }

    /// The cookie secret when none is configured: one per process, so reloads keep cookies valid.
    static let processCookieSecret = CookieSecret.random()
}
