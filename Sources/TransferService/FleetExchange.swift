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

    /// What this instance knows of one peer.
    struct Peer {
        var member: FleetMember
        /// The last version pulled: its SOA and verdicts (the records themselves are not kept).
        var soa: ResourceRecord?
        var verdicts: [String: HealthState] = [:]
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
        let fresh = journal == nil || journal?.current.origin != origin
        for id in order {
            let state = targets[id].map { _ in local.state(id) } ?? .unknown
            guard fresh || states[id] != state else { continue }
            if let old = records[id] { deleted.append(old) }
            let record = targets[id].flatMap { ObservationZone.record(of: me.id, $0, state) }
            records[id] = record
            states[id] = state
            if let record { added.append(record) }
        }
        // Targets that left the config leave the zone.
        for id in records.keys where targets[id] == nil {
            if let old = records[id] { deleted.append(old) }
            records[id] = nil
            states[id] = nil
        }
        var advanced = false
        if !fresh, var j = journal {
            if !deleted.isEmpty || !added.isEmpty {
                let next = ZoneVersion(
                    origin: origin, soa: ObservationZone.soa(of: me.id, serial: j.current.serial &+ 1),
                    records: ObservationZone.apex(of: me.id) + order.compactMap { records[$0] })
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
                    records: ObservationZone.apex(of: me.id) + order.compactMap { records[$0] }))
            advanced = true
        }
        ownRecords = records
        ownStates = states
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
        // Nothing to do unless a verdict, the targets or who is fresh changed (this runs every
        // 250 ms to notice silence).
        let freshIDs = Set(fresh.keys)
        guard dirty || freshIDs != lastFresh else { return }
        dirty = false
        lastFresh = freshIDs
        let votes = fresh.mapValues(\.verdicts)
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
                local: local, id: id, selfID: me.id, target: text, peers: votes, observers: observers[id])
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

    /// One peer's loop: its SOA every `pollInterval` (at once on its NOTIFY), a transfer when its
    /// serial moved.
    func follow(peer id: String) async {
        while !Task.isCancelled {
            await refresh(id)
            let until = ContinuousClock.now + FleetSettings.pollInterval
            while ContinuousClock.now < until, !wakeRequested.contains(id), !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(20))
            }
            wakeRequested.remove(id)
        }
    }

    func refresh(_ id: String) async {
        guard let settings, let me, let peer = peers[id] else { return }
        let origin = FleetSettings.origin(of: id)
        do {
            let address = try SocketAddress(ipAddress: peer.member.address.host, port: peer.member.address.port)
            let serial = try await soaSerial(origin, address, settings.key, from: me.address.host)
            guard peers[id] != nil else { return }
            heard(id)
            if peers[id]?.soa.map({ SOA.serial($0.rdata) }) != serial {
                try await pull(id, origin, address, settings.key, from: me.address.host)
            }
            if let e = peers[id]?.error {
                logger.notice("fleet: \(id) answers again (was: \(e))")
                peers[id]?.error = nil
            }
        } catch {
            exchangesFailed += 1
            if peers[id]?.error != "\(error)" {
                logger.warning("fleet: \(id) at \(peer.member.address): \(error)")
                peers[id]?.error = "\(error)"
            }
        }
        recompute()
    }

    func heard(_ id: String) {
        peers[id]?.lastHeard = .now
        peers[id]?.lastHeardDate = Date()
        exchangesOK += 1
    }

    func soaSerial(_ zone: DNSName, _ address: SocketAddress, _ key: TSIGKey, from: String) async throws -> UInt32 {
        let (bytes, mac) = TSIG.sign(
            Message.query(id: UInt16.random(in: 0...UInt16.max), zone, .soa, flags: 0).encode(), key: key)
        let reply = try await DNSClient.udp(bytes, to: address, from: from, timeout: .seconds(1), group: group)
        var v = TSIGStreamVerifier(key: key, requestMAC: mac)
        try v.check(reply)
        let m = try Message.decode(reply)
        guard m.rcode == 0, let soa = m.answer.first(where: { $0.type == .soa }) else {
            throw TransferFailure(
                description: "SOA query answered \(RCode(rawValue: m.rcode)?.description ?? "\(m.rcode)")")
        }
        return SOA.serial(soa.rdata)
    }

    /// IXFR from the version held (AXFR without one), signed; the peer's verdicts replaced.
    func pull(_ id: String, _ zone: DNSName, _ address: SocketAddress, _ key: TSIGKey, from: String) async throws {
        let ours = peers[id]?.soa
        var q = Message.query(id: UInt16.random(in: 0...UInt16.max), zone, ours == nil ? .axfr : .ixfr, flags: 0)
        if let ours { q.authority = [ours] }
        let (bytes, mac) = TSIG.sign(q.encode(), key: key)
        var collector = TransferCollector(ixfr: ours != nil, ourSerial: ours.map { SOA.serial($0.rdata) })
        collector.maxRecords = 1_000_000
        let box = StreamBox(TransferStream(collector: collector, key: key, requestMAC: mac))
        try await DNSClient.tcp(bytes, to: address, from: from, timeout: .seconds(5), group: group) { message in
            try box.stream.take(message)
        }
        guard let result = box.stream.collector.result, peers[id] != nil else {
            throw TransferFailure(description: "transfer ended early")
        }
        switch result {
        case .upToDate:
            return
        case .full(let soa, let records):
            peers[id]?.soa = soa
            peers[id]?.verdicts = ObservationZone.verdicts(in: records)
        case .incremental(let diffs):
            // Each diff must start where the one before ended, the first at the serial we hold.
            var serial = ours.map { SOA.serial($0.rdata) }
            for d in diffs {
                guard SOA.serial(d.from.rdata) == serial else {
                    peers[id]?.soa = nil  // start again with AXFR
                    throw TransferFailure(description: "IXFR diffs do not start from our serial")
                }
                serial = SOA.serial(d.to.rdata)
            }
            var verdicts = peers[id]?.verdicts ?? [:]
            ObservationZone.apply(diffs, to: &verdicts)
            peers[id]?.verdicts = verdicts
            peers[id]?.soa = diffs.last?.to ?? ours
        }
        dirty = true
        heard(id)
    }

    /// A signed NOTIFY of `version` to every peer, resent twice at most (each polls every second
    /// anyway).
    func notifyPeers(_ version: ZoneVersion) {
        guard let settings, let me else { return }
        for (id, peer) in peers {
            notifyTasks[id]?.cancel()
            let group = self.group
            notifyTasks[id] = Task {
                var m = Message(
                    id: UInt16.random(in: 0...UInt16.max), flags: UInt16(Opcode.notify) << 11 | Header.aaBit)
                m.question = [Question(name: version.origin, type: .soa)]
                m.answer = [version.soa]
                let bytes = TSIG.sign(m.encode(), key: settings.key).message
                guard
                    let address = try? SocketAddress(
                        ipAddress: peer.member.address.host, port: peer.member.address.port)
                else { return }
                for timeout in [TimeAmount.milliseconds(250), .milliseconds(500)] {
                    if Task.isCancelled { return }
                    if (try? await DNSClient.udp(
                        bytes, to: address, from: me.address.host, timeout: timeout, group: group))
                        != nil
                    {
                        return
                    }
                }
            }
        }
    }

    /// The `fleet` object of `/status`.
    public func status() -> FleetStatus? {
        guard let settings, let me else { return nil }
        let now = ContinuousClock.now
        var members = [
            FleetStatus.Member(
                id: me.id, address: "\(me.address)", fresh: true, lastHeard: Date(), serial: journal?.current.serial,
                error: nil)
        ]
        for m in settings.members where m.id != me.id {
            let p = peers[m.id]
            let fresh = p?.lastHeard.map { now - $0 < settings.staleAfter } ?? false
            members.append(
                FleetStatus.Member(
                    id: m.id, address: "\(m.address)", fresh: fresh, lastHeard: p?.lastHeardDate,
                    serial: p?.soa.map { SOA.serial($0.rdata) }, error: p?.error))
        }
        var votes: [String: FleetStatus.TargetVotes] = [:]
        var byTarget: [Int32: FleetStatus.TargetVotes] = [:]
        for (id, key) in targets {
            guard let v = lastTally[id] else { continue }
            byTarget[id] = FleetStatus.TargetVotes(
                observers: lastObservers[id].map { $0.sorted() } ?? ([me.id] + peers.keys.sorted()),
                verdicts: v.verdicts.mapValues(\.description), down: v.down, voters: v.voters,
                needed: v.voters > 0 ? settings.quorum.threshold(voters: v.voters) : 0,
                state: alone ? local.state(id).description : v.state(settings.quorum).description)
            votes[key.description] = byTarget[id]
        }
        return FleetStatus(
            selfID: me.id, role: alone ? "alone" : "member", quorum: settings.quorum.description,
            staleAfter: Double(settings.staleAfter.components.seconds)
                + Double(settings.staleAfter.components.attoseconds) / 1e18,
            members: members, targets: votes, byTarget: byTarget)
    }

    /// The fleet's series for `/metrics` (nil without a fleet).
    public func metrics() -> FleetMetrics? {
        guard settings != nil else { return nil }
        return FleetMetrics(alone: alone, fresh: freshCount, exchangesOK: exchangesOK, exchangesFailed: exchangesFailed)
    }

    /// True while no peer is fresh (for `/ready`).
    public var isAlone: Bool { settings != nil && alone }
}

/// The `fleet` object of `/status` (a contract, like the rest of it).
public struct FleetStatus: Sendable, Codable, Equatable {
    public struct Member: Sendable, Codable, Equatable {
        public var id: String
        public var address: String
        public var fresh: Bool
        public var lastHeard: Date?
        /// The serial of its observation zone (this instance's own for `self`, else the last pulled).
        public var serial: UInt32?
        public var error: String?
    }

    public struct TargetVotes: Sendable, Codable, Equatable {
        /// The members that probe it (all of them without `observers_per_target`; among the live
        /// ones, else).
        public var observers: [String]
        /// Member id → `up` or `down`.
        public var verdicts: [String: String]
        public var down: Int
        public var voters: Int
        /// Down votes that take the target out, of those voters.
        public var needed: Int
        /// What the fleet (or, alone, this instance) makes of it.
        public var state: String
    }

    public var selfID: String
    /// `member`, or `alone` while no peer is fresh.
    public var role: String
    public var quorum: String
    public var staleAfter: Double
    public var members: [Member]
    /// By target (`address fingerprint`).
    public var targets: [String: TargetVotes]
    /// The same by probe target id (for the members of `/status`), not encoded.
    public var byTarget: [Int32: TargetVotes] = [:]

    enum CodingKeys: String, CodingKey {
        case selfID = "self"
        case role, quorum, members, targets, staleAfter
    }
}

/// What `/metrics` shows of a fleet.
public struct FleetMetrics: Sendable {
    public var alone: Bool
    /// Members heard within `stale_after`, this one included.
    public var fresh: Int
    public var exchangesOK: Int
    public var exchangesFailed: Int
}
