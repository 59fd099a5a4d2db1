import Health
import Testing

/// An agent's reply read as HAProxy 2.6 reads it, and the state its words leave.
@Suite("Agents: HAProxy's agent-check replies and the state they leave")
struct AgentReportTests {
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
}
