// Running external programs (carousel, nsd, dig, kdig) from async tests.
//
// Output goes to temporary files, never to pipes: a pipe's write end inherited by a long-running
// server spawned concurrently by another test would keep a reader waiting until that server exits.
// Blocking waits run on their own threads so they never starve Swift's cooperative pool
// (two threads on this machine) while tests run in parallel.

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs `work` on a fresh thread and resumes with its result.
func offload<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try work() }) }
        thread.start()
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The result of one finished command.
struct CommandResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum Command {
    /// The absolute path of `name`, searched in PATH and the usual sbin directories.
    static func which(_ name: String) -> String? {
        if name.hasPrefix("/") { return name }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let dirs = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/local/bin"]
        return dirs.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs a command to completion; a command still running after `timeout` seconds is killed.
    static func run(_ name: String, _ arguments: [String], timeout: Double = 30) async throws -> CommandResult {
        guard let executable = which(name) else { throw HarnessError("\(name) is not installed") }
        return try await offload {
            let dir = try TempDir(prefix: "cmd")
            defer { dir.remove() }
            let out = dir.url.appendingPathComponent("stdout")
            let err = dir.url.appendingPathComponent("stderr")
            let process = try Spawned(executable: executable, arguments: arguments, stdout: out, stderr: err)
            if !process.wait(timeout: timeout) {
                process.kill()
                throw HarnessError("\(name) \(arguments.joined(separator: " ")) did not finish in \(timeout) s")
            }
            return CommandResult(
                status: process.exitStatus,
                stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
        }
    }
}

/// A temporary directory, removed by `remove()`.
struct TempDir: Sendable {
    let url: URL
    init(prefix: String) throws {
        let base = FileManager.default.temporaryDirectory
        url = base.appendingPathComponent("carousel-itest-\(prefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    func write(_ name: String, _ text: String) throws -> String {
        let file = url.appendingPathComponent(name)
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }
    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// A child process whose stdout and stderr go to files. Every live one is listed in `Spawned.live`
/// so that an exit of the test runner still stops it (see `installExitHandler`).
///
/// Started with posix_spawn rather than Foundation's `Process`: the child gets what a shell or a
/// service manager gives it — an empty signal mask and default actions (the runner's Dispatch
/// threads block nearly every signal, and a child inherits that across exec), only fds 0–2 open,
/// and its own directory — and the harness reaps it itself with `waitpid(pid)`, so an exit is
/// seen at once. (`Process` reaps on a Dispatch source of its own; under load it was seen to
/// report a child that had long exited as running, and to crash inside `run()`.)
final class Spawned: @unchecked Sendable {
    let name: String
    let pid: Int32
    /// The raw wait status once reaped.
    private let reaped = Locked<Int32?>(nil)

    init(executable: String, arguments: [String], stdout: URL, stderr: URL) throws {
        name = URL(fileURLWithPath: executable).lastPathComponent
        for file in [stdout, stderr] where !FileManager.default.createFile(atPath: file.path, contents: nil) {
            throw HarnessError("cannot create \(file.path)")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout.path, O_WRONLY | O_APPEND, 0)
        posix_spawn_file_actions_addopen(&actions, 2, stderr.path, O_WRONLY | O_APPEND, 0)
        _ = spawnAddCloseFrom(&actions, 3)
        // a carousel.yaml in the runner's directory would be read as the default config
        _ = spawnAddChdir(&actions, stdout.deletingLastPathComponent().path)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGTERM, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM] {
            sigaddset(&defaults, s)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, &attributes, argv, environ)
        guard rc == 0 else { throw HarnessError("cannot start \(executable): \(String(cString: strerror(rc)))") }
        pid = child
        Spawned.installExitHandler
        Spawned.live.withLock { $0[pid] = true }
    }

    /// Reaps the child if it has exited; its wait status then.
    private func poll() -> Int32? {
        reaped.withLock { status in
            if status != nil { return status }
            var raw: Int32 = 0
            if waitpid(pid, &raw, WNOHANG) == pid {
                status = raw
                Spawned.live.withLock { $0[pid] = nil }
            }
            return status
        }
    }

    var isRunning: Bool { poll() == nil }
    /// The exit code, or the signal number when it died of one (as Foundation's Process reports it).
    var exitStatus: Int32 {
        guard let raw = poll() else { return -1 }
        return exitedNormally ? (raw >> 8) & 0xff : raw & 0x7f
    }
    /// True when the process called exit (rather than dying of a signal).
    var exitedNormally: Bool {
        guard let raw = poll() else { return false }
        return raw & 0x7f == 0
    }

    /// Waits up to `timeout` seconds for the process to exit; true when it has.
    func wait(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning {
            if Date() > deadline { return false }
            usleep(5_000)
        }
        return true
    }

    /// SIGTERM, then SIGKILL after `grace` seconds.
    func stop(grace: Double = 5) {
        guard isRunning else { return }
        Glibc.kill(pid, SIGTERM)
        if !wait(timeout: grace) { kill() }
    }

    func kill() {
        guard isRunning else { return }
        Glibc.kill(pid, SIGKILL)
        _ = wait(timeout: 5)
    }

    static let live = Locked<[Int32: Bool]>([:])
    private static let leftovers = Locked<[URL]>([])

    /// Removes a directory when the test runner exits (after its processes are killed).
    static func removeAtExit(_ url: URL) { leftovers.withLock { $0.append(url) } }

    private static let installExitHandler: Void = {
        atexit {
            for pid in Spawned.live.withLock({ Array($0.keys) }) { Glibc.kill(pid, SIGKILL) }
            for url in Spawned.leftovers.withLock({ $0 }) { try? FileManager.default.removeItem(at: url) }
        }
    }()
}

// glibc ≥ 2.29 and 2.34 have these; Swift's Glibc module does not import them (GNU extensions).
@_silgen_name("posix_spawn_file_actions_addchdir_np")
private func spawnAddChdir(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: UnsafePointer<CChar>)
    -> Int32
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func spawnAddCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32

/// A value behind a lock.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
