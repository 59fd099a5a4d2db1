import Foundation
import Health
import Testing

@testable import Prober

/// The prober as the server runs it: real HTTP backends on loopback, 200 ms intervals.
@Suite struct ProberTests {
    func fast(_ type: CheckFields.Kind = .http, port: Int, _ edit: (inout CheckFields) -> Void = { _ in })
        -> Check
    {
        var c = CheckFields()
        c.type = type
        c.port = port
        c.interval = .milliseconds(200)
        c.timeout = .milliseconds(200)
        c.rise = 2
        c.fall = 2
        edit(&c)
        return c.check
    }

    func status(_ prober: Prober, _ key: TargetKey) async -> TargetStatus? {
        await prober.status().first { $0.address == key.address && $0.fingerprint == key.fingerprint }
    }

    @Test func firstRoundThenDownAfterFallAndUpAfterRise() async throws {
        let a = try await TestHTTPServer(host: "127.42.6.1") { _ in .status(200) }.start()
        let b = try await TestHTTPServer(host: "127.42.6.2") { _ in .status(200) }.start()
        let log = LogRecorder()
        let views = ViewLog()
        let prober = Prober(logger: log.logger, stateFile: nil, onChange: views.append)
        let ka = TargetKey(address: "127.42.6.1", check: fast(port: a.port))
        let kb = TargetKey(address: "127.42.6.2", check: fast(port: b.port))
        let ids = await prober.setTargets([ka: ["www.example.com"], kb: ["www.example.com", "api.example.com"]])
        let (ida, idb) = (try #require(ids[ka]), try #require(ids[kb]))
        #expect(ida != idb)
        #expect(views.count == 0)

        try await withRunning(prober) {
            let started = ContinuousClock.now
            // Two healthy backends answer in milliseconds: the round ends with their results,
            // long before its bound (the margin is for a loaded machine).
            await prober.firstRound(within: .seconds(8))
            #expect(ContinuousClock.now - started < .seconds(6))
            // Every target has its first result. (On a loaded machine one may be a timeout, which
            // rise then repairs; the view would then show it.)
            #expect(await prober.view.state(ida) != .unknown)
            #expect(await prober.view.state(idb) != .unknown)
            #expect(
                await eventually(within: .seconds(3)) {
                    let view = await prober.view
                    return view.state(ida) == .up && view.state(idb) == .up
                })
            // onChange runs once per transition and never for a result that changes nothing.
            #expect(views.count == log.transitions.count)
            let settled = views.count
            // More results come (every 200 ms; a loaded machine may take longer), and none of them
            // publishes a view.
            #expect(await eventually(within: .seconds(5)) { (await status(prober, ka))?.successes ?? 0 >= 3 })
            #expect(views.count == settled)

            await a.stop()
            let killed = ContinuousClock.now
            #expect(await eventually(within: .seconds(4)) { await prober.view.state(ida) == .down })
            // fall = 2 probes, 200 ms ± 10% apart: at most ~0.45 s, plus scheduling slack.
            #expect(ContinuousClock.now - killed < .seconds(2))
            #expect(!(await prober.view.isUp(ida)))
            #expect(await prober.view.isUp(idb))
            let down = "www.example.com 127.42.6.1 http:\(a.port)/ expect=200 up → down: connect refused (2 failures)"
            #expect(log.transitions.contains(down), "\(log.transitions)")
            #expect(log.messages.contains { $0.text == down && $0.level == .warning })
            let s = try #require(await status(prober, ka))
            #expect(s.state == .down && s.failures >= 2 && s.successes == 0)
            #expect(s.lastResult?.reason == "connect refused")
            #expect(s.pools == ["www.example.com"])

            try await a.start()
            let restarted = ContinuousClock.now
            #expect(await eventually(within: .seconds(4)) { await prober.view.state(ida) == .up })
            #expect(ContinuousClock.now - restarted < .seconds(2))
            let up = "www.example.com 127.42.6.1 http:\(a.port)/ expect=200 down → up: HTTP 200 (2 successes)"
            #expect(log.transitions.contains(up), "\(log.transitions)")
            #expect(views.count == settled + 2)
            #expect(log.transitions.count == views.count)
            #expect(views.all.last == (await prober.view))
        }
        #expect(
            log.transitions.first { $0.contains("127.42.6.2") }?.hasPrefix("api.example.com,www.example.com 127.42.6.2")
                == true)
        await a.stop()
        await b.stop()
    }

    @Test func reconcilingKeepsStateAndCountersAndStopsRemovedTargets() async throws {
        let a = try await TestHTTPServer(host: "127.42.7.1") { _ in .status(200) }.start()
        let b = try await TestHTTPServer(host: "127.42.7.2") { _ in .status(200) }.start()
        let c = try await TestHTTPServer(host: "127.42.7.3") { _ in .status(200) }.start()
        let prober = Prober(logger: LogRecorder().logger, stateFile: nil, onChange: { _ in })
        let ka = TargetKey(address: "127.42.7.1", check: fast(port: a.port))
        let kb = TargetKey(address: "127.42.7.2", check: fast(port: b.port))
        let kc = TargetKey(address: "127.42.7.3", check: fast(port: c.port))
        let first = await prober.setTargets([ka: ["p"], kb: ["p"]])

        try await withRunning(prober) {
            await prober.firstRound(within: .seconds(2))
            #expect(await eventually(within: .seconds(2)) { (await status(prober, ka))?.successes ?? 0 >= 3 })
            let before = try #require(await status(prober, ka))

            // One more target: the first keeps its id, state, since and counters.
            let second = await prober.setTargets([ka: ["p", "q"], kb: ["p"], kc: ["q"]])
            #expect(second[ka] == first[ka] && second[kb] == first[kb])
            #expect(second[kc] != nil && second[kc] != first[ka] && second[kc] != first[kb])
            let after = try #require(await status(prober, ka))
            #expect(after.state == .up && after.since == before.since && after.successes >= before.successes)
            #expect(after.pools == ["p", "q"])
            #expect(await eventually(within: .seconds(3)) { await prober.view.state(second[kc]!) == .up })

            // Removing b stops its probes once the one in flight is done.
            await prober.setTargets([ka: ["p"], kc: ["q"]])
            #expect(await prober.status().map(\.address) == ["127.42.7.1", "127.42.7.3"])
            #expect(await prober.view.state(first[kb]!) == .unknown)
            try await Task.sleep(for: .milliseconds(400))
            let seen = b.requests.count
            try await Task.sleep(for: .milliseconds(700))
            #expect(b.requests.count == seen)

            // Brought back, it keeps its id and is probed again from a fresh state.
            let third = await prober.setTargets([ka: ["p"], kb: ["p"], kc: ["q"]])
            #expect(third[kb] == first[kb])
            #expect(await eventually(within: .seconds(3)) { b.requests.count > seen })
            #expect(await eventually(within: .seconds(3)) { await prober.view.state(first[kb]!) == .up })
        }
        for s in [a, b, c] { await s.stop() }
    }

    @Test func onlyRetimingACheckKeepsItsState() async throws {
        let a = try await TestHTTPServer(host: "127.42.7.4") { _ in .status(200) }.start()
        let views = ViewLog()
        let prober = Prober(logger: LogRecorder().logger, stateFile: nil, onChange: views.append)
        // Slow timing: this test is about state, not speed.
        let k1 = TargetKey(
            address: "127.42.7.4",
            check: fast(port: a.port) {
                $0.interval = .seconds(1); $0.timeout = .seconds(1)
            })
        let k2 = TargetKey(
            address: "127.42.7.4",
            check: fast(port: a.port) {
                $0.interval = .seconds(2); $0.timeout = .seconds(1)
            })
        try await withRunning(prober) {
            let first = await prober.setTargets([k1: ["p"]])
            await prober.firstRound(within: .seconds(2))
            let before = try #require(await status(prober, k1))
            let ids = await prober.setTargets([k2: ["p"]])
            let after = try #require(await status(prober, k2))
            #expect(before.state != .unknown)
            #expect(after.id == ids[k2] && after.state == before.state && after.since == before.since)
            #expect(after.successes >= before.successes && after.failures >= before.failures)
            #expect(await prober.view.state(ids[k2]!) == before.state)
            #expect(await prober.view.state(first[k1]!) == .unknown)
            // The id moved, so the view changed once more; nothing was re-probed from scratch.
            #expect(views.count == 2)
        }
        await a.stop()
    }

    @Test func noneChecksAreUpAndNeverProbed() async throws {
        let prober = Prober(logger: LogRecorder().logger, stateFile: nil, onChange: { _ in })
        let k = TargetKey(address: "127.42.7.5", check: fast(.none, port: 80))
        let ids = await prober.setTargets([k: ["p"]])
        let started = ContinuousClock.now
        await prober.firstRound(within: .seconds(2))
        #expect(ContinuousClock.now - started < .milliseconds(500))
        #expect(await prober.view.state(ids[k]!) == .up)
        #expect(await prober.status().first?.lastResult == nil)
    }

    @Test func firstRoundIsBoundedByItsLimit() async throws {
        let backlog = try FullBacklog(host: "127.42.7.6")
        let prober = Prober(logger: LogRecorder().logger, stateFile: nil, onChange: { _ in })
        let k = TargetKey(
            address: "127.42.7.6",
            check: fast(.tcp, port: backlog.port) {
                $0.interval = .seconds(5); $0.timeout = .seconds(5)
            })
        let ids = await prober.setTargets([k: ["p"]])
        try await withRunning(prober) {
            let started = ContinuousClock.now
            await prober.firstRound(within: .milliseconds(300))
            let elapsed = ContinuousClock.now - started
            // Well before the probe's own 5 s timeout.
            #expect(elapsed >= .milliseconds(290) && elapsed < .seconds(8))
            #expect(await prober.view.state(ids[k]!) == .unknown)
        }
        withExtendedLifetime(backlog) {}
    }
}
