// BIND 9.18's `named` as a peer (catalog consumer, XoT secondary and primary): a generated
// named.conf in its own temp directory, checked by named-checkconf, run in the foreground and
// stopped by `withNamed` also when the test throws.

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

final class NamedProcess: @unchecked Sendable {
    let dir: TempDir
    let process: Spawned
    var log: String { (try? String(contentsOfFile: dir.path("stderr"), encoding: .utf8)) ?? "" }

    /// `config` gets the directory (for the paths in named.conf) and returns its text; `files`
    /// (zone files) are written there first.
    init(prefix: String, files: [String: String] = [:], config: (TempDir) -> String) async throws {
        let named = try Peers.require("named")[0]
        let dir = try TempDir(prefix: prefix)
        do {
            let conf = try Self.write(dir, files: files, config: config)
            let check = try await Command.run("named-checkconf", [conf])
            guard check.status == 0 else { throw HarnessError("named-checkconf: \(check.stdout)\(check.stderr)") }
            process = try Spawned(
                executable: named, arguments: ["-g", "-n", "1", "-c", conf],
                stdout: dir.url.appendingPathComponent("stdout"), stderr: dir.url.appendingPathComponent("stderr"))
        } catch {
            dir.remove()
            throw error
        }
        self.dir = dir
    }

    /// Writes new files and named.conf, then reloads named (SIGHUP: config and zones).
    func reload(files: [String: String] = [:], config: (TempDir) -> String) throws {
        _ = try Self.write(dir, files: files, config: config)
        guard kill(process.pid, SIGHUP) == 0 else { throw HarnessError("SIGHUP named: errno \(errno)") }
    }

    private static func write(_ dir: TempDir, files: [String: String], config: (TempDir) -> String) throws -> String {
        for (name, text) in files { _ = try dir.write(name, text) }
        return try dir.write("named.conf", config(dir))
    }

    func stop() {
        process.stop()
        dir.remove()
    }
}

func withNamed<T>(
    prefix: String, files: [String: String] = [:], config: (TempDir) -> String,
    _ body: (NamedProcess) async throws -> T
) async throws -> T {
    let named = try await NamedProcess(prefix: prefix, files: files, config: config)
    defer { named.stop() }
    return try await body(named)
}
