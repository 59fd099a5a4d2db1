import Foundation
import Health
import Testing

@testable import Prober

@Suite struct StateFileTests {
    func tcp(port: Int) -> Check {
        var c = CheckFields()
        c.type = .tcp
        c.port = port
        c.interval = .seconds(1)
        c.timeout = .seconds(1)
        c.rise = 2
        c.fall = 2
        return c.check
    }

    @Test func statesCarryAcrossARestart() async throws {
        let dir = try TempDir()
        let path = dir.path + "/carousel.state"
        let live = try await TestHTTPServer(host: "127.42.8.1") { _ in .status(200) }.start()
        let kLive = TargetKey(address: "127.42.8.1", check: tcp(port: live.port))
        let kDead = TargetKey(address: "127.42.8.2", check: tcp(port: 9))
        let targets = [kLive: ["p"], kDead: ["p"]]

        let first = Prober(logger: LogRecorder().logger, stateFile: path, onChange: { _ in })
        await first.setTargets(targets)
        try await withRunning(first) {
            await first.firstRound(within: .seconds(2))
        }
        await live.stop()
        let file = try #require(try StateFile.load(path))
        #expect(file.targets.map(\.address) == ["127.42.8.1", "127.42.8.2"])
        #expect(file.targets.map(\.state) == ["up", "down"])
        #expect(file.targets.allSatisfy { $0.check == "tcp:\($0.address == "127.42.8.1" ? live.port : 9)" })
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))

        // A new prober starts from the saved states, without probing and without waiting.
        let views = ViewLog()
        let second = Prober(logger: LogRecorder().logger, stateFile: path, onChange: views.append)
        let ids = await second.setTargets(targets)
        #expect(await second.view.state(ids[kLive]!) == .up)
        #expect(await second.view.state(ids[kDead]!) == .down)
        #expect(!(await second.view.isUp(ids[kDead]!)))
        #expect(views.count == 1)
        let started = ContinuousClock.now
        await second.firstRound(within: .seconds(2))
        #expect(ContinuousClock.now - started < .milliseconds(500))
        let since = file.targets.first { $0.address == "127.42.8.2" }?.since
        #expect(await second.status().first { $0.address == "127.42.8.2" }?.since == since)
    }

    @Test func statesOlderThanAnHourAreIgnored() async throws {
        let dir = try TempDir()
        let path = dir.path + "/carousel.state"
        let iso = ISO8601DateFormatter()
        let now = Date()
        let text = """
            {
              "version": 1,
              "written": "\(iso.string(from: now - 7200))",
              "targets": [
                { "address": "127.42.9.1", "check": "tcp:9", "state": "down",
                  "since": "\(iso.string(from: now - 9000))", "checked": "\(iso.string(from: now - 7200))" },
                { "address": "127.42.9.2", "check": "tcp:9", "state": "down",
                  "since": "\(iso.string(from: now - 9000))", "checked": "\(iso.string(from: now - 60))" }
              ],
              "drained": ["127.42.9.1"]
            }
            """
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let log = LogRecorder()
        let prober = Prober(logger: log.logger, stateFile: path, onChange: { _ in })
        let old = TargetKey(address: "127.42.9.1", check: tcp(port: 9))
        let fresh = TargetKey(address: "127.42.9.2", check: tcp(port: 9))
        let ids = await prober.setTargets([old: ["p"], fresh: ["p"]])
        #expect(await prober.view.state(ids[old]!) == .unknown)
        #expect(await prober.view.state(ids[fresh]!) == .down)
        #expect(await prober.view.isDrained(ids[old]!))
        #expect(!(await prober.view.isDrained(ids[fresh]!)))
        #expect(log.messages.contains { $0.text.contains("1 states to restore, 1 older than 1h ignored, 1 drained") })
    }

    @Test func drainingIsPublishedAndSaved() async throws {
        let dir = try TempDir()
        let path = dir.path + "/carousel.state"
        let views = ViewLog()
        let prober = Prober(logger: LogRecorder().logger, stateFile: path, onChange: views.append)
        let k = TargetKey(address: "127.42.9.3", check: tcp(port: 9))
        let ids = await prober.setTargets([k: ["p"]])
        await prober.setDrained("127.42.9.3", true)
        #expect(await prober.view.isDrained(ids[k]!))
        #expect(views.count == 1)
        #expect(try StateFile.load(path)?.drained == ["127.42.9.3"])
        await prober.setDrained("127.42.9.3", true)
        #expect(views.count == 1)
        await prober.setDrained("127.42.9.3", false)
        #expect(!(await prober.view.isDrained(ids[k]!)))
        #expect(try StateFile.load(path)?.drained == [])
        #expect(views.count == 2)
    }

    @Test func drainMarksTakeTheNewestAndSurviveARestart() async throws {
        let dir = try TempDir()
        let path = dir.path + "/carousel.state"
        let prober = Prober(logger: LogRecorder().logger, stateFile: path, onChange: { _ in })
        let k = TargetKey(address: "127.42.9.4", check: tcp(port: 9))
        let ids = await prober.setTargets([k: ["p"]])
        // A peer's drain, then an older undrain from another peer (ignored), then a newer one.
        #expect(await prober.setDrained("127.42.9.4", true, mark: DrainMark(drained: true, at: 5000, by: "ns2")))
        #expect(!(await prober.setDrained("127.42.9.4", false, mark: DrainMark(drained: false, at: 4000, by: "ns3"))))
        #expect(await prober.view.isDrained(ids[k]!))
        // Same time: the member id breaks the tie.
        #expect(!(await prober.setDrained("127.42.9.4", false, mark: DrainMark(drained: false, at: 5000, by: "ns1"))))
        #expect(
            await prober.setDrained(
                "www.example.com/127.42.9.5", true, mark: DrainMark(drained: true, at: 6000, by: "ns3")))
        // An order given here is always the newest, even against a clock behind the peers'.
        #expect(await prober.setDrained("127.42.9.4", false, by: "ns1"))
        #expect(!(await prober.view.isDrained(ids[k]!)))
        let marks = await prober.drainLog
        #expect(marks["127.42.9.4"]?.by == "ns1" && marks["127.42.9.4"]?.drained == false)
        #expect(marks["www.example.com/127.42.9.5"] == DrainMark(drained: true, at: 6000, by: "ns3"))
        // Kept in the state file: a restarted prober holds the same marks and drains.
        let again = Prober(logger: LogRecorder().logger, stateFile: path, onChange: { _ in })
        #expect(await again.drainLog == marks)
        #expect(await again.drainedAddresses == ["www.example.com/127.42.9.5"])
    }

    @Test func aCorruptFileIsReportedAndIgnored() async throws {
        let dir = try TempDir()
        let path = dir.path + "/carousel.state"
        try "not json".write(toFile: path, atomically: true, encoding: .utf8)
        let log = LogRecorder()
        let prober = Prober(logger: log.logger, stateFile: path, onChange: { _ in })
        #expect(await prober.status().isEmpty)
        #expect(
            log.messages.contains {
                $0.level == .warning && $0.text.hasPrefix("state file \(path): not a Carousel state file")
            })
    }
}
