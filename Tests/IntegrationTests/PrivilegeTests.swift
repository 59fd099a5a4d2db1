// `user:` and `group:`: bind as root, then run as nobody:nogroup — every thread, not only the
// main one — and keep serving. As a normal user the keys only earn a warning.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Privilege drop (user:, group:)")
struct PrivilegeTests {
    static let nobody = "65534"
    static let privileged = geteuid() == 0

    static let dropConfig = """
        user: nobody
        group: nogroup
        """

    /// Hands the state directory to nobody, as an operator would (`StateDirectory=` in systemd).
    static func stateDirectoryForNobody(_ dir: TempDir) throws {
        let path = dir.path("state")
        guard chown(path, 65534, 65534) == 0 else {
            throw HarnessError("chown \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// A TCP query over a fresh connection gets its answer. (Every accepted connection of an
    /// unprivileged process must survive its socket options: SO_DEBUG, for one, needs
    /// CAP_NET_ADMIN and fails with EACCES.)
    static func expectTCP(_ server: ConfiguredCarousel, sourceLocation: SourceLocation = #_sourceLocation) async throws
    {
        let tcp = try await Dig.query(server.endpoint, "+tcp", "www.example.net", "A")
        #expect(
            tcp.status == "NOERROR",
            "TCP must keep working without root: the connection was closed or reset\n\(tcp)",
            sourceLocation: sourceLocation)
    }

    /// As root (CI), the server is started as nobody by `setpriv`, as an operator starts it
    /// unprivileged: the test runs either way, never skipped.
    @Test("not root: user and group are ignored with a warning, and serving goes on")
    func notRoot() async throws {
        let unprivileged =
            Self.privileged
            ? [
                try Peers.require("setpriv")[0], "--reuid=\(Self.nobody)", "--regid=\(Self.nobody)", "--clear-groups",
                "--",
            ]
            : []
        let up = "127.0.57.4"
        let backends = try await Backends(addresses: [up])
        defer { backends.stop() }
        let zone = balancedZone("example.net.", addresses: [up])
        let config = Self.dropConfig + "\n" + wwwPool("example.net.", port: backends.port)
        try await withConfiguredCarousel(
            zones: ["example.net.zone": zone], config: config, prefix: unprivileged, tcpReady: false
        ) { server in
            let response = try await Dig.query(server.endpoint, "www.example.net", "A")
            #expect(response.status == "NOERROR" && response.addresses == [up], "\(response)\n\(server.log)")
            try await Self.expectTCP(server)
            #expect(server.log.contains("not running as root"), "a warning says user/group are ignored\n\(server.log)")
        }
    }

    @Test(
        "as root: every thread runs as 65534 after the drop, serving and the state file still work",
        .enabled(if: privileged, "needs root to drop privileges"))
    func dropToNobody() async throws {
        let up = "127.0.57.1"
        let backends = try await Backends(addresses: [up])
        defer { backends.stop() }
        let zone = balancedZone("example.net.", addresses: [up])
        let config = Self.dropConfig + "\n" + wwwPool("example.net.", port: backends.port)
        try await withConfiguredCarousel(
            zones: ["example.net.zone": zone], config: config, tcpReady: false, prepare: Self.stateDirectoryForNobody
        ) { server in
            let response = try await Dig.query(server.endpoint, "www.example.net", "A")
            #expect(response.status == "NOERROR" && response.addresses == [up], "\(response)\n\(server.log)")
            try await Self.expectTCP(server)
            let status = try await Admin.request("GET", server.adminURL + "/status")
            #expect(status.status == 200, "the admin listener too\n\(status.body)")
            #expect(server.log.contains("dropped privileges"), "\(server.log)")
            let threads = server.threadCredentials()
            #expect(threads.count > 1, "several threads: \(threads.map(\.thread))")
            for t in threads {
                #expect(t.uid.count == 4 && t.uid.allSatisfy { $0 == Self.nobody }, "thread \(t.thread) Uid: \(t.uid)")
                #expect(t.gid.count == 4 && t.gid.allSatisfy { $0 == Self.nobody }, "thread \(t.thread) Gid: \(t.gid)")
            }
            // Zones are still readable after the drop: a reload works.
            let reload = try await Admin.request("POST", server.adminURL + "/reload")
            #expect(reload.status == 200 && reload.body.hasPrefix("reloaded\n"), "\(reload.body)")
            // The state file is written by nobody at exit.
            try? FileManager.default.removeItem(atPath: server.stateFile)
            let seconds = try await server.signalAndWait(SIGTERM, timeout: 15)
            #expect(seconds != nil && server.process.exitStatus == 0, "\(server.log)")
            let attributes = try? FileManager.default.attributesOfItem(atPath: server.stateFile)
            #expect(
                (attributes?[.ownerAccountID] as? NSNumber)?.intValue == 65534,
                "the state file is written as nobody at exit: \(attributes ?? [:])\n\(server.log)")
        }
    }

    @Test(
        "as root, a state directory nobody cannot write: serving goes on and the failure is logged",
        .enabled(if: privileged, "needs root to drop privileges"))
    func stateFileNotWritable() async throws {
        let up = "127.0.57.2"
        let down = "127.0.57.3"
        let backends = try await Backends(addresses: [up])
        defer { backends.stop() }
        let zone = balancedZone("example.net.", addresses: [up, down])
        let config = Self.dropConfig + "\n" + wwwPool("example.net.", port: backends.port)
        // The state directory stays root's (0755).
        try await withConfiguredCarousel(zones: ["example.net.zone": zone], config: config, tcpReady: false) { server in
            let response = try await Dig.query(server.endpoint, "www.example.net", "A")
            #expect(response.status == "NOERROR", "\(response)\n\(server.log)")
            // A state change after the drop makes the prober save.
            try await backends.kill(up)
            try await Poll.until("\(up) down", limit: 20) { try await Admin.state(server.adminURL, up) == "down" }
            _ = try await server.waitForLog("state file", timeout: 5)
            let seconds = try await server.signalAndWait(SIGTERM, timeout: 15)
            let log = server.log
            report(
                "state file in a directory nobody cannot write: "
                    + "\(log.split(separator: "\n").filter { $0.contains("state file") })"
            )
            #expect(seconds != nil && server.process.exitStatus == 0, "a clean exit all the same\n\(log)")
            #expect(
                log.contains("state file") && log.contains("cannot write"),
                "the failed save is logged\n\(log)")
            #expect(
                log.components(separatedBy: "cannot write").count - 1 <= 2,
                "logged once per distinct error, not at every change\n\(log)")
        }
    }

    @Test("not root: user/group give a warning, and serving works")
    func unprivilegedWarning() async throws {
        // As root, become nobody before exec (setpriv, util-linux) so the warning path runs too.
        let prefix = Self.privileged ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : []
        let zone = balancedZone("example.net.", addresses: ["192.0.2.1"])
        try await withConfiguredCarousel(
            zones: ["example.net.zone": zone], config: Self.dropConfig, prefix: prefix, tcpReady: false,
            prepare: Self.stateDirectoryForNobody
        ) { server in
            let response = try await Dig.query(server.endpoint, "www.example.net", "A")
            #expect(response.status == "NOERROR" && response.addresses == ["192.0.2.1"], "\(response)\n\(server.log)")
            try await Self.expectTCP(server)
            #expect(
                server.log.contains("not running as root") && server.log.contains("keeping uid"),
                "the warning\n\(server.log)")
            #expect(!server.log.contains("dropped privileges"), "\(server.log)")
        }
    }
}
