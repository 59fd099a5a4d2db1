// `carousel serve` as an operator runs it: one directory holding the config, the zone files and
// the state file, an admin listener, and flags of the test's choosing (`--log-format json`), so
// that signals, privilege dropping and the admin API can be tried on a real process.

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

final class ConfiguredCarousel: @unchecked Sendable {
    let endpoint: Endpoint
    let admin: AdminAddress
    let process: Spawned
    let dir: TempDir

    var adminURL: String { admin.url }
    var pid: Int32 { process.pid }
    var configFile: String { dir.path("carousel.yaml") }
    var stateFile: String { dir.path("state/carousel.state") }
    var log: String { (try? String(contentsOfFile: dir.path("stderr"), encoding: .utf8)) ?? "" }
    func zoneFile(_ name: String) -> String { dir.path("zones/\(name)") }

    /// Writes `zones` (file name → text) and a config of `listen`, `zones`, `admin`, `state_file`
    /// and then `config`, and runs `prefix + [carousel, serve, --config, FILE] + arguments`.
    /// `prepare` may change the directory before the start (owners, modes). Waits until the
    /// server answers over UDP and (unless `tcpReady` is false, for tests that check TCP
    /// themselves) over TCP.
    /// `host` is the listening address (a wildcard, `0.0.0.0` or `::`, is reached on 127.0.0.1).
    static func start(
        zones: [String: String], config: String, arguments: [String] = [], prefix: [String] = [],
        tcpReady: Bool = true, host: String = "127.0.0.1", prepare: (TempDir) throws -> Void = { _ in }
    ) async throws -> ConfiguredCarousel {
        var lastError: Error = HarnessError("not started")
        for _ in 0..<3 {  // a port taken between the check and the bind: try another one
            let port = try Ports.free()
            let admin = try AdminAddress()
            let dir = try TempDir(prefix: "configured")
            do {
                try FileManager.default.createDirectory(atPath: dir.path("zones"), withIntermediateDirectories: true)
                try FileManager.default.createDirectory(atPath: dir.path("state"), withIntermediateDirectories: true)
                for (name, text) in zones { try readable(dir.write("zones/\(name)", text)) }
                let yaml = """
                    listen: ["\(host.contains(":") ? "[\(host)]" : host):\(port)"]
                    zones: "\(dir.path("zones"))"
                    \(admin.yaml)
                    state_file: "\(dir.path("state/carousel.state"))"
                    \(config)

                    """
                try readable(dir.write("carousel.yaml", yaml))
                try prepare(dir)
            } catch {
                dir.remove()
                throw error
            }
            var command = prefix + [CarouselServer.binary, "serve", "--config", dir.path("carousel.yaml")] + arguments
            let executable = command.removeFirst()
            let process = try Spawned(
                executable: executable, arguments: command, stdout: dir.url.appendingPathComponent("stdout"),
                stderr: dir.url.appendingPathComponent("stderr"))
            let server = ConfiguredCarousel(
                endpoint: Endpoint(host: ["0.0.0.0", "::"].contains(host) ? "127.0.0.1" : host, port: port),
                admin: admin, process: process, dir: dir)
            do {
                try await server.waitUntilReady(tcp: tcpReady)
                return server
            } catch {
                let log = server.log
                server.stop()
                lastError = HarnessError("carousel \(command.joined(separator: " ")) did not start: \(error)\n\(log)")
                if !log.contains("in use") && !log.lowercased().contains("address already") { throw lastError }
            }
        }
        throw lastError
    }

    private init(endpoint: Endpoint, admin: AdminAddress, process: Spawned, dir: TempDir) {
        self.endpoint = endpoint
        self.admin = admin
        self.process = process
        self.dir = dir
    }

    /// Files written by `TempDir.write` are not necessarily world-readable; a server that drops
    /// to `nobody` must still read its zones and config.
    private static func readable(_ path: String) throws {
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
    }

    /// Polls with a SOA query (any reply will do) over UDP, and TCP when `tcp`, for up to
    /// `timeout` seconds.
    func waitUntilReady(tcp: Bool = true, timeout: Double = 20) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        let probe = RawQuery("example.test.", type: 6).bytes
        var udpAnswered = false
        while true {
            guard process.isRunning else { throw HarnessError("exited with status \(process.exitStatus)") }
            if Date() > deadline {
                throw HarnessError(
                    udpAnswered
                        ? "\(endpoint) answers over UDP but not over TCP within \(timeout) s"
                        : "no answer on \(endpoint) within \(timeout) s")
            }
            if try await UDP.exchange(probe, with: endpoint, timeout: 0.3) != nil {
                udpAnswered = true
                if !tcp { return }
                if (try? await TCPConnection.exchange(probe, with: endpoint, timeout: 1)) != nil { return }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// True once the log contains `text`, polled for up to `timeout` seconds.
    func waitForLog(_ text: String, timeout: Double = 10) async throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !log.contains(text) {
            if Date() > deadline { return false }
            try await Task.sleep(for: .milliseconds(50))
        }
        return true
    }

    /// Sends `signal` and waits up to `timeout` seconds for the exit; returns the seconds it took,
    /// or nil when the process is still running.
    func signalAndWait(_ signal: Int32, timeout: Double) async throws -> Double? {
        let start = ContinuousClock.now
        kill(process.pid, signal)
        let exited = try await offload { self.process.wait(timeout: timeout) }
        return exited ? Poll.seconds(since: start) : nil
    }

    /// The `Uid:` and `Gid:` lines of every thread of the process (`/proc/PID/task/*/status`).
    func threadCredentials() -> [(thread: String, uid: [String], gid: [String])] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.sorted().compactMap { task in
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8) else {
                return nil
            }
            func ids(_ key: String) -> [String] {
                let line = text.split(separator: "\n").first { $0.hasPrefix(key) } ?? ""
                return line.dropFirst(key.count).split(whereSeparator: { $0 == "\t" || $0 == " " }).map(String.init)
            }
            return (task, ids("Uid:"), ids("Gid:"))
        }
    }

    func stop() {
        process.stop()
        dir.remove()
    }
}

/// Runs `body` with a configured carousel, stopped afterwards also when `body` throws.
func withConfiguredCarousel<T>(
    zones: [String: String], config: String, arguments: [String] = [], prefix: [String] = [],
    tcpReady: Bool = true, host: String = "127.0.0.1", prepare: (TempDir) throws -> Void = { _ in },
    _ body: (ConfiguredCarousel) async throws -> T
) async throws -> T {
    let server = try await ConfiguredCarousel.start(
        zones: zones, config: config, arguments: arguments, prefix: prefix, tcpReady: tcpReady, host: host,
        prepare: prepare)
    do {
        let result = try await body(server)
        server.stop()
        return result
    } catch {
        // A server that died under the test is the news, not what failed after it.
        let exited = !server.process.isRunning
        let log = server.log
        server.stop()
        if exited { throw HarnessError("\(error)\ncarousel exited (status \(server.process.exitStatus)):\n\(log)") }
        throw error
    }
}

/// Zone text for the operating tests: `origin` with its SOA (serial `serial`), one NS with its
/// address, and `www` holding `addresses` with TTL 60.
func balancedZone(_ origin: String, serial: Int = 1, addresses: [String]) -> String {
    var text = """
        $ORIGIN \(origin)
        $TTL 300
        @ IN SOA ns1.\(origin) hostmaster.\(origin) \(serial) 3600 600 1209600 60
        @ IN NS ns1.\(origin)
        ns1 IN A 127.0.0.1

        """
    for address in addresses { text += "www 60 IN \(address.contains(":") ? "AAAA" : "A") \(address)\n" }
    return text
}

/// A pool over `www.<origin>` with the issue's fast HTTP check on `port`.
func wwwPool(_ origin: String, ttl: Int = 4, port: UInt16) -> String {
    let name = origin.hasSuffix(".") ? String(origin.dropLast()) : origin
    return """
        pools:
          - name: www.\(name)
            ttl: \(ttl)
            check: \(fastCheck(port: port))
        """
}
