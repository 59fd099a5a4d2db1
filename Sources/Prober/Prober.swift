import DNSWire
import Foundation
import Health
import Logging
import NIOCore
import NIOPosix

/// The `Health` module: probes each (address, check) target, damps the results with rise/fall,
/// and publishes an immutable ``HealthView`` when a state changes. It owns its threads (an event
/// loop, and the tcp engine's epoll thread) and never touches the server's query loops; it knows
/// nothing of zones, pools' answers or DNS serving.
///
/// `Prober` is one service: ``run()`` runs until cancelled; `tcp` targets are probed by one
/// ``TCPProbeEngine`` (thousands a second without a task each), the other kinds by one loop per
/// target in a task group. ``setTargets(_:)`` reconciles the set at startup and on every reload.
/// Each target has exactly one probe in flight; probes repeat every `interval` ±10% so they do not
/// burst.
public actor Prober {
    struct Target {
        let key: TargetKey
        var pools: [String]
        var machine: RiseFall
        /// False once the target has left the config; its id is never given to another key.
        var active = true
        /// A probe loop exists for it (at most one ever does), or the engine probes it.
        var looping = false
        /// Probe durations and transitions, for /metrics.
        var stats = ProbeStats()
        /// Started without a saved state and has not had its first result: ``firstRound(within:)``
        /// waits for it.
        var awaitingFirst = false
        /// An agent target's reports (nil for every other kind).
        var agent: AgentState?
        /// The agent's last complete line, as sent: the same line again changes nothing.
        var agentReply: [UInt8] = []
        /// The longest `slow_start` of the pools that use it, and when its ramp began (it came
        /// back up, was undrained, or its agent let it back in).
        var slowStart: Duration?
        var rampStart: ContinuousClock.Instant?
    }

    let logger: Logger
    let stateFile: String?
    let onChange: @Sendable (HealthView) -> Void

    var ids: [TargetKey: Int32] = [:]
    var targets: [Target] = []
    var drained: Set<String> = []
    /// When each drain key was drained or undrained last, and by which fleet member.
    var drainMarks: [String: DrainMark] = [:]
    /// States read from the state file, by `address fingerprint`, not yet claimed by a target.
    var saved: [String: StateFile.Entry] = [:]
    /// False until the first `setTargets` (the start's): an address first seen after it (added
    /// by an update or an edit) starts down and must rise like any down member (not blind).
    var targetsSet = false
    var published = HealthView.empty
    var commands: AsyncStream<Int32>.Continuation?
    /// Runs every `tcp` check while ``run()`` runs (see ``TCPProbeEngine``).
    var engine: TCPProbeEngine?
    var firstRoundWaiters: [Int: AsyncStream<Void>.Continuation] = [:]
    var nextWaiter = 0
    var lastSaveError: String?
    /// Targets this instance leaves to other members of its fleet (`observers_per_target`): not
    /// probed, their state unknown (so they carry no verdict) until they are its again.
    var unobserved: Set<Int32> = []

    /// Loads `stateFile` if there is one; its fresh states become the initial states of the
    /// targets that match them.
    public init(logger: Logger, stateFile: String?, onChange: @escaping @Sendable (HealthView) -> Void) {
        self.logger = logger
        self.stateFile = stateFile
        self.onChange = onChange
        guard let stateFile else { return }
        do {
            guard let file = try StateFile.load(stateFile) else { return }
            let now = Date()
            var stale = 0
            for entry in file.targets where entry.healthState != nil {
                if entry.isFresh(at: now) { saved[entry.key] = entry } else { stale += 1 }
            }
            drained = Set(file.drained.map { IPAddress.canonical($0) ?? $0 })
            drainMarks = file.drainLog ?? [:]
            // A file written before marks were kept: its drains count as made when it was written.
            let written = Int64(file.written.timeIntervalSince1970 * 1000)
            for key in drained where drainMarks[key] == nil {
                drainMarks[key] = DrainMark(drained: true, at: written, by: "")
            }
            let (restorable, drainedCount) = (saved.count, drained.count)
            logger.info(
                "state file \(stateFile): \(restorable) states to restore, \(stale) older than 1h ignored, \(drainedCount) drained"
            )
        } catch {
            logger.warning("state file \(error); starting without saved states")
        }
    }

    /// The current view (the one last handed to `onChange`).
    public var view: HealthView { published }

    /// Makes `targets` (each with the names of the pools that use it, for log lines) the set
    /// being probed, and returns every target's id. Unchanged targets keep their state and
    /// counters; new ones start probing at once; removed ones stop after their probe in flight.
    /// A new target that only retimes a removed one (same address and fingerprint) inherits its
    /// state, so a reload that changes an interval does not make the prober blind.
    /// `slowStarts` gives the ramp of each target whose pools have `slow_start`.
    @discardableResult
    public func setTargets(_ wanted: [TargetKey: [String]], slowStarts: [TargetKey: Duration] = [:]) -> [TargetKey:
        Int32]
    {
        let now = Date()
        var retired: [String: RiseFall] = [:]
        for i in targets.indices where targets[i].active && wanted[targets[i].key] == nil {
            targets[i].active = false
            targets[i].awaitingFirst = false
            stopEngineProbe(Int32(i))
            retired[targets[i].key.description] = targets[i].machine
        }
        var result: [TargetKey: Int32] = [:]
        let joining = targetsSet
        targetsSet = true
        let known = Set(targets.map(\.key.address))
        let ordered = wanted.sorted { ($0.key.address, $0.key.fingerprint) < ($1.key.address, $1.key.fingerprint) }
        for (key, pools) in ordered {
            let pools = pools.sorted()
            if let id = ids[key], targets[Int(id)].active {
                targets[Int(id)].pools = pools
                targets[Int(id)].slowStart = slowStarts[key]
                result[key] = id
                continue
            }
            var target = Target(
                key: key, pools: pools,
                machine: RiseFall(rise: key.check.timing.rise, fall: key.check.timing.fall, now: now))
            target.slowStart = slowStarts[key]
            if key.check.kind == .agent {
                // Its reports start afresh; the first round waits for its first answer too.
                target.agent = AgentState()
                target.awaitingFirst = true
            } else if !key.check.isChecked {
                target.machine = RiseFall(rise: 1, fall: 1, restoring: .up, since: now, checked: nil)
            } else if var inherited = retired[key.description] {
                inherited.rise = key.check.timing.rise
                inherited.fall = key.check.timing.fall
                target.machine = inherited
                target.awaitingFirst = inherited.state == .unknown
            } else if let entry = saved.removeValue(forKey: key.description), entry.isFresh(at: now),
                let state = entry.healthState
            {
                target.machine = RiseFall(
                    rise: key.check.timing.rise, fall: key.check.timing.fall, restoring: state, since: entry.since,
                    checked: entry.checked)
                logger.info("\(describe(target)) restored \(state) from the state file")
            } else if joining && !known.contains(key.address) {
                target.machine = RiseFall(
                    rise: key.check.timing.rise, fall: key.check.timing.fall, restoring: .down, since: now, checked: nil
                )
                logger.info("\(describe(target)) is new: down until it rises (\(key.check.timing.rise) good probes)")
            } else {
                target.awaitingFirst = true
            }
            let id: Int32
            if let old = ids[key] {
                id = old
                target.looping = targets[Int(id)].looping
                targets[Int(id)] = target
            } else {
                id = Int32(targets.count)
                ids[key] = id
                targets.append(target)
            }
            result[key] = id
            startLoop(id)
        }
        publishIfChanged()
        checkFirstRound()
        return result
    }

    /// Runs the probe loops until cancelled; then saves the state file. Targets set before or
    /// during the run are all probed; the 1-thread event loop group (http, https, dns and exec
    /// checks) and the engine's thread (tcp checks) live as long as this call.
    public func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let engine = startEngine()
        let (starts, starter) = AsyncStream.makeStream(of: Int32.self)
        commands = starter
        for id in targets.indices { startLoop(Int32(id)) }
        await withTaskCancellationHandler {
            await withDiscardingTaskGroup { tasks in
                if let engine {
                    tasks.addTask {
                        for await batch in engine.results { await self.record(batch) }
                    }
                }
                tasks.addTask { await self.rampLoop() }
                for await id in starts {
                    tasks.addTask { await self.probeLoop(id, group: group) }
                }
            }
        } onCancel: {
            engine?.stop()
        }
        commands = nil
        stopEngine()
        save()
        try? await group.shutdownGracefully()
    }

    /// Waits until every target that started without a saved state has its first result, or
    /// `bound` passes: the server calls it before answering its first query.
    public func firstRound(within bound: Duration) async {
        guard targets.contains(where: \.awaitingFirst) else { return }
        let (done, doneContinuation) = AsyncStream.makeStream(of: Void.self)
        let token = nextWaiter
        nextWaiter += 1
        firstRoundWaiters[token] = doneContinuation
        await withTaskGroup(of: Void.self) { group in
            group.addTask { for await _ in done {} }
            group.addTask { try? await Task.sleep(for: bound) }
            await group.next()
            group.cancelAll()
        }
        firstRoundWaiters.removeValue(forKey: token)?.finish()
    }

    private func startLoop(_ id: Int32) {
        let target = targets[Int(id)]
        guard target.active, !target.looping, target.key.check.isChecked, !unobserved.contains(id) else { return }
        if startEngineProbe(id) { return }
        guard let commands else { return }
        targets[Int(id)].looping = true
        commands.yield(id)
    }

    /// One target's loop: probe, record, sleep until `interval` ±10% after the probe started.
    /// It ends when the target is removed or the run is cancelled.
    private func probeLoop(_ id: Int32, group: any EventLoopGroup) async {
        while targets[Int(id)].active && !Task.isCancelled && !unobserved.contains(id) {
            let key = targets[Int(id)].key
            let started = ContinuousClock.now
            let result = await Probe.run(key, on: group)
            guard targets[Int(id)].active, !Task.isCancelled, !unobserved.contains(id) else { break }
            record(id, result)
            let factor = Double.random(in: 0.9...1.1)
            let delay = Duration.nanoseconds(Int64(Double(key.check.timing.interval.nanoseconds) * factor))
            do {
                try await Task.sleep(until: started + delay, clock: .continuous)
            } catch {
                break
            }
        }
        targets[Int(id)].looping = false
    }

    /// In a fleet with `observers_per_target`: the targets other members probe (agents too: their
    /// weights travel with the verdicts). Those newly left stop being probed and forget their
    /// state (unknown: no verdict); those newly taken start at once.
    public func setUnobserved(_ ids: Set<Int32>) {
        let next = ids.filter { Int($0) < targets.count }
        let before = unobserved
        unobserved = next
        var changed = false
        for id in next.subtracting(before) {
            let i = Int(id)
            stopEngineProbe(id)
            let timing = targets[i].key.check.timing
            if targets[i].key.check.isChecked {
                targets[i].machine = RiseFall(rise: timing.rise, fall: timing.fall, now: Date())
            }
            if targets[i].agent != nil { targets[i].agent = AgentState() }
            targets[i].awaitingFirst = false
            changed = true
            logger.info("\(describe(targets[i])) left to other fleet members")
        }
        for id in before.subtracting(next) where Int(id) < targets.count && targets[Int(id)].active {
            logger.info("\(describe(targets[Int(id)])) probed here again")
            startLoop(id)
        }
        if changed {
            publishIfChanged()
            save()
        }
        checkFirstRound()
    }

    func checkFirstRound() {
        guard !firstRoundWaiters.isEmpty, !targets.contains(where: \.awaitingFirst) else { return }
        for waiter in firstRoundWaiters.values { waiter.finish() }
        firstRoundWaiters.removeAll()
    }
}
