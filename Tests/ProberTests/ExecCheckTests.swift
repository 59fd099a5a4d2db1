import Foundation
import Health
import NIOPosix
import Testing

@testable import Prober

@Suite struct ExecCheckTests {
    let group = MultiThreadedEventLoopGroup.singleton

    func key(_ address: String, _ command: [String], port: Int = 8080, timeout: Duration = .seconds(2)) -> TargetKey {
        var c = CheckFields()
        c.type = .exec
        c.port = port
        c.command = command
        c.timeout = timeout
        return TargetKey(address: address, check: c.check)
    }

    @Test func exitZeroIsUpAndTheTargetIsInTheEnvironment() async {
        let script = #"test "$CAROUSEL_ADDRESS" = 127.0.0.9 && test "$CAROUSEL_PORT" = 8080"#
        let up = await Probe.run(key("127.0.0.9", ["/bin/sh", "-c", script]), on: group)
        #expect(up.ok && up.reason == "exit 0")
        let down = await Probe.run(key("127.0.0.10", ["/bin/sh", "-c", script]), on: group)
        #expect(!down.ok && down.reason == "exit 1")
    }

    @Test func argumentsAreNotShellSyntax() async {
        // `$CAROUSEL_ADDRESS` reaches `test` as literal text: no shell expands it.
        let r = await Probe.run(key("127.0.0.9", ["test", "$CAROUSEL_ADDRESS", "=", "127.0.0.9"]), on: group)
        #expect(!r.ok && r.reason == "exit 1")
        #expect(await Probe.run(key("127.0.0.9", ["true"]), on: group).ok)
    }

    @Test func theCheckGetsOnlyStandardDescriptors() async throws {
        // No descriptor of the server beyond 0–2 reaches the check, and it gets default signal
        // handling: under Foundation's `Process` a script inherited the server's blocked SIGTERM
        // (and `kill -TERM $$` did nothing), and one of Process's own sockets.
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(fd > 2)
        defer { close(fd) }
        let script = "test ! -e /proc/$$/fd/\(fd) && test -e /proc/$$/fd/0 && test -e /proc/$$/fd/2"
        let r = await Probe.run(key("127.0.0.9", ["/bin/sh", "-c", script]), on: group)
        #expect(r.ok && r.reason == "exit 0", "\(r.reason)")
        let signalled = await Probe.run(key("127.0.0.9", ["/bin/sh", "-c", "kill -TERM $$"]), on: group)
        #expect(!signalled.ok && signalled.reason == "killed by signal 15", "\(signalled.reason)")
    }

    @Test func aMissingProgramFails() async {
        let r = await Probe.run(key("127.0.0.9", ["/nonexistent/check-me"]), on: group)
        #expect(!r.ok && r.reason.hasPrefix("cannot run"))
    }

    @Test func killedAtTheTimeoutWithItsChildren() async throws {
        let dir = try TempDir()
        let pids = dir.path + "/pids"
        // The shell records its pid and its child's; both must be gone after the timeout.
        let script = "echo $$ > \(pids); sleep 10 & echo $! >> \(pids); wait"
        let started = ContinuousClock.now
        let r = await Probe.run(key("127.0.0.9", ["/bin/sh", "-c", script], timeout: .milliseconds(300)), on: group)
        let elapsed = ContinuousClock.now - started
        #expect(!r.ok && r.reason == "timeout after 300ms")
        #expect(elapsed >= .milliseconds(290) && elapsed < .seconds(8))
        let recorded = try String(contentsOfFile: pids, encoding: .utf8).split(separator: "\n").compactMap { Int32($0) }
        #expect(recorded.count == 2)
        let gone = await eventually(within: .seconds(3)) { recorded.allSatisfy(isGone) }
        #expect(gone, "still running: \(recorded.filter { !isGone($0) })")
    }

    @Test func sleepIsKilledAtTheTimeout() async throws {
        let started = ContinuousClock.now
        let r = await Probe.run(key("127.0.0.9", ["sleep", "10"], timeout: .milliseconds(300)), on: group)
        #expect(!r.ok && r.reason == "timeout after 300ms")
        #expect(ContinuousClock.now - started < .seconds(8))
    }
}

/// Gone or a zombie: killed processes can linger as zombies for a moment (NOTES.md).
func isGone(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
    guard let close = stat.lastIndex(of: ")") else { return true }
    let state = stat[stat.index(close, offsetBy: 2)]
    return state == "Z" || state == "X"
}
