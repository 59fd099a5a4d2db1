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
/// so that an exit of the test runner still stops it (see `killAllAtExit`).
final class Spawned: @unchecked Sendable {
    let process = Process()
    let name: String

    init(executable: String, arguments: [String], stdout: URL, stderr: URL) throws {
        name = URL(fileURLWithPath: executable).lastPathComponent
        for file in [stdout, stderr] where !FileManager.default.createFile(atPath: file.path, contents: nil) {
            throw HarnessError("cannot create \(file.path)")
        }
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        // a carousel.yaml in the runner's directory would be read as the default config
        process.currentDirectoryURL = stdout.deletingLastPathComponent()
        process.standardOutput = try FileHandle(forWritingTo: stdout)
        process.standardError = try FileHandle(forWritingTo: stderr)
        Spawned.installExitHandler
        try process.run()
        Spawned.live.withLock { $0[process.processIdentifier] = true }
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
    var exitStatus: Int32 { process.terminationStatus }
    /// True when the process called exit (rather than dying of a signal).
    var exitedNormally: Bool { process.terminationReason == .exit }

    /// Waits up to `timeout` seconds for the process to exit; true when it has.
    func wait(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline { return false }
            usleep(10_000)
        }
        Spawned.live.withLock { $0[pid] = nil }
        return true
    }

    /// SIGTERM, then SIGKILL after `grace` seconds.
    func stop(grace: Double = 5) {
        guard process.isRunning else {
            Spawned.live.withLock { $0[pid] = nil }
            return
        }
        Glibc.kill(pid, SIGTERM)
        if !wait(timeout: grace) { kill() }
    }

    func kill() {
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
