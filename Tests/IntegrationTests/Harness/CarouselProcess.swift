// Starts the built `carousel` binary on free loopback ports and stops it whatever the test does.

import Foundation

enum Fixtures {
    /// `Tests/IntegrationTests/Fixtures` as copied into the test bundle.
    static var root: URL {
        guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            fatalError("the Fixtures resource folder is missing from the test bundle")
        }
        return url
    }
    static var zones: String { root.appendingPathComponent("zones").path }
    static var broken: String { root.appendingPathComponent("broken").path }
    static func zone(_ name: String) -> String { root.appendingPathComponent("zones/\(name)").path }
    static func brokenZone(_ name: String) -> String { root.appendingPathComponent("broken/\(name)").path }
}

/// A running `carousel serve`.
final class CarouselServer: @unchecked Sendable {
    let endpoints: [Endpoint]
    let process: Spawned
    let dir: TempDir

    var endpoint: Endpoint { endpoints[0] }
    var log: String { (try? String(contentsOfFile: dir.path("stderr"), encoding: .utf8)) ?? "" }
    var isRunning: Bool { process.isRunning }

    /// The built binary: next to the test bundle in the build directory.
    static var binary: String {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("carousel").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        if let bundle = Bundle.allBundles.first(where: { $0.bundlePath.hasSuffix(".xctest") }) {
            let candidate = URL(fileURLWithPath: bundle.bundlePath).deletingLastPathComponent()
                .appendingPathComponent("carousel").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return exe.deletingLastPathComponent().appendingPathComponent("carousel").path
    }

    /// Starts a server on a free port of each host and waits until it answers over UDP and TCP.
    /// `config` is the YAML body without `listen` and `zones`, which are filled in here. With
    /// `configOnly`, listen addresses and zones are given only in the config file, not as flags.
    static func start(
        zones: [String] = [Fixtures.zones], config: String? = nil, hosts: [String] = ["127.0.0.1"],
        threads: Int = 1, configOnly: Bool = false
    ) async throws -> CarouselServer {
        var lastError: Error = HarnessError("not started")
        for _ in 0..<3 {  // a port taken between the check and the bind: try another one
            do {
                return try await attempt(
                    zones: zones, config: config, hosts: hosts, threads: threads, configOnly: configOnly)
            } catch let error as StartError {
                lastError = error
            }
        }
        throw lastError
    }

    struct StartError: Error, CustomStringConvertible {
        var description: String
    }

    private static func attempt(zones: [String], config: String?, hosts: [String], threads: Int, configOnly: Bool)
        async throws -> CarouselServer
    {
        let port = try Ports.free(hosts: hosts)
        let endpoints = hosts.map { Endpoint(host: $0, port: port) }
        let dir = try TempDir(prefix: "carousel")
        var arguments = ["serve", "--threads", "\(threads)"]
        if !configOnly {
            for zone in zones { arguments += ["--zones", zone] }
            for endpoint in endpoints { arguments += ["--listen", endpoint.listen] }
        }
        if config != nil || configOnly {
            let listen = endpoints.map { "\"\($0.listen)\"" }.joined(separator: ", ")
            // one directory as a plain string, several as a list: the config accepts both
            let zoneList =
                zones.count == 1 ? "\"\(zones[0])\"" : "[" + zones.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
            let yaml = "listen: [\(listen)]\nzones: \(zoneList)\n\(config ?? "")\n"
            arguments += ["--config", try dir.write("carousel.yaml", yaml)]
        }
        let process = try Spawned(
            executable: binary, arguments: arguments, stdout: dir.url.appendingPathComponent("stdout"),
            stderr: dir.url.appendingPathComponent("stderr"))
        let server = CarouselServer(endpoints: endpoints, process: process, dir: dir)
        do {
            try await server.waitUntilReady()
            let foreign = Ports.foreignSockets(port: port, pid: process.pid)
            if !foreign.isEmpty {
                server.stop()
                throw StartError(description: "port \(port) is shared with another process: \(foreign)")
            }
        } catch let error as StartError {
            throw error
        } catch {
            let log = server.log
            server.stop()
            if log.contains("in use") || log.lowercased().contains("address already") {
                throw StartError(description: "port \(port) taken: \(log)")
            }
            throw HarnessError("carousel \(arguments.joined(separator: " ")) did not start: \(error)\n\(log)")
        }
        return server
    }

    private init(endpoints: [Endpoint], process: Spawned, dir: TempDir) {
        self.endpoints = endpoints
        self.process = process
        self.dir = dir
    }

    /// Polls with a SOA query (any reply will do: the zones may not contain the name) for up to 10 s.
    func waitUntilReady(timeout: Double = 30) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        let probe = RawQuery("example.test.", type: 6).bytes
        for endpoint in endpoints {
            while true {
                guard process.isRunning else { throw HarnessError("exited with status \(process.exitStatus)") }
                if Date() > deadline { throw HarnessError("no answer on \(endpoint) within \(timeout) s") }
                let udp = try? await UDP.exchange(probe, with: endpoint, timeout: 0.2)
                let tcp = udp == nil ? nil : try? await TCPConnection.exchange(probe, with: endpoint, timeout: 1)
                if udp != nil, tcp != nil { break }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Sockets of other processes on our port (see `Ports.foreignSockets`); empty when all is well.
    var foreignSockets: [String] { Ports.foreignSockets(port: endpoint.port, pid: process.pid) }

    func stop() {
        process.stop()
        dir.remove()
    }
}

/// Runs `body` with a fresh server and stops the server afterwards, also when `body` throws.
func withCarousel<T>(
    zones: [String] = [Fixtures.zones], config: String? = nil, hosts: [String] = ["127.0.0.1"], threads: Int = 1,
    configOnly: Bool = false, _ body: (CarouselServer) async throws -> T
) async throws -> T {
    let server = try await CarouselServer.start(
        zones: zones, config: config, hosts: hosts, threads: threads, configOnly: configOnly)
    do {
        let result = try await body(server)
        server.stop()
        return result
    } catch {
        server.stop()
        throw error
    }
}

/// One server on the fixture zones with the default configuration, shared by the read-only tests
/// and stopped when the test runner exits.
actor SharedCarousel {
    static let shared = SharedCarousel()
    private var starting: Task<CarouselServer, Error>?

    func endpoint() async throws -> Endpoint {
        if starting == nil {
            starting = Task {
                let server = try await CarouselServer.start(threads: 2)
                Spawned.removeAtExit(server.dir.url)
                return server
            }
        }
        let server = try await starting!.value
        guard server.isRunning else { throw HarnessError("the shared carousel died:\n\(server.log)") }
        return server.endpoint
    }

    /// Sockets of other processes sharing the shared server's port.
    func foreignSockets() async -> [String] {
        guard let starting, let server = try? await starting.value else { return [] }
        return server.foreignSockets
    }

    /// The shared server's log so far, for failure messages.
    func log() async -> String {
        guard let starting, let server = try? await starting.value else { return "" }
        return server.log
    }
}
