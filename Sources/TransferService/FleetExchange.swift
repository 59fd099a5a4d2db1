import DNSWire
import Foundation
import Health
import Listeners
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Transfer

/// A fleet's exchange of observations, over DNS: this instance serves what its own probes see as
/// a small zone (`ObservationZone`, answered by the transfer lane to its peers), NOTIFYs every
/// peer of each new version, asks every peer's SOA each second (which is also how a silent peer
/// is noticed) and pulls a newer version by IXFR, every message signed with the fleet's key.
/// From its own verdicts and the fresh peers' it makes the fleet's view (`FleetTally`) and hands
/// it to `publish`, in place of the prober's. Without a fleet, the prober's views pass straight
/// through.
public actor FleetExchange {
    let hub: TransferHub
    let group: EventLoopGroup
    let logger: Logger
    let publish: @Sendable (HealthView) -> Void
    /// Tells the prober which targets other members probe (`observers_per_target`).
    let leave: @Sendable (Set<Int32>) async -> Void
    var unobserved: Set<Int32> = []
    /// True while a fleet is configured: the prober's views come here instead of going out.
    nonisolated let active = NIOLockedValueBox(false)
    nonisolated let localEvents: AsyncStream<HealthView>
    nonisolated let localContinuation: AsyncStream<HealthView>.Continuation

    var settings: FleetSettings?
    var me: FleetMember?
    var targets: [Int32: TargetKey] = [:]
    /// Each target's `TargetKey.description`, the name its verdicts go by (made once per config).
    var descriptions: [Int32: String] = [:]
    /// This instance's zone as it stands: each target's verdict and record, in target id order.
    var ownStates: [Int32: HealthState] = [:]
    /// Each target's factor as sent (`FleetTally.quantized`).
    var ownFactors: [Int32: UInt16] = [:]
    var ownRecords: [Int32: ResourceRecord] = [:]
    var order: [Int32] = []
    /// Something a view depends on changed since the last `recompute` (besides who is fresh).
    var dirty = true
    var lastFresh: Set<String> = []
    var observerCache: (live: [String], observers: [Int32: Set<String>])?
    var local = HealthView.empty
    var journal: ZoneJournal?
    var peers: [String: Peer] = [:]
    var tasks: [String: Task<Void, Never>] = [:]
    var wakeRequested: Set<String> = []
    var published: HealthView?
    var alone = false
    var lastTally: [Int32: FleetTally.Votes] = [:]
    var lastObservers: [Int32: Set<String>] = [:]
    /// For `/metrics`: exchanges with peers that went well and that failed, and the fresh members.
    var exchangesOK = 0
    var exchangesFailed = 0
    var freshCount = 1
    var notifyTasks: [String: Task<Void, Never>] = [:]
    var monitor: Task<Void, Never>?
    /// The master's election (`FleetElection`), its last outcome, and the primary whose
    /// `publish_health` zones follow it.
    var election: FleetElection?
    var outcome: FleetElection.Outcome?
    var primary: PrimaryTransfers?
    /// The serials this member serves of `publish_health` zones, and the records of its zone
    /// besides the verdicts (its vote, those serials), by what they say.
    var servedSerials: [DNSName: UInt32] = [:]
    var extraRecords: [String: ResourceRecord] = [:]
    /// Copies being pulled from the master, by zone.
    var copying: Set<DNSName> = []
    /// The newest mark of every drain key this member holds (the prober's), served to its peers;
    /// and what applies a peer's newer marks here.
    var drainMarks: [String: DrainMark] = [:]
    var applyDrains: (@Sendable ([String: DrainMark]) async -> Void)?

    /// What this instance knows of one peer.
    struct Peer {
        var member: FleetMember
        /// The last version pulled: its SOA and what it says (the records themselves are not kept).
        var soa: ResourceRecord?
        var observed = Observations()
        var verdicts: [String: HealthState] { observed.verdicts }
        /// The serial its last SOA answer gave (its zone as held is up to date when they match).
        var heardSerial: UInt32?
        /// The last signed answer from it (an SOA, a transfer).
        var lastHeard: ContinuousClock.Instant?
        var lastHeardDate: Date?
        var error: String?
    }

    public init(
        hub: TransferHub, group: EventLoopGroup, logger: Logger,
        leave: @escaping @Sendable (Set<Int32>) async -> Void = { _ in },
        publish: @escaping @Sendable (HealthView) -> Void
    ) {
        self.hub = hub
        self.group = group
        self.logger = logger
        self.leave = leave
        self.publish = publish
        (localEvents, localContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// The prober's new view (from any thread): published as it is without a fleet, else one of
    /// the fleet's votes.
    public nonisolated func localChanged(_ view: HealthView) {
        if active.withLockedValue({ $0 }) {
            localContinuation.yield(view)
        } else {
            publish(view)
        }
    }

    /// A peer's NOTIFY for its observation zone (from any thread).
    public nonisolated func notified(_ zone: DNSName) {
        Task { await self.wake(zone) }
    }

    func wake(_ zone: DNSName) {
        guard let m = settings?.member(servingZone: zone) else { return }
        wakeRequested.insert(m.id)
    }

    /// Follows the prober's views while the fleet is on (runs until cancelled).
    public func follow() async {
        for await view in localEvents { takeLocal(view) }
    }

    /// The view the query path has now (the fleet's, or the prober's without a fleet).
    public var view: HealthView? { published }

    /// Takes the config (nil: no fleet) with this instance's member id already resolved, the
    /// probe targets' ids, and the prober's current view. Starts and stops peer loops to match.
    public func configure(_ next: FleetSettings?, targets: [TargetKey: Int32], local: HealthView) {
        self.targets = Dictionary(targets.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
        descriptions = self.targets.mapValues(\.description)
        order = self.targets.keys.sorted()
        observerCache = nil
        dirty = true
        self.local = local
        guard let next, let selfID = next.selfID, let me = next.members.first(where: { $0.id == selfID }) else {
            // No fleet before either: the prober's views already go straight out.
            guard settings != nil else { return }
            logger.notice("fleet: off; serving from this instance's probes")
            settings = nil
            self.me = nil
            for t in tasks.values { t.cancel() }
            tasks = [:]
            peers = [:]
            monitor?.cancel()
            monitor = nil
            election = nil
            outcome = nil
            servedSerials = [:]
            extraRecords = [:]
            if let primary { Task { await primary.setFleetRole(nil) } }
            hub.update { $0.fleet = nil }
            active.withLockedValue { $0 = false }
            published = nil
            publish(local)
            setUnobserved([])
            return
        }
        let starting = settings == nil
        settings = next
        self.me = me
        active.withLockedValue { $0 = true }
        let wanted = Dictionary(
            next.members.filter { $0.id != selfID }.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for (id, task) in tasks where wanted[id] == nil || wanted[id] != peers[id]?.member {
            task.cancel()
            tasks[id] = nil
            peers[id] = nil
        }
        for (id, member) in wanted where tasks[id] == nil {
            peers[id] = Peer(member: member)
            tasks[id] = Task { await self.follow(peer: id) }
        }
        if starting {
            alone = true
            election = FleetElection(now: .now, staleAfter: next.staleAfter)
            logger.notice(
                "fleet: \(selfID) of \(next.members.map(\.id).joined(separator: ", ")); alone until a peer answers")
            monitor = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(250))
                    self.recompute()
                }
            }
        }
        observe()
        recompute()
    }

    func takeLocal(_ view: HealthView) {
        guard settings != nil else {
            publish(view)
            return
        }
        local = view
        dirty = true
        observe()
        recompute()
    }

    /// Makes this instance's verdicts a new version of its observation zone when they changed,
    /// serves it, and NOTIFYs the peers. Only the targets whose verdict moved are rebuilt, and the
    /// journal is given the difference (a fleet of 10,000 targets changes a few at a time).
    func observe() {
        guard let settings, let me else { return }
        let origin = FleetSettings.origin(of: me.id)
        var deleted: [ResourceRecord] = []
        var added: [ResourceRecord] = []
        var records = ownRecords
        var states = ownStates
        var factors = ownFactors
        let fresh = journal == nil || journal?.current.origin != origin
        for id in order {
            let state = targets[id].map { _ in local.state(id) } ?? .unknown
            let factor = state == .up ? FleetTally.quantized(local.factor(id)) : HealthView.fullFactor
            guard fresh || states[id] != state || factors[id] != factor else { continue }
            if let old = records[id] { deleted.append(old) }
            let record = targets[id].flatMap { ObservationZone.record(of: me.id, $0, state, factor: factor) }
            records[id] = record
            states[id] = state
            factors[id] = factor
            if let record { added.append(record) }
        }
        // Targets that left the config leave the zone.
        for id in records.keys where targets[id] == nil {
            if let old = records[id] { deleted.append(old) }
            records[id] = nil
            states[id] = nil
            factors[id] = nil
        }
        // The vote and the served serials.
        let extras = wantedExtras(me.id)
        for (k, r) in extraRecords where extras[k] != r { deleted.append(r) }
        for (k, r) in extras where extraRecords[k] != r { added.append(r) }
        extraRecords = extras
        let others = extras.keys.sorted().compactMap { extras[$0] }
        var advanced = false
        if !fresh, var j = journal {
            if !deleted.isEmpty || !added.isEmpty {
                let next = ZoneVersion(
                    origin: origin, soa: ObservationZone.soa(of: me.id, serial: j.current.serial &+ 1),
                    records: ObservationZone.apex(of: me.id) + others + order.compactMap { records[$0] })
                j.advance(to: next, diff: ZoneDiff(from: j.current.soa, to: next.soa, deleted: deleted, added: added))
                journal = j
                advanced = true
            }
        } else {
            // Seconds since the epoch: a restarted member's serials still move forward.
            let serial = UInt32(truncatingIfNeeded: UInt64(Date().timeIntervalSince1970))
            journal = ZoneJournal(
                ZoneVersion(
                    origin: origin, soa: ObservationZone.soa(of: me.id, serial: serial),
                    records: ObservationZone.apex(of: me.id) + others + order.compactMap { records[$0] }))
            advanced = true
        }
        ownRecords = records
        ownStates = states
        ownFactors = factors
        guard let journal else { return }
        let allow = settings.members.compactMap { IPPrefix($0.address.host) }
        let peerZones = Set(settings.members.filter { $0.id != me.id }.map { FleetSettings.origin(of: $0.id) })
        let lane = TransferLane.FleetLane(
            origin: origin, key: settings.key, allow: allow, journal: journal, peers: peerZones)
        hub.update { $0.fleet = lane }
        if advanced { notifyPeers(journal.current) }
    }

    /// Recomputes who is fresh and the fleet's view; publishes it when its meaning changed.
    func recompute() {
        guard let settings, let me else { return }
        let now = ContinuousClock.now
        let fresh = peers.filter { _, p in p.lastHeard.map { now - $0 < settings.staleAfter } ?? false }
        let wasAlone = alone
        alone = fresh.isEmpty
        if alone != wasAlone {
            if alone {
                logger.warning("fleet: alone: no peer heard for \(settings.staleAfter); serving from own probes")
            } else {
                logger.notice("fleet: rejoined: \(fresh.keys.sorted().joined(separator: ", ")) heard")
            }
        }
        freshCount = fresh.count + 1
        elect(now: now)
        // Nothing to do unless a verdict, the targets or who is fresh changed (this runs every
        // 250 ms to notice silence).
        let freshIDs = Set(fresh.keys)
        guard dirty || freshIDs != lastFresh else { return }
        dirty = false
        lastFresh = freshIDs
        let votes = fresh.mapValues(\.verdicts)
        let factors = fresh.mapValues(\.observed.factors)
        // Who probes what: the targets' observers among the live members (alone: all of them here).
        let live = [me.id] + fresh.keys.sorted()
        var observers: [Int32: Set<String>] = [:]
        if settings.observersPerTarget != nil {
            if let cached = observerCache, cached.live == live {
                observers = cached.observers
            } else {
                for (id, text) in descriptions { observers[id] = settings.observers(of: text, live: live) }
                observerCache = (live, observers)
            }
        }
        setUnobserved(Set(observers.filter { !$0.value.contains(me.id) }.keys))
        var tally: [Int32: FleetTally.Votes] = [:]
        for (id, text) in descriptions {
            tally[id] = FleetTally.votes(
                local: local, id: id, selfID: me.id, target: text, peers: votes, factors: factors,
                observers: observers[id])
        }
        lastTally = tally
        lastObservers = observers
        let view = alone ? local : FleetTally.view(local: local, tally: tally, quorum: settings.quorum)
        if let published, published.sameMeaning(as: view) { return }
        published = view
        publish(view)
    }

    func setUnobserved(_ ids: Set<Int32>) {
        guard ids != unobserved else { return }
        unobserved = ids
        let leave = self.leave
        Task { await leave(ids) }
    }
}
