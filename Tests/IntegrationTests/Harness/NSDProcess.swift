// Starts NSD 4.6 from Debian on the same fixture zones, as the reference for the differential test.

import Foundation

final class NSDServer: @unchecked Sendable {
    let endpoint: Endpoint
    let process: Spawned
    let dir: TempDir

    var log: String { (try? String(contentsOfFile: dir.path("stderr"), encoding: .utf8)) ?? "" }

    /// `zones` maps each origin to its zone file.
    static func start(zones: [(origin: String, file: String)]) async throws -> NSDServer {
        let nsd = try Peers.require("nsd")[0]
        var lastError: Error = HarnessError("not started")
        for _ in 0..<3 {
            let port = try Ports.free()
            let dir = try TempDir(prefix: "nsd")
            let conf = try dir.write("nsd.conf", config(port: port, dir: dir, zones: zones))
            let check = try await Command.run("nsd-checkconf", [conf])
            guard check.status == 0 else {
                dir.remove()
                throw HarnessError("nsd-checkconf rejects the generated config: \(check.stderr)\(check.stdout)")
            }
            let process = try Spawned(
                executable: nsd, arguments: ["-d", "-c", conf],
                stdout: dir.url.appendingPathComponent("stdout"), stderr: dir.url.appendingPathComponent("stderr"))
            let server = NSDServer(endpoint: Endpoint(host: "127.0.0.1", port: port), process: process, dir: dir)
            do {
                try await server.waitUntilReady()
                return server
            } catch {
                lastError = HarnessError("nsd did not start: \(error)\n\(server.log)")
                server.stop()
            }
        }
        throw lastError
    }

    private init(endpoint: Endpoint, process: Spawned, dir: TempDir) {
        self.endpoint = endpoint
        self.process = process
        self.dir = dir
    }

    private static func config(port: UInt16, dir: TempDir, zones: [(origin: String, file: String)]) -> String {
        var text = """
            server:
                ip-address: 127.0.0.1@\(port)
                port: \(port)
                do-ip6: no
                username: ""
                database: ""
                chroot: ""
                zonelistfile: "\(dir.path("zone.list"))"
                xfrdfile: "\(dir.path("xfrd.state"))"
                xfrdir: "\(dir.url.path)"
                pidfile: "\(dir.path("nsd.pid"))"
                server-count: 1
                rrl-ratelimit: 0
                rrl-whitelist-ratelimit: 0
                minimal-responses: yes
                hide-version: yes
                hide-identity: yes
                verbosity: 1
            remote-control:
                control-enable: no

            """
        for zone in zones {
            text += "zone:\n    name: \"\(zone.origin)\"\n    zonefile: \"\(zone.file)\"\n"
        }
        return text
    }

    /// Waits until NSD answers a SOA query for the first zone (it loads zones after binding).
    private func waitUntilReady(timeout: Double = 10) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        let probe = RawQuery("example.test.", type: 6).bytes
        while Date() < deadline {
            guard process.isRunning else { throw HarnessError("exited with status \(process.exitStatus)") }
            if let reply = try? await UDP.exchange(probe, with: endpoint, timeout: 0.2),
                let message = try? RawMessage(reply), message.rcode == 0, message.ancount == 1
            {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HarnessError("no SOA answer within \(timeout) s")
    }

    func stop() {
        process.stop()
        dir.remove()
    }
}

/// Runs `body` with NSD serving `zones`, stopped afterwards also when `body` throws.
func withNSD<T>(zones: [(origin: String, file: String)], _ body: (NSDServer) async throws -> T) async throws -> T {
    let server = try await NSDServer.start(zones: zones)
    do {
        let result = try await body(server)
        server.stop()
        return result
    } catch {
        server.stop()
        throw error
    }
}
