// Children with the signal state a shell or a service manager gives them.
//
// `Spawned` starts processes from the test runner's threads, whose signal mask blocks nearly
// everything (Dispatch worker threads do) and whose SIGINT and SIGPIPE are ignored; a child
// inherits both across exec. A program that installs no handlers of its own (python's
// http.server, a shell script's `kill`) then never sees SIGTERM. Scripts that manage processes
// with signals, like `scripts/demo`, are started through this shim instead.

import Foundation

extension Spawned {
    /// Runs `executable` with an empty signal mask and default actions for the usual signals,
    /// through a Python one-liner that resets them and execs.
    static func withDefaultSignals(
        executable: String, arguments: [String], stdout: URL, stderr: URL
    ) throws -> Spawned {
        guard let python = Command.which("python3") else { throw HarnessError("python3 is not installed") }
        return try Spawned(
            executable: python, arguments: ["-c", resetAndExec, executable] + arguments, stdout: stdout,
            stderr: stderr)
    }

    private static let resetAndExec = """
        import os, signal, sys
        for s in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGPIPE, signal.SIGTERM, signal.SIGCHLD):
            signal.signal(s, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        os.execvp(sys.argv[1], sys.argv[1:])
        """
}
