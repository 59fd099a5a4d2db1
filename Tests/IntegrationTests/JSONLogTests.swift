// `--log-format json` for log shippers: every line on stderr is one JSON object with `ts`,
// `level`, `label` and `message`, through start, probes (debug), a state change, a reload and
// the stop.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("JSON logs")
struct JSONLogTests {
    static let levels: Set = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    @Test("--log-format json: every stderr line parses, with ts, level, label and message")
    func everyLineIsJSON() async throws {
        let up = "127.0.58.1"
        let down = "127.0.58.2"  // nothing listens there: a warning at the first probe
        let backends = try await Backends(addresses: [up])
        defer { backends.stop() }
        let zone = balancedZone("example.net.", addresses: [up, down])
        let server = try await ConfiguredCarousel.start(
            zones: ["example.net.zone": zone], config: wwwPool("example.net.", port: backends.port),
            arguments: ["--log-format", "json", "--log-level", "debug"])
        defer { server.stop() }
        _ = try await Dig.query(server.endpoint, "www.example.net", "A")
        kill(server.pid, SIGHUP)
        #expect(try await server.waitForLog("reload requested", timeout: 10), "\(server.log)")
        try await backends.kill(up)
        try await Poll.until("\(up) down", limit: 20) { try await Admin.state(server.adminURL, up) == "down" }
        let seconds = try await server.signalAndWait(SIGTERM, timeout: 15)
        #expect(seconds != nil && server.process.exitStatus == 0, "\(server.log)")

        let lines = server.log.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.last == "", "the log ends with a newline")
        let records = lines.dropLast()
        #expect(records.count >= 5, "start, probes, reload, state change, stop\n\(server.log)")
        let formatter = ISO8601DateFormatter()
        var levels: Set<String> = []
        for (n, line) in records.enumerated() {
            let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
            guard let object else {
                Issue.record("line \(n + 1) is not a JSON object: \(line)")
                continue
            }
            for key in ["ts", "level", "label", "message"] {
                #expect(object[key] is String, "line \(n + 1) has no string \(key): \(line)")
            }
            #expect((object["ts"] as? String).flatMap(formatter.date(from:)) != nil, "ts is ISO 8601: \(line)")
            let level = object["level"] as? String ?? ""
            #expect(Self.levels.contains(level), "line \(n + 1): level \(level)")
            levels.insert(level)
            #expect(!(object["message"] as? String ?? "").isEmpty, "line \(n + 1): empty message")
            if let metadata = object["metadata"] {
                #expect(metadata is [String: String], "metadata is an object of strings: \(line)")
            }
        }
        #expect(levels.isSuperset(of: ["debug", "info", "warning"]), "probes, events and the failure: \(levels)")
        let messages = records.compactMap {
            ((try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any])?["message"] as? String
        }
        for wanted in ["ready", "reload requested", "stopping", "\(down) "] {
            #expect(messages.contains { $0.contains(wanted) }, "a message with \"\(wanted)\"\n\(server.log)")
        }
    }

    /// The line a log shipper needs most is the one saying why the service did not start.
    @Test("--log-format json: a start that fails on a config error still writes JSON lines")
    func failedStartIsJSON() async throws {
        let dir = try TempDir(prefix: "jsonlog")
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.path("zones"), withIntermediateDirectories: true)
        let config = try dir.write("carousel.yaml", "zones: zones\nbogus: 1\n")
        let port = try Ports.free()
        let result = try await Command.run(
            CarouselServer.binary,
            ["serve", "--config", config, "--listen", "127.0.0.1:\(port)", "--log-format", "json"])
        #expect(result.status == 1, "\(result.stderr)")
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.contains("bogus") }, "the error is reported\n\(result.stderr)")
        for line in lines {
            let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
            #expect(
                object?["message"] is String && object?["level"] is String,
                "not a JSON log line: \(line)")
        }
    }
}
