// The stop signals a service manager or a terminal sends: SIGTERM and SIGINT stop within 5 s with
// status 0 and leave the state file written. (SIGHUP is in ReloadTests.)

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Signals: stop and save")
struct SignalTests {
    struct StopCase: Sendable, CustomTestStringConvertible {
        var signal: Int32
        var name: String
        var net: Int  // 127.0.<net>.x for this case's backends
        var testDescription: String { name }
    }

    @Test(
        "stop signal → exit 0 within 5 s, the state file written at exit with every target",
        arguments: [
            StopCase(signal: SIGTERM, name: "SIGTERM", net: 55), StopCase(signal: SIGINT, name: "SIGINT", net: 56),
        ])
    func stop(_ c: StopCase) async throws {
        let up = "127.0.\(c.net).1"
        let down = "127.0.\(c.net).2"  // nothing listens there
        let backends = try await Backends(addresses: [up])
        defer { backends.stop() }
        let zone = balancedZone("example.net.", addresses: [up, down])
        let server = try await ConfiguredCarousel.start(
            zones: ["example.net.zone": zone], config: wwwPool("example.net.", port: backends.port))
        defer { server.stop() }
        try await Poll.until("both probed", limit: 20) {
            let status = try await Admin.status(server.adminURL)
            return Admin.member(status, up)?["state"] as? String == "up"
                && Admin.member(status, down)?["state"] as? String == "down"
        }
        // The prober also saves at every state change: start from no file, so that what is
        // found afterwards was written by the stop.
        try FileManager.default.removeItem(atPath: server.stateFile)
        let sent = Date()
        let seconds = try await server.signalAndWait(c.signal, timeout: 15)
        let log = server.log
        guard let seconds else {
            Issue.record("still running 15 s after \(c.name)\n\(log)")
            return
        }
        report("\(c.name): exited after \(secs(seconds))")
        #expect(seconds < 5, "\(c.name) must stop within 5 s; took \(secs(seconds))\n\(log)")
        #expect(
            server.process.exitedNormally && server.process.exitStatus == 0,
            "exit status \(server.process.exitStatus) (normal exit: \(server.process.exitedNormally))\n\(log)")
        #expect(log.contains("stopping") && log.contains(c.name), "the stop is logged\n\(log)")

        let data = FileManager.default.contents(atPath: server.stateFile)
        #expect(data != nil, "no state file after \(c.name)\n\(log)")
        guard let data else { return }
        let json = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        let targets = json["targets"] as? [[String: Any]] ?? []
        let states = Dictionary(
            targets.compactMap { t in (t["address"] as? String).map { ($0, t["state"] as? String ?? "") } },
            uniquingKeysWith: { a, _ in a })
        #expect(states == [up: "up", down: "down"], "\(String(decoding: data, as: UTF8.self))")
        let formatter = ISO8601DateFormatter()
        let written = (json["written"] as? String).flatMap { formatter.date(from: $0) }
        #expect(
            written.map { $0 >= sent.addingTimeInterval(-1) } == true,
            "written at the stop (\(json["written"] ?? "none"), signal sent \(sent))")
    }
}
