import Foundation
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// `exec` check: runs `command[0]` with the rest as arguments — no shell, so an address never
/// becomes shell syntax — with `CAROUSEL_ADDRESS` and `CAROUSEL_PORT` added to the environment.
/// Exit 0 is up. At the timeout the process and its process group get SIGKILL, so a script's
/// children (`sleep`, `curl`) die with it.
enum ExecCheck {
    static func run(target: TargetKey, on loop: any EventLoop) async -> ProbeResult {
        let check = target.check
        guard let program = check.command.first, let path = resolve(program) else {
            return .failure("cannot run \(check.command.first.map(quoted) ?? "an empty command"): not found")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = Array(check.command.dropFirst())
        var env = ProcessInfo.processInfo.environment
        env["CAROUSEL_ADDRESS"] = target.address
        env["CAROUSEL_PORT"] = String(check.port)
        process.environment = env
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice

        let exit = ExitWatch()
        let (exits, exited) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        process.terminationHandler = { _ in
            exit.markExited()
            exited.yield()
            exited.finish()
        }
        do {
            try process.run()
        } catch {
            return .failure("cannot run \(quoted(path)): \(error.localizedDescription)")
        }
        exit.started(process.processIdentifier)

        // The deadline runs on the prober's event loop thread, not in the cooperative pool: a
        // busy pool must not let a hung check outlive its timeout.
        let deadline = loop.scheduleTask(in: .nanoseconds(check.timeout.nanoseconds)) { exit.kill() }
        await withTaskCancellationHandler {
            // Ends when the process is reaped (after a kill too), or at once when cancelled.
            for await _ in exits { break }
        } onCancel: {
            // The target was removed or the prober is stopping: do not leave the process running.
            exit.kill()
        }
        deadline.cancel()
        // Foundation on Linux holds an exited Process in a reference cycle that only
        // `waitUntilExit` breaks; once the process has exited it returns at once. Without it every
        // probe leaked the Process and its environment, ~4 KB (LeakSanitizer, Swift 6.3.1).
        defer { if !process.isRunning { process.waitUntilExit() } }
        // After a cancellation the process may still be running: `settle` kills it then, and the
        // process is never asked for its status before it has exited.
        if exit.settle() {
            return .failure("timeout after \(DurationText.format(check.timeout))")
        }
        switch process.terminationReason {
        case .exit:
            let status = process.terminationStatus
            return status == 0 ? .success("exit 0") : .failure("exit \(status)")
        case .uncaughtSignal:
            return .failure("killed by signal \(process.terminationStatus)")
        @unknown default:
            return .failure("ended abnormally")
        }
    }

    /// `sleep` → `/bin/sleep` through `PATH`, as `execvp` would; a path with a slash is used as is.
    static func resolve(_ program: String) -> String? {
        if program.contains("/") { return access(program, X_OK) == 0 ? program : nil }
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
        for dir in dirs {
            let candidate = "\(dir)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

/// Who gets to signal the pid: the killer only until the process is reported exited, so a
/// recycled pid is not hit.
private final class ExitWatch: @unchecked Sendable {
    // @unchecked: every field is only touched under `lock`.
    private let lock = NSLock()
    private var pid: pid_t = 0
    private var exited = false
    private var killed = false

    func started(_ pid: pid_t) { lock.withLock { self.pid = pid } }
    func markExited() { lock.withLock { exited = true } }

    /// Kills the process group (Foundation starts each child in its own group) and the process.
    func kill() {
        lock.withLock { killLocked() }
    }

    /// Kills the process unless it has exited; true when it was killed (now or earlier).
    func settle() -> Bool {
        lock.withLock {
            killLocked()
            return killed
        }
    }

    private func killLocked() {
        guard !exited, !killed, pid > 0 else { return }
        killed = true
        _ = Glibc.kill(-pid, SIGKILL)
        _ = Glibc.kill(pid, SIGKILL)
    }
}
