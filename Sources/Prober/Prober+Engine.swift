import Foundation
import Health

/// The prober's side of ``TCPProbeEngine``: `tcp` targets are handed to the engine instead of
/// getting a probe loop each, and its results come back in batches, one actor hop per batch.
extension Prober {
    /// Makes and starts the engine for ``run()``; nil (and tcp checks take the per-target loops)
    /// if the system refuses an epoll, an eventfd or a thread.
    func startEngine() -> TCPProbeEngine? {
        do {
            let engine = try TCPProbeEngine()
            try engine.start()
            self.engine = engine
            return engine
        } catch {
            logger.error("tcp probe engine: \(ProbeAttempt.errnoText(error.code)); tcp checks use one task each")
            return nil
        }
    }

    /// After ``run()``'s task group: the engine has stopped; its thread is ending.
    func stopEngine() {
        guard let engine else { return }
        engine.stop()
        engine.join()
        self.engine = nil
        for i in targets.indices where targets[i].looping && targets[i].key.check.usesEngine {
            targets[i].looping = false
        }
    }

    /// Hands a `tcp` target to the engine; false when it is not one the engine takes (another
    /// check kind, an address that is not an IP literal, or no engine running).
    func startEngineProbe(_ id: Int32) -> Bool {
        let key = targets[Int(id)].key
        guard key.check.usesEngine, let engine,
            let address = ProbeAddress(key.address, port: key.check.port)
        else {
            return false
        }
        targets[Int(id)].looping = true
        engine.set(
            id,
            .init(
                address: address, interval: key.check.timing.interval.nanoseconds,
                timeout: key.check.timing.timeout.nanoseconds, readsReply: key.check.kind == .agent))
        return true
    }

    /// The target left the config: the engine stops probing it (its probe in flight is dropped).
    func stopEngineProbe(_ id: Int32) {
        guard let engine, targets[Int(id)].looping, targets[Int(id)].key.check.usesEngine else { return }
        engine.remove(id)
        targets[Int(id)].looping = false
    }

    /// One batch of the engine's results (every result of up to 10 ms): one view published and
    /// one state file written for the whole batch.
    func record(_ batch: [TCPProbeEngine.Result]) {
        var changed = false
        var firsts = false
        for r in batch {
            let i = Int(r.id)
            // A result that crossed a removal in flight belongs to no target any more.
            guard i < targets.count, targets[i].active, targets[i].looping else { continue }
            let result: ProbeResult
            switch r.outcome {
            case .connected:
                result = .success("connected")
            case .replied(let bytes):
                result = ProbeResult(ok: true, reason: "replied", reply: bytes)
            case .failed(let code):
                result = .failure(ProbeAttempt.errnoText(code))
            case .timedOut:
                result = .failure("timeout after \(DurationText.format(targets[i].key.check.timing.timeout))")
            }
            var timed = result
            timed.latency = .nanoseconds(r.latency)
            firsts = firsts || targets[i].awaitingFirst
            changed = apply(r.id, timed) || changed
        }
        if changed {
            publishIfChanged()
            save()
        }
        if firsts { checkFirstRound() }
    }
}

extension Check {
    /// The kinds the engine probes: tcp checks and agents.
    var usesEngine: Bool { kind == .tcp || kind == .agent }
}
