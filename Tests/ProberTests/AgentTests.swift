import Foundation
import Health
import Testing

@testable import Prober

/// Agents in the prober: a real agent on loopback asked, its weight and word in the view, slow
/// start (how a reply is read is HealthTests' AgentReportTests).
@Suite("Agents: weights in the view, slow start")
struct AgentTests {
    func report(_ line: String) -> AgentReport { AgentReport(reply: Array(line.utf8)) }

    func agentKey(_ host: String, port: Int) -> TargetKey {
        TargetKey(
            address: host,
            check: AgentCheck(port: port, interval: .milliseconds(200), timeout: .milliseconds(500)).check)
    }

    @Test("the prober asks a real agent: its weight and word reach the view, its silence keeps them")
    func prober() async throws {
        let agent = try await TestAgent(host: "127.42.12.1", reply: "75%\n").start()
        let prober = Prober(logger: LogRecorder().logger, stateFile: nil, onChange: { _ in })
        let key = agentKey("127.42.12.1", port: agent.port)
        let id = try #require(await prober.setTargets([key: ["www.example.com"]])[key])
        try await withRunning(prober) {
            #expect(await eventually(within: .seconds(5)) { await prober.view.factor(id) == 750 })
            #expect(await prober.view.state(id) == .up)
            agent.reply = "drain\n"
            #expect(await eventually(within: .seconds(5)) { await prober.view.factor(id) == 0 })
            agent.reply = "ready 100% down #disk full\n"
            #expect(await eventually(within: .seconds(5)) { await prober.view.state(id) == .down })
            let status = try #require(await prober.status().first { $0.id == id })
            #expect(status.agent?.description == "disk full" && status.agent?.word == "down")
            agent.reply = "up 30%\n"
            #expect(await eventually(within: .seconds(5)) { await prober.view.factor(id) == 300 })
            // Silence: 30 % for three tries, then 100 %.
            await agent.stop()
            #expect(await eventually(within: .seconds(8)) { await prober.view.factor(id) == 1000 })
            #expect(await prober.view.state(id) == .up)
        }
        await agent.shutdown()
    }

    @Test("slow start: a target that comes back ramps from 10 % to its full weight over the window")
    func slowStart() async throws {
        let server = try await TestHTTPServer(host: "127.42.12.2") { _ in .status(200) }.start()
        let port = server.port
        #expect(port > 0)
        let prober = Prober(logger: LogRecorder().logger, stateFile: nil, onChange: { _ in })
        let key = TargetKey(
            address: "127.42.12.2",
            check: Check(
                kind: .tcp, port: port,
                timing: Timing(interval: .milliseconds(100), timeout: .milliseconds(200), rise: 1, fall: 1)))
        let id = try #require(await prober.setTargets([key: ["www"]], slowStarts: [key: .seconds(4)])[key])
        try await withRunning(prober) {
            #expect(await eventually(within: .seconds(5)) { await prober.view.state(id) == .up })
            // Up from unknown at start: no ramp.
            #expect(await prober.view.factor(id) == 1000)
            await server.stop()
            #expect(await eventually(within: .seconds(5)) { await prober.view.state(id) == .down })
            try await server.start()
            #expect(await eventually(within: .seconds(5)) { await prober.view.state(id) == .up })
            let early = await prober.view.factor(id)
            #expect(early >= 100 && early < 700, "factor \(early) just after coming back")
            #expect(await eventually(within: .seconds(3)) { await prober.view.factor(id) >= 500 })
            #expect(await eventually(within: .seconds(6)) { await prober.view.factor(id) == 1000 })
            #expect(await prober.status().first { $0.id == id }?.rampEnds == nil)
        }
        await server.stop()
    }
}
