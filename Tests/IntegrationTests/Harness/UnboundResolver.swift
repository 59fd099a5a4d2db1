// A real Unbound 1.17 (Debian package) on a loopback port, sending one zone to Carousel through
// a `stub-zone` and refusing everything else, so that nothing leaves the machine.

import Foundation

final class UnboundResolver: @unchecked Sendable {
    let endpoint: Endpoint
    let process: Spawned
    let dir: TempDir

    var log: String {
        ["stderr", "unbound.log"].compactMap { try? String(contentsOfFile: dir.path($0), encoding: .utf8) }
            .joined()
    }

    /// Starts Unbound with `zone` (e.g. `example.net.`) stubbed to `authority`, and waits until
    /// a query for the zone's SOA comes back NOERROR through it.
    /// With `clientSubnet`, Unbound sends Carousel the client's /24 (or /56) in ECS and caches
    /// answers per subnet (`subnetcache`).
    /// With `trustAnchor` (a DS record, as `dnssec-dsfromkey` prints it), Unbound validates the
    /// zone from that anchor (module `validator`): answers come with AD=1, or SERVFAIL when bogus.
    static func start(
        zone: String, authority: Endpoint, clientSubnet: Bool = false, trustAnchor: String? = nil,
        anyAnswer: Bool = false
    ) async throws -> UnboundResolver {
        let unbound = try Peers.require("unbound")[0]
        var lastError: Error = HarnessError("not started")
        for _ in 0..<3 {
            let port = try Ports.free()
            let dir = try TempDir(prefix: "unbound")
            let conf = try dir.write(
                "unbound.conf",
                config(
                    port: port, dir: dir, zone: zone, authority: authority, clientSubnet: clientSubnet,
                    trustAnchor: trustAnchor))
            let check = try await Command.run("unbound-checkconf", [conf])
            guard check.status == 0 else {
                dir.remove()
                throw HarnessError("unbound-checkconf rejects the generated config: \(check.stderr)\(check.stdout)")
            }
            // Default signal state, so that SIGTERM stops it at once (Spawned gives every child that).
            let process = try Spawned(
                executable: unbound, arguments: ["-d", "-c", conf], stdout: dir.url.appendingPathComponent("stdout"),
                stderr: dir.url.appendingPathComponent("stderr"))
            let resolver = UnboundResolver(
                endpoint: Endpoint(host: "127.0.0.1", port: port), process: process, dir: dir)
            do {
                try await resolver.waitUntilReady(zone: zone, anyAnswer: anyAnswer)
                return resolver
            } catch {
                lastError = HarnessError("unbound did not start: \(error)\n\(resolver.log)")
                resolver.stop()
            }
        }
        throw lastError
    }

    private init(endpoint: Endpoint, process: Spawned, dir: TempDir) {
        self.endpoint = endpoint
        self.process = process
        self.dir = dir
    }

    /// The configuration of the README's snippet, plus what a test instance needs: no daemon, no
    /// chroot or user switch, files in the temp directory, queries to 127.0.0.1 allowed.
    static func config(
        port: UInt16, dir: TempDir, zone: String, authority: Endpoint, clientSubnet: Bool = false,
        trustAnchor: String? = nil
    ) -> String {
        let modules =
            (clientSubnet ? "subnetcache " : "") + (trustAnchor != nil ? "validator " : "") + "iterator"
        let subnet =
            clientSubnet
            ? """
                send-client-subnet: \(authority.host)
                max-client-subnet-ipv4: 24
                max-client-subnet-ipv6: 56
            """ : ""
        return """
            server:
                interface: 127.0.0.1
                port: \(port)
                do-ip6: no
                do-daemonize: no
                username: ""
                chroot: ""
                directory: "\(dir.url.path)"
                pidfile: "\(dir.path("unbound.pid"))"
                use-syslog: no
                logfile: "\(dir.path("unbound.log"))"
                verbosity: 1
                num-threads: 1
                module-config: "\(modules)"
            \(subnet)
            \(trustAnchor.map { "    trust-anchor: \"\($0)\"\n    val-log-level: 2\n" } ?? "")
                do-not-query-localhost: no
                # Nothing but the zone, and that only from Carousel: no traffic leaves this machine.
                local-zone: "." refuse
                local-zone: "\(zone)" transparent
            remote-control:
                control-enable: no
            stub-zone:
                name: "\(zone)"
                stub-addr: \(authority.host)@\(authority.port)

            """
    }

    /// `anyAnswer`: ready once Unbound answers at all (a SERVFAIL for a bogus zone counts).
    private func waitUntilReady(zone: String, anyAnswer: Bool, timeout: Double = 20) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            guard process.isRunning else { throw HarnessError("exited with status \(process.exitStatus)") }
            let response = try await Dig.query(endpoint, zone, "SOA")
            if response.status == "NOERROR", !response.answer.isEmpty { return }
            if anyAnswer, response.status != nil { return }
            if Date() > deadline { throw HarnessError("no SOA answer within \(timeout) s; the last:\n\(response)") }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    func stop() {
        process.stop()
        dir.remove()
    }
}

/// Runs `body` with Unbound in front of `authority`, stopped afterwards also when `body` throws.
func withUnbound<T>(
    zone: String, authority: Endpoint, clientSubnet: Bool = false, trustAnchor: String? = nil,
    _ body: (UnboundResolver) async throws -> T
) async throws -> T {
    let resolver = try await UnboundResolver.start(
        zone: zone, authority: authority, clientSubnet: clientSubnet, trustAnchor: trustAnchor)
    do {
        let result = try await body(resolver)
        resolver.stop()
        return result
    } catch {
        resolver.stop()
        throw error
    }
}
