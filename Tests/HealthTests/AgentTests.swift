import Foundation
import Health
import Testing

@testable import Prober

/// Agents: the reply read as HAProxy 2.6 reads it, the state it leaves, and the prober asking a
/// real agent on loopback.
@Suite("Agents: HAProxy's agent-check replies, weights in the view, slow start")
struct AgentTests {
    func report(_ line: String) -> AgentReport { AgentReport(reply: Array(line.utf8)) }

    @Test(
        "a reply is read as HAProxy reads it",
        arguments: [
            ("75%\n", AgentReport(percent: 75)),
            ("25%\n", AgentReport(percent: 25)),
            ("0%\n", AgentReport(percent: 0)),
            ("150%\n", AgentReport(percent: 150)),
            ("drain\n", AgentReport(admin: .drain)),
            ("DRAIN\n", AgentReport(admin: .drain)),
            ("maint\n", AgentReport(admin: .maint)),
            ("ready\n", AgentReport(admin: .ready)),
            ("down #disk full\n", AgentReport(verdict: .down, description: "disk full")),
            ("down#disk full\n", AgentReport(verdict: .down, description: "disk full")),
            ("up\n", AgentReport(verdict: .up)),
            ("UP\n", AgentReport(verdict: .up)),
            ("fail\n", AgentReport(verdict: .fail)),
            ("failed\n", AgentReport(verdict: .failed)),
            ("stopped\n", AgentReport(verdict: .stopped)),
            ("maxconn:10\n", AgentReport()),
            ("75% drain\n", AgentReport(percent: 75, admin: .drain)),
            ("75%,maxconn:30\n", AgentReport(percent: 75)),
            ("75%\tup\n", AgentReport(percent: 75, verdict: .up)),
            ("ready drain\n", AgentReport(admin: .drain)),
            ("drain ready\n", AgentReport(admin: .ready)),
            ("60%\r\n", AgentReport(percent: 60)),
            ("  40%  \n", AgentReport(percent: 40)),
            ("\n", AgentReport()),
            ("75.5%\n", AgentReport(problem: "trailing garbage in weight 75.5%")),
            ("+75%\n", AgentReport(problem: "unknown word +75%")),
            ("hello 50%\n", AgentReport(percent: 50, problem: "unknown word hello")),
            ("99999%\n", AgentReport(percent: 25600)),
            ("75%", AgentReport(incomplete: true)),
            (
                "63% ready down #check: exit 1\n",
                AgentReport(percent: 63, admin: .ready, verdict: .down, description: "check: exit 1")
            ),
        ])
    func parse(_ line: String, _ expected: AgentReport) {
        #expect(report(line) == expected, "\(line.debugDescription)")
    }

    @Test("the last word of each kind stands until the agent says otherwise; a weight expires after three silent tries")
    func state() {
        var a = AgentState()
        #expect(!a.isOut && a.factor == 1000 && a.word == "up")
        a.take(report("75% drain\n"), line: "75% drain")
        #expect(a.percent == 75 && a.factor == 0 && a.word == "drain" && !a.isOut)
        a.take(report("ready\n"), line: "ready")
        #expect(a.factor == 750 && a.word == "up")
        a.take(report("down #disk full\n"), line: "down #disk full")
        #expect(a.isOut && a.word == "down" && a.description == "disk full" && a.percent == 75)
        a.take(report("up\n"), line: "up")
        #expect(!a.isOut && a.description == nil)
        a.take(report("maint\n"), line: "maint")
        #expect(a.isOut && a.word == "maint")
        a.take(report("ready 40%\n"), line: "ready 40%")
        // Silence: the weight stands for three tries, then the configured weight is back; the
        // administrative state and verdict stay (only the agent undoes them).
        a.missed("connect refused")
        a.missed("connect refused")
        #expect(a.percent == 40 && a.failure == "connect refused")
        a.missed("connect refused")
        #expect(a.percent == 100)
        a.take(report("drain\n"), line: "drain")
        for _ in 0..<5 { a.missed("timeout after 1s") }
        #expect(a.word == "drain" && a.factor == 0)
        // An incomplete line counts as silence and is shown as a problem.
        a.take(report("ready\n"), line: "ready")
        a.take(report("50%"), line: "50%")
        #expect(a.percent == 100 && a.problem == "incomplete line (no CR or LF)")
    }

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
