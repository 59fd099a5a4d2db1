import Foundation
import Health
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// `exec` check: runs `command[0]` with the rest as arguments — no shell, so an address never
/// becomes shell syntax — with `CAROUSEL_ADDRESS` and `CAROUSEL_PORT` added to the environment.
/// Exit 0 is up. At the timeout the process and its process group get SIGKILL, so a script's
/// children (`sleep`, `curl`) die with it.
///
/// Started with posix_spawn, not Foundation's `Process`: the child gets only fds 0–2 (on
/// /dev/null; `Process` let the server's sockets leak into every check), an empty signal mask and
/// default signal actions, and a process group of its own. The prober's event loop reaps it with
/// `waitpid(WNOHANG)` and kills it at the deadline, so a busy cooperative pool cannot stretch the
/// timeout.
enum ExecCheck {
    static func run(target: TargetKey, command: [String], on loop: any EventLoop) async -> ProbeResult {
        let check = target.check
        guard let program = command.first, let path = resolve(program) else {
            return .failure("cannot run \(command.first.map(quoted) ?? "an empty command"): not found")
        }
        var env = ProcessInfo.processInfo.environment
        env["CAROUSEL_ADDRESS"] = target.address
        env["CAROUSEL_PORT"] = String(check.port)
        let pid: pid_t
        switch spawn(path, arguments: Array(command.dropFirst()), environment: env) {
        case .success(let child): pid = child
        case .failure(let message): return .failure("cannot run \(quoted(path)): \(message)")
        }
        let child = Child(pid: pid)
        let waited = loop.makePromise(of: Bool.self)  // true: killed at the deadline
        let deadline = NIODeadline.now() + .nanoseconds(check.timing.timeout.nanoseconds)
        // Reaped every 5 ms for the first 50 ms (most checks are that quick), then every 20 ms.
        @Sendable func poll() {
            guard !child.finished else { return }
            if child.reap() { return child.finish(waited, killed: false) }
            if NIODeadline.now() >= deadline {
                child.kill()
                return child.finish(waited, killed: true)
            }
            child.polls += 1
            loop.scheduleTask(in: .milliseconds(child.polls < 10 ? 5 : 20)) { poll() }
        }
        loop.execute { poll() }
        let timedOut = await withTaskCancellationHandler {
            (try? await waited.futureResult.get()) ?? true
        } onCancel: {
            // The target was removed or the prober is stopping: do not leave the process running.
            loop.execute {
                guard !child.finished else { return }
                child.kill()
                child.finish(waited, killed: true)
            }
        }
        if timedOut { return .failure("timeout after \(DurationText.format(check.timing.timeout))") }
        let status = child.status
        if status & 0x7f == 0 {
            let code = (status >> 8) & 0xff
            return code == 0 ? .success("exit 0") : .failure("exit \(code)")
        }
        return .failure("killed by signal \(status & 0x7f)")
    }

    private enum Spawn {
        case success(pid_t)
        case failure(String)
    }

    private static func spawn(_ path: String, arguments: [String], environment: [String: String]) -> Spawn {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        _ = spawnAddCloseFrom(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigfillset(&defaults)
        sigdelset(&defaults, SIGKILL)
        sigdelset(&defaults, SIGSTOP)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in envp { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        return rc == 0 ? .success(pid) : .failure(String(cString: strerror(rc)))
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

/// One spawned check, touched only on the prober's event loop: reaped once, and signalled only
/// until then, so a recycled pid is never hit.
private final class Child: @unchecked Sendable {
    let pid: pid_t
    private(set) var status: Int32 = 0
    private var reaped = false
    /// The promise was completed (it must be, exactly once).
    private(set) var finished = false
    var polls = 0

    func finish(_ promise: EventLoopPromise<Bool>, killed: Bool) {
        finished = true
        promise.succeed(killed)
    }

    init(pid: pid_t) { self.pid = pid }

    /// True once the process has exited (its wait status is in `status`).
    func reap() -> Bool {
        if reaped { return true }
        var raw: Int32 = 0
        let r = waitpid(pid, &raw, WNOHANG)
        if r == pid || (r < 0 && errno == ECHILD) {
            reaped = true
            status = raw
        }
        return reaped
    }

    /// Kills the process group and the process, then reaps it (SIGKILL cannot be ignored, so the
    /// blocking wait is short).
    func kill() {
        guard !reaped else { return }
        _ = Glibc.kill(-pid, SIGKILL)
        _ = Glibc.kill(pid, SIGKILL)
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        reaped = true
        status = raw
    }
}

@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func spawnAddCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32
