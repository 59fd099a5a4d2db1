// `carousel check` and what `carousel serve` does with a directory holding a broken zone.

import Foundation
import Testing

/// A broken zone and the exact error `carousel check` prints for it.
struct BrokenZone: Sendable, CustomTestStringConvertible {
    var file: String
    var line: Int
    var message: String
    var testDescription: String { "\(file):\(line)" }

    /// The whole line, for the zone named by `path`.
    func error(path: String) -> String { "\(path):\(line): \(message)" }
}

@Suite("carousel check")
struct CheckCommandTests {
    static let broken: [BrokenZone] = [
        BrokenZone(file: "bad-syntax.test.zone", line: 6, message: "Syntax error, could not parse the RR's rdata"),
        BrokenZone(
            file: "bad-cname.test.zone", line: 7,
            message: "www.bad-cname.test. CNAME: CNAME and other data at the same name (A)"),
        BrokenZone(
            file: "bad-glue.test.zone", line: 6,
            message: "sub.bad-glue.test. NS: missing glue: no A or AAAA record for ns.sub.bad-glue.test."),
        BrokenZone(
            file: "bad-outside.test.zone", line: 6, message: "www.example.org. A: out of zone bad-outside.test."),
        BrokenZone(file: "bad-nosoa.test.zone", line: 1, message: "bad-nosoa.test.: no SOA record at the zone apex"),
        BrokenZone(file: "bad-nons.test.zone", line: 3, message: "bad-nons.test.: no NS records at the zone apex"),
    ]

    static func check(_ arguments: [String]) async throws -> CommandResult {
        try await Command.run(CarouselServer.binary, ["check"] + arguments)
    }

    /// The `file:line: message` lines of an output.
    static func errorLines(_ output: String) -> [String] {
        output.split(separator: "\n").map(String.init).filter { $0.contains(".zone:") }
    }

    @Test("exit 0 on the fixture zones")
    func fixturesPass() async throws {
        let result = try await Self.check(["--zones", Fixtures.zones])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Self.errorLines(result.stderr).isEmpty, "\(result.stderr)")
    }

    @Test(
        "exit 0 on single zone files", arguments: ["example.test.zone", "child.example.test.zone", "other.test.zone"])
    func singleFilePasses(file: String) async throws {
        let result = try await Self.check(["--zones", Fixtures.zone(file)])
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test("exit 1 with file:line: message", arguments: broken)
    func brokenZone(_ zone: BrokenZone) async throws {
        let path = Fixtures.brokenZone(zone.file)
        let result = try await Self.check(["--zones", path])
        #expect(result.status == 1, "\(result.stderr)")
        let lines = Self.errorLines(result.stderr)
        let line = try #require(lines.first, "no file:line: message in\n\(result.stderr)")
        #expect(lines.count == 1, "one error per zone\n\(result.stderr)")
        #expect(line == zone.error(path: path))
        #expect(result.stdout.isEmpty || !result.stdout.contains(".zone:"), "errors go to stderr")
    }

    @Test("a directory: one error per broken file, none for the good one")
    func brokenDirectory() async throws {
        let result = try await Self.check(["--zones", Fixtures.broken])
        #expect(result.status == 1)
        let lines = Self.errorLines(result.stderr)
        for zone in Self.broken {
            #expect(lines.contains(zone.error(path: Fixtures.brokenZone(zone.file))), "\(zone.file)\n\(result.stderr)")
        }
        #expect(!lines.contains { $0.contains("good.test.zone") }, "\(result.stderr)")
    }

    @Test("several --zones at once")
    func severalZonesFlags() async throws {
        let result = try await Self.check(["--zones", Fixtures.zones, "--zones", Fixtures.brokenZone("good.test.zone")])
        #expect(result.status == 0, "\(result.stderr)")
        let bad = try await Self.check([
            "--zones", Fixtures.zones, "--zones", Fixtures.brokenZone("bad-cname.test.zone"),
        ])
        #expect(bad.status == 1, "\(bad.stderr)")
    }

    @Test("a missing path is an error")
    func missingPath() async throws {
        let result = try await Self.check(["--zones", "/nonexistent/zones"])
        #expect(result.status != 0)
        #expect(!result.stderr.isEmpty)
    }

    @Test("serve: broken zones are not served, the others in the same directory are")
    func serveSkipsBrokenZones() async throws {
        try await withCarousel(zones: [Fixtures.broken]) { server in
            let good = try await Dig.query(server.endpoint, "www.good.test", "A")
            #expect(good.status == "NOERROR" && good.aa, "\(good)\n\(server.log)")
            #expect(good.answer == [DigRecord("www.good.test. 300 IN A 192.0.2.2")], "\(good)")
            for zone in Self.broken {
                let origin = zone.file.replacingOccurrences(of: ".zone", with: "")
                let response = try await Dig.query(server.endpoint, "ns.\(origin)", "A")
                #expect(response.status == "REFUSED", "\(origin) must not be served\n\(response)")
            }
            #expect(server.log.contains("bad-cname.test.zone:7:"), "the log names the error\n\(server.log)")
        }
    }
}
