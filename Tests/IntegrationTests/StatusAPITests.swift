// `GET /status` as scripts read it: the keys of every zone and every pool member exist and hold
// values that agree with the zone file and with what the backends are doing.

import Foundation
import Testing

@Suite("Status JSON")
struct StatusAPITests {
    /// Zones: origin, serial, records, file, loaded_at. Members: address, state, since,
    /// last_result, latency_ms, successes, failures, in_answers, why.
    @Test(
        "every zone and pool member key is there, with values that agree with the zone file and the backends"
    )
    func keysAndValues() async throws {
        let up = "127.0.53.1"
        let down = "127.0.53.2"  // nothing listens there
        let backends = try await Backends(addresses: [up])
        defer { backends.stop() }
        let zone = balancedZone("example.net.", serial: 2026112507, addresses: [up, down])
        let started = Date()
        try await withConfiguredCarousel(
            zones: ["example.net.zone": zone], config: wwwPool("example.net.", ttl: 4, port: backends.port)
        ) { server in
            // Wait for a second result of each, so both counters have moved past the first probe.
            try await Poll.until("two probes each", limit: 20) {
                let status = try await Admin.status(server.adminURL)
                return (Admin.member(status, up)?["successes"] as? Int ?? 0) >= 2
                    && (Admin.member(status, down)?["failures"] as? Int ?? 0) >= 2
            }
            let reply = try await Admin.request("GET", server.adminURL + "/status")
            #expect(reply.status == 200)
            let status = try #require(try JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any])
            let now = Date()
            let formatter = ISO8601DateFormatter()
            func date(_ value: Any?) -> Date? { (value as? String).flatMap(formatter.date(from:)) }
            // ISO 8601 here has whole seconds: allow one on either side.
            func recent(_ value: Any?) -> Bool {
                guard let d = date(value) else { return false }
                return d >= started.addingTimeInterval(-1) && d <= now.addingTimeInterval(1)
            }

            let zones = status["zones"] as? [[String: Any]] ?? []
            #expect(zones.count == 1, "\(reply.body)")
            let z = zones.first ?? [:]
            for key in ["origin", "serial", "records", "file", "loaded_at"] {
                #expect(z[key] != nil, "zone key \(key) missing\n\(reply.body)")
            }
            #expect(z["origin"] as? String == "example.net.", "\(z)")
            #expect(z["serial"] as? Int == 2026112507, "\(z)")
            // SOA, NS, ns1 A and the two www A records.
            #expect(z["records"] as? Int == 5, "\(z)")
            #expect(
                (z["file"] as? String).map { URL(fileURLWithPath: $0).standardized.path }
                    == URL(fileURLWithPath: server.zoneFile("example.net.zone")).standardized.path, "\(z)")
            #expect(recent(z["loaded_at"]), "loaded_at within the test: \(z["loaded_at"] ?? "none")")

            let pools = status["pools"] as? [[String: Any]] ?? []
            #expect(pools.count == 1 && pools.first?["name"] as? String == "www.example.net", "\(reply.body)")
            #expect(pools.first?["ttl"] as? Int == 4, "\(reply.body)")
            let members = Admin.members(status)
            #expect(Set(members.compactMap { $0["address"] as? String }) == [up, down], "\(reply.body)")
            let keys = [
                "address", "state", "since", "last_result", "latency_ms", "successes", "failures", "in_answers", "why",
            ]
            for m in members {
                for key in keys { #expect(m[key] != nil, "member key \(key) missing: \(m)") }
                #expect(recent(m["since"]), "since within the test: \(m)")
                let latency = m["latency_ms"] as? Double ?? -1
                #expect(latency >= 0 && latency < 5000, "latency_ms: \(m)")
                #expect(!(m["why"] as? String ?? "").isEmpty, "why: \(m)")
                #expect(!(m["last_result"] as? String ?? "").isEmpty, "last_result: \(m)")
            }
            let u = Admin.member(status, up) ?? [:]
            #expect(u["state"] as? String == "up", "\(u)")
            #expect(u["in_answers"] as? Bool == true, "\(u)")
            #expect((u["successes"] as? Int ?? 0) >= 2 && u["failures"] as? Int == 0, "\(u)")
            let d = Admin.member(status, down) ?? [:]
            #expect(d["state"] as? String == "down", "\(d)")
            #expect(d["in_answers"] as? Bool == false, "\(d)")
            #expect((d["failures"] as? Int ?? 0) >= 2 && d["successes"] as? Int == 0, "\(d)")
            #expect(d["why"] as? String != u["why"] as? String, "in and out say different things: \(u) \(d)")
        }
    }
}
