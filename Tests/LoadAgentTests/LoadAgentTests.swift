import Foundation
import Health
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import Testing

@testable import LoadAgent

@Suite("carousel agent: the load it reads and the line it sends")
struct LoadAgentTests {
    @Test("/proc/stat: busy is 1 − (idle + iowait) over the interval; guest time is not counted twice")
    func cpu() throws {
        let a = try #require(CPUTimes(procStat: "cpu  100 0 100 700 100 0 0 0 50 0\ncpu0 1 2 3 4\nintr 5\n"))
        #expect(a.total == 1000 && a.idle == 800)
        let b = try #require(CPUTimes(procStat: "cpu  400 0 200 900 100 0 0 0 50 0\n"))
        // 600 jiffies passed, 200 of them idle: two thirds busy.
        #expect(abs(b.busy(since: a) - 400.0 / 600.0) < 1e-9)
        #expect(a.busy(since: a) == 0)
        #expect(CPUTimes(procStat: "intr 5\n") == nil)
    }

    @Test("/proc/meminfo: used is 1 − MemAvailable / MemTotal")
    func memory() {
        let text = "MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    250 kB\n"
        #expect(MemoryUse.used(procMeminfo: text) == 0.75)
        #expect(MemoryUse.used(procMeminfo: "MemFree: 1 kB\n") == nil)
    }

    @Test("the weight is 100 % − the load, by cpu, memory or the higher, clamped to 1–100 %")
    func percent() {
        #expect(AgentReply.percent(cpu: 0.25, memory: 0.5, by: .both) == 50)
        #expect(AgentReply.percent(cpu: 0.25, memory: 0.5, by: .cpu) == 75)
        #expect(AgentReply.percent(cpu: 0.25, memory: 0.5, by: .memory) == 50)
        #expect(AgentReply.percent(cpu: 1, memory: 0, by: .both) == 1)
        #expect(AgentReply.percent(cpu: 0, memory: 0, by: .both) == 100)
    }

    @Test("every line says weight, ready or drain, and up or down with the reason")
    func line() {
        #expect(AgentReply(percent: 63).line == "63% ready up\n")
        #expect(AgentReply(percent: 63, draining: true).line == "63% drain up\n")
        #expect(AgentReply(percent: 5, failure: "check: exit 1").line == "5% ready down #check: exit 1\n")
        #expect(AgentReply(percent: 5, failure: "a\nb").line == "5% ready down #a b\n")
    }

    @Test("the check command: exit 0 passes, anything else is the reason, a hang is cut at the timeout")
    func check() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        #expect(await LoadSampler.runCheck("true", timeout: .seconds(5), on: group) == nil)
        #expect(await LoadSampler.runCheck("exit 3", timeout: .seconds(5), on: group) == "check: exit 3")
        let started = ContinuousClock.now
        #expect(
            await LoadSampler.runCheck("sleep 30", timeout: .milliseconds(300), on: group)
                == "check: timeout after 300ms")
        #expect(ContinuousClock.now - started < .seconds(10))
        try await group.shutdownGracefully()
    }
}

@Suite("carousel agent over TCP")
struct AgentServerTests {
    @Test("every connection gets the current line, ended by a newline, and the agent's close")
    func serves() async throws {
        let drain = FileManager.default.temporaryDirectory.appendingPathComponent("agent-drain-\(getpid())").path
        defer { unlink(drain) }
        let server = AgentServer(
            settings: .init(host: "127.42.13.1", port: 0, interval: .milliseconds(200), drainFile: drain),
            logger: Logger(label: "test"))
        let port = NIOLockedValueBox(0)
        let task = Task { try await server.run { p in port.withLockedValue { $0 = p } } }
        defer { task.cancel() }
        var bound = 0
        for _ in 0..<100 where bound == 0 {
            try await Task.sleep(for: .milliseconds(50))
            bound = port.withLockedValue { $0 }
        }
        try #require(bound != 0)
        let line = try #require(readLine(host: "127.42.13.1", port: bound))
        #expect(line.hasSuffix("% ready up\n"), "\(line)")
        #expect(AgentReport(reply: Array(line.utf8)).percent != nil)
        // The drain file turns the next sample into drain.
        #expect(FileManager.default.createFile(atPath: drain, contents: nil))
        var drained = false
        for _ in 0..<40 where !drained {
            try await Task.sleep(for: .milliseconds(100))
            drained = readLine(host: "127.42.13.1", port: bound)?.contains(" drain ") == true
        }
        #expect(drained)
    }

    /// Connects, reads until the agent closes (at most 1 s), and returns what it sent.
    func readLine(host: String, port: Int) -> String? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return nil }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 256)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
