// `carousel check` and what `carousel serve` does with a directory holding a broken zone.

import Foundation
import Testing

/// A broken zone and the error `carousel check` must print for it.
struct BrokenZone: Sendable, CustomTestStringConvertible {
    var file: String
    var line: Int
    /// Words the message must contain (case-insensitive).
    var words: [String]
    var testDescription: String { "\(file):\(line)" }
}

@Suite("carousel check")
struct CheckCommandTests {
    static let broken: [BrokenZone] = [
        BrokenZone(file: "bad-syntax.test.zone", line: 6, words: []),
        BrokenZone(file: "bad-cname.test.zone", line: 7, words: ["cname"]),
        BrokenZone(file: "bad-glue.test.zone", line: 6, words: ["glue"]),
        BrokenZone(file: "bad-outside.test.zone", line: 6, words: ["www.example.org"]),
        BrokenZone(file: "bad-nosoa.test.zone", line: 1, words: ["soa"]),
        BrokenZone(file: "bad-nons.test.zone", line: 3, words: ["ns"]),
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

    @Test("exit 0 on single zone files", arguments: ["example.test.zone", "child.example.test.zone", "other.test.zone"])
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
        #expect(lines.count == 1, "\(result.stderr)")
        let prefix = "\(path):\(zone.line): "
        #expect(line.hasPrefix(prefix) || line.hasPrefix("\(zone.file):\(zone.line): "), "expected \(prefix)…, got \(line)")
        let message = line.components(separatedBy: ":\(zone.line): ").dropFirst().joined()
        #expect(!message.trimmingCharacters(in: .whitespaces).isEmpty, "\(line)")
        for word in zone.words {
            #expect(message.lowercased().contains(word), "\(line)")
        }
        #expect(result.stdout.isEmpty || !result.stdout.contains(".zone:"), "errors go to stderr")
    }

    @Test("a directory: one error per broken file, none for the good one")
    func brokenDirectory() async throws {
        let result = try await Self.check(["--zones", Fixtures.broken])
        #expect(result.status == 1)
        let lines = Self.errorLines(result.stderr)
        for zone in Self.broken {
            #expect(lines.contains { $0.contains("\(zone.file):\(zone.line): ") }, "\(zone.file)\n\(result.stderr)")
        }
        #expect(!lines.contains { $0.contains("good.test.zone") }, "\(result.stderr)")
    }

    @Test("several --zones at once")
    func severalZonesFlags() async throws {
        let result = try await Self.check(["--zones", Fixtures.zones, "--zones", Fixtures.brokenZone("good.test.zone")])
        #expect(result.status == 0, "\(result.stderr)")
        let bad = try await Self.check(["--zones", Fixtures.zones, "--zones", Fixtures.brokenZone("bad-cname.test.zone")])
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
