import CarouselConfig
import Foundation
import Logging
import Testing

@testable import Admin
@testable import Runtime

/// What the admin API says, from a runtime that is not listening: `/status` (its contract, read
/// back through its own decoder), `/explain` (a client's answer and why), and a pool's chart.
@Suite("Admin: /status, /explain and the chart", .serialized)
struct StatusTests {
    /// A runtime over one zone and one rotate pool of three, with 192.0.2.3 drained.
    static func runtime(_ body: (CarouselRuntime) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.path + "/carousel-admin-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
        $ORIGIN example.test.
        $TTL 300
        @ IN SOA ns1 hostmaster 7 3600 600 1209600 60
        @ IN NS ns1
        ns1 IN A 192.0.2.53
        www IN A 192.0.2.1
        www IN A 192.0.2.2
        www IN A 192.0.2.3
        alias IN CNAME www

        """.write(toFile: dir + "/example.test.zone", atomically: true, encoding: .utf8)
        let yaml = """
            zones: "\(dir)"
            pools:
              - name: www.example.test
                ttl: 20
                max_answers: 2
                check: { type: none }
            """
        let config = try Config.parse(yaml, file: dir + "/carousel.yaml").get()
        var logger = Logger(label: "admin-tests")
        logger.logLevel = .critical
        let runtime = CarouselRuntime(config: config, logger: logger)
        await runtime.reload()
        _ = await runtime.drain(address: "192.0.2.3", pool: nil, force: false)
        do {
            try await body(runtime)
        } catch {
            await runtime.stop()
            throw error
        }
        await runtime.stop()
    }

    @Test("/status: zones, pools, members with their state and why, as JSON its decoder reads back")
    func status() async throws {
        try await Self.runtime { runtime in
            let report = await runtime.statusReport()
            let data = try StatusReport.encoder().encode(report)
            let decoded = try StatusReport.decoder().decode(StatusReport.self, from: data)
            #expect(decoded.zones.map(\.origin) == ["example.test."] && decoded.zones[0].serial == 7)
            let pool = try #require(decoded.pools.first)
            #expect(pool.name == "www.example.test" && pool.ttl == 20 && pool.maxAnswers == 2)
            let members = try #require(pool.sets.first?.members)
            #expect(members.map(\.address) == ["192.0.2.1", "192.0.2.2", "192.0.2.3"])
            let drained = try #require(members.last)
            #expect(drained.state == "drained" && !drained.inAnswers, "\(drained)")
            #expect(members[0].inAnswers && !members[0].why.isEmpty)
            // The JSON keys are the contract scripts read.
            let json = try #require(String(data: data, encoding: .utf8))
            for key in ["\"zones\"", "\"pools\"", "\"members\"", "\"in_answers\"", "\"why\"", "\"max_answers\""] {
                #expect(json.contains(key), "\(key) in \(json.prefix(400))")
            }
        }
    }

    @Test("/explain: a client's answer through a CNAME, the drained member out and why; bad input is a 400")
    func explain() async throws {
        try await Self.runtime { runtime in
            let e = try await runtime.explain(name: "alias.example.test", client: "198.51.100.7").get()
            #expect(e.chain == ["alias.example.test. CNAME www.example.test."] || e.chain.count == 1, "\(e.chain)")
            // A member out: the pool is degraded, so its TTL is halved.
            #expect(e.pool == "www.example.test" && e.rcode == "NOERROR" && e.ttl == 10, "\(e)")
            #expect(e.answer.count == 2 && !e.answer.contains { $0.contains("192.0.2.3") }, "\(e.answer)")
            let out = try #require(e.members.first { $0.address == "192.0.2.3" })
            #expect(!out.usable && !out.inAnswer && out.why.contains("drain"), "\(out)")
            #expect(e.members.filter(\.inAnswer).count == 2)
            guard case .failure(let bad) = await runtime.explain(name: "www.example.test", client: "nope") else {
                Issue.record("a bad client address is refused")
                return
            }
            #expect(bad.status == 400)
        }
    }

    @Test("the chart: one band per member, a dashed line where a member changed state, a strip per member")
    func chart() throws {
        let now = Date()
        let chart = AnswerHistory.Chart(
            pool: "www.example.test.", members: ["192.0.2.1", "192.0.2.2"],
            samples: (0..<30).map { i in
                AnswerHistory.Chart.Point(
                    time: now.addingTimeInterval(Double(i - 30) * 10), firsts: i < 15 ? [50, 50] : [0, 100],
                    answers: [100, 100])
            },
            events: [
                AnswerHistory.Chart.Mark(
                    time: now.addingTimeInterval(-150), address: "192.0.2.1", state: .out, why: "down: connect refused")
            ],
            current: [.out, .answering])
        let svg = PoolChart.svg(chart, now: now)
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>"))
        #expect(svg.components(separatedBy: "<path class=\"band\"").count - 1 == 2)
        #expect(svg.contains("class=\"mark\" data-address=\"192.0.2.1\" data-state=\"out\""))
        #expect(svg.contains("down: connect refused"))
        #expect(svg.components(separatedBy: "class=\"strip\" data-address=\"192.0.2.2\"").count > 1)
    }
}
