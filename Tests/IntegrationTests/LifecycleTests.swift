// The process around the answers: the config file as the only source of settings, config errors,
// and SIGTERM.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Config file and process lifecycle")
struct LifecycleTests {
    @Test("serve --config alone: listen and zones (a plain string) come from the file")
    func configOnly() async throws {
        try await withCarousel(config: "max_udp_payload: 1232", configOnly: true) { server in
            let response = try await Dig.query(server.endpoint, "www.example.test", "A")
            #expect(response.status == "NOERROR" && response.answer.count == 2, "\(response)\n\(server.log)")
        }
    }

    @Test("the origin comes from the SOA owner, else from the file name")
    func origins() async throws {
        try await withCarousel(zones: [Fixtures.root.appendingPathComponent("origins").path]) { server in
            for (name, address) in [("www.byname.test", "192.0.2.7"), ("www.bysoa.test", "192.0.2.8")] {
                let response = try await Dig.query(server.endpoint, name, "A")
                #expect(response.status == "NOERROR" && response.aa, "\(response)\n\(server.log)")
                #expect(response.answer.map(\.rdata) == [address], "\(response)")
            }
        }
    }

    @Test("--zones names single files too, several times")
    func singleZoneFiles() async throws {
        let zones = [Fixtures.zone("other.test.zone"), Fixtures.zone("child.example.test.zone")]
        try await withCarousel(zones: zones) { server in
            let other = try await Dig.query(server.endpoint, "www.other.test", "A")
            #expect(other.status == "NOERROR" && other.answer.count == 1, "\(other)\n\(server.log)")
            let child = try await Dig.query(server.endpoint, "www.child.example.test", "A")
            #expect(child.status == "NOERROR" && child.answer.count == 1, "\(child)")
            let parent = try await Dig.query(server.endpoint, "www.example.test", "A")
            #expect(parent.status == "REFUSED", "example.test.zone is not served\n\(parent)")
        }
    }

    @Test("check --config: zones relative to the config file")
    func checkConfigRelative() async throws {
        let dir = try TempDir(prefix: "check")
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.path("zones"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: Fixtures.zone("other.test.zone"), toPath: dir.path("zones/other.test.zone"))
        let config = try dir.write("carousel.yaml", "zones: zones\n")
        let result = try await Command.run(CarouselServer.binary, ["check", "--config", config])
        #expect(result.status == 0, "\(result.stderr)")
        try FileManager.default.copyItem(
            atPath: Fixtures.brokenZone("bad-cname.test.zone"), toPath: dir.path("zones/bad-cname.test.zone"))
        let broken = try await Command.run(CarouselServer.binary, ["check", "--config", config])
        #expect(broken.status == 1, "\(broken.stderr)")
        #expect(broken.stderr.contains("bad-cname.test.zone:7: "), "\(broken.stderr)")
    }

    /// A config with two mistakes, on lines 2 and 3.
    static let badConfig = """
        zones: "\(Fixtures.zones)"
        max_udp_payload: 100
        bogus: 1
        """

    @Test("check --config: config errors as file:line: message, exit 1")
    func checkBadConfig() async throws {
        let dir = try TempDir(prefix: "check")
        defer { dir.remove() }
        let config = try dir.write("bad.yaml", Self.badConfig)
        let result = try await Command.run(CarouselServer.binary, ["check", "--config", config])
        #expect(result.status == 1, "\(result.stderr)")
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(
            lines.contains { $0.hasSuffix("bad.yaml:2: max_udp_payload: 100 is out of range 512...65535") },
            "\(result.stderr)")
        #expect(lines.contains { $0.hasPrefix("\(config):3: bogus: unknown key") }, "\(result.stderr)")
    }

    @Test("serve with a broken config exits non-zero and says why")
    func serveBadConfig() async throws {
        let dir = try TempDir(prefix: "serve")
        defer { dir.remove() }
        let config = try dir.write("bad.yaml", Self.badConfig)
        let port = try Ports.free()
        let process = try Spawned(
            executable: CarouselServer.binary,
            arguments: ["serve", "--config", config, "--listen", "127.0.0.1:\(port)"],
            stdout: dir.url.appendingPathComponent("stdout"), stderr: dir.url.appendingPathComponent("stderr"))
        defer { process.stop() }
        let exited = try await offload { process.wait(timeout: 10) }
        let log = (try? String(contentsOfFile: dir.path("stderr"), encoding: .utf8)) ?? ""
        #expect(exited, "still running with a broken config\n\(log)")
        if exited { #expect(process.exitStatus != 0, "\(log)") }
        #expect(log.contains("bad.yaml:3:"), "\(log)")
    }

    @Test("SIGTERM stops the server promptly with status 0")
    func sigterm() async throws {
        let server = try await CarouselServer.start()
        defer { server.stop() }
        let reply = try await UDP.exchange(RawQuery("www.example.test.").bytes, with: server.endpoint)
        #expect(reply != nil)
        kill(server.process.pid, SIGTERM)
        let exited = try await offload { server.process.wait(timeout: 5) }
        #expect(exited, "still running 5 s after SIGTERM\n\(server.log)")
        if exited {
            #expect(server.process.exitedNormally && server.process.exitStatus == 0, "\(server.log)")
        }
    }

    @Test("SIGTERM with an idle TCP client open: exits within the idle timeout")
    func sigtermWithOpenConnection() async throws {
        let server = try await CarouselServer.start(config: "tcp: { idle_timeout: 10s }")
        defer { server.stop() }
        let connection = try TCPConnection(to: server.endpoint)
        try connection.send(RawQuery("www.example.test.").bytes)
        #expect(try await connection.receive() != nil)
        let started = Date()
        kill(server.process.pid, SIGTERM)
        let exited = try await offload { server.process.wait(timeout: 12) }
        let seconds = Date().timeIntervalSince(started)
        #expect(exited, "still running 12 s after SIGTERM\n\(server.log)")
        #expect(seconds < 5, "took \(seconds) s to stop with one idle TCP client\n\(server.log)")
        #expect(try await connection.waitForClose(timeout: 1), "the client's connection is closed")
    }
}
