import Foundation
import Health
import Testing

@testable import Prober

#if canImport(Glibc)
    import Glibc
#endif

/// The tcp engine against real sockets on 127.42.9.x and ::1, alone and under the prober.
@Suite struct TCPProbeEngineTests {
    /// Every result the engine hands over, kept for the test to look at.
    final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var all: [TCPProbeEngine.Result] = []
        private(set) var batches = 0

        func append(_ batch: [TCPProbeEngine.Result]) {
            lock.withLock {
                all += batch
                batches += 1
            }
        }

        func of(_ id: Int32) -> [TCPProbeEngine.Result] { lock.withLock { all.filter { $0.id == id } } }
        var count: Int { lock.withLock { all.count } }
    }

    /// Runs `body` with a started engine whose results go to a ``Results``; stops and joins it.
    func withEngine(_ body: (TCPProbeEngine, Results) async throws -> Void) async throws {
        let engine = try TCPProbeEngine()
        try engine.start()
        let results = Results()
        let reader = Task { for await batch in engine.results { results.append(batch) } }
        do {
            try await body(engine, results)
        } catch {
            engine.stop()
            throw error
        }
        engine.stop()
        await reader.value
        engine.join()
    }

    func spec(_ address: String, port: Int, interval: Duration = .milliseconds(100), timeout: Duration = .seconds(2))
        throws -> TCPProbeEngine.Spec
    {
        let a = try #require(ProbeAddress(address, port: port))
        return .init(address: a, interval: interval.nanoseconds, timeout: timeout.nanoseconds)
    }

    @Test func upWhenAListenerAcceptsAndRepeatsAtItsInterval() async throws {
        let server = try await TestHTTPServer(host: "127.42.9.1") { _ in .status(200) }.start()
        try await withEngine { engine, results in
            engine.set(1, try spec("127.42.9.1", port: server.port))
            #expect(await eventually(within: .seconds(3)) { results.of(1).count >= 5 })
            let seen = results.of(1)
            #expect(seen.allSatisfy { $0.outcome == .connected })
            #expect(seen.allSatisfy { $0.latency > 0 && $0.latency < 1_000_000_000 })
        }
        await server.stop()
    }

    @Test func overIPv6() async throws {
        let server = try await TestHTTPServer(host: "::1") { _ in .status(200) }.start()
        try await withEngine { engine, results in
            engine.set(0, try spec("0::1", port: server.port))
            #expect(await eventually(within: .seconds(3)) { results.of(0).count >= 2 })
            #expect(results.of(0).allSatisfy { $0.outcome == .connected })
        }
        await server.stop()
    }

    @Test func refusedAtOnceWhenNothingListens() async throws {
        try await withEngine { engine, results in
            engine.set(3, try spec("127.42.9.2", port: 9, timeout: .seconds(5)))
            #expect(await eventually(within: .seconds(6)) { !results.of(3).isEmpty })
            #expect(results.of(3).first?.outcome == .failed(ECONNREFUSED))
            // Refused at once, well before the 5 s timeout: the probe's own latency, as the engine's
            // thread measured it (the test's reader, on the cooperative pool, may be late on a
            // loaded 2-core machine: it once saw the result 3.3 s after the start).
            let latency = try #require(results.of(3).first?.latency)
            #expect(latency < 1_000_000_000, "\(latency) ns")
        }
    }

    @Test func timesOutWhenSynsAreDropped() async throws {
        let backlog = try FullBacklog(host: "127.42.9.3")
        try await Task.sleep(for: .milliseconds(50))
        try await withEngine { engine, results in
            engine.set(
                0, try spec("127.42.9.3", port: backlog.port, interval: .seconds(5), timeout: .milliseconds(300)))
            #expect(await eventually(within: .seconds(3)) { !results.of(0).isEmpty })
            let r = try #require(results.of(0).first)
            #expect(r.outcome == .timedOut)
            #expect(r.latency >= 290_000_000 && r.latency < 2_000_000_000)
        }
        withExtendedLifetime(backlog) {}
    }

    @Test func removedTargetsGetNoMoreResults() async throws {
        let server = try await TestHTTPServer(host: "127.42.9.4") { _ in .status(200) }.start()
        try await withEngine { engine, results in
            engine.set(0, try spec("127.42.9.4", port: server.port))
            engine.set(1, try spec("127.42.9.4", port: server.port))
            #expect(await eventually(within: .seconds(3)) { results.of(0).count >= 2 && results.of(1).count >= 2 })
            engine.remove(0)
            try await Task.sleep(for: .milliseconds(100))
            let seen = results.of(0).count
            try await Task.sleep(for: .milliseconds(400))
            #expect(results.of(0).count == seen)
            #expect(await eventually(within: .seconds(3)) { results.of(1).count >= seen + 3 })
        }
        await server.stop()
    }

    @Test func resultsComeInBatches() async throws {
        let server = try await TestHTTPServer(host: "127.42.9.5") { _ in .status(200) }.start()
        try await withEngine { engine, results in
            for id in Int32(0)..<200 { engine.set(id, try spec("127.42.9.5", port: server.port)) }
            #expect(await eventually(within: .seconds(5)) { results.count >= 1000 })
            // 200 targets at 10 probes a second each, flushed at most every 10 ms.
            #expect(results.batches < results.count / 4)
        }
        await server.stop()
    }

    // MARK: under the prober

    func tcp(port: Int) -> Check {
        var c = CheckFields()
        c.type = .tcp
        c.port = port
        c.interval = .milliseconds(200)
        c.timeout = .milliseconds(200)
        c.rise = 2
        c.fall = 2
        return c.check
    }

    @Test func proberUpThenDownAfterFallWhenTheListenerCloses() async throws {
        let server = try await TestHTTPServer(host: "127.42.9.6") { _ in .status(200) }.start()
        let log = LogRecorder()
        let prober = Prober(logger: log.logger, stateFile: nil, onChange: { _ in })
        let key = TargetKey(address: "127.42.9.6", check: tcp(port: server.port))
        let id = try #require(await prober.setTargets([key: ["www.example.com"]])[key])
        try await withRunning(prober) {
            await prober.firstRound(within: .seconds(5))
            #expect(await prober.view.state(id) == .up)
            #expect(
                await eventually(within: .seconds(3)) {
                    (await prober.status().first?.successes ?? 0) >= 3
                })
            let s = try #require(await prober.status().first)
            #expect(s.lastResult?.reason == "connected" && s.lastResult!.latency > .zero)
            await server.stop()
            let stopped = ContinuousClock.now
            #expect(await eventually(within: .seconds(4)) { await prober.view.state(id) == .down })
            #expect(ContinuousClock.now - stopped < .seconds(2))
            let down = "www.example.com 127.42.9.6 tcp:\(server.port) up → down: connect refused (2 failures)"
            #expect(log.transitions.contains(down), "\(log.transitions)")
        }
    }
}
