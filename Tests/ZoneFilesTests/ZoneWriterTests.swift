import DNSWire
import Foundation
import Testing

@testable import DNSZone
@testable import ZoneFiles

/// The master-file text a secondary stores its zone in: written, read back by both readers (the
/// native one and libldns), it gives the very records that went in — owner bytes with their case,
/// type, class, TTL and rdata bytes.
@Suite("Zone writer: what is written reads back the same")
struct ZoneWriterTests {
    /// Writes `records`, reads the text back both ways, and expects the same records in order.
    static func expectRoundTrip(
        _ records: [ResourceRecord], origin: DNSName, _ what: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let dir = LoaderFixture.Dir()
        let text = ZoneWriter.text(origin: origin, records: records, header: ["a test", "of two lines"])
        let file = dir.write("stored.zone", text)
        for syntax in [ZoneSyntax.native, .ldns] {
            switch ZoneLoader.parseWithIncludes(file: file, origin: origin, syntax: syntax).result {
            case .failure(let problem):
                Issue.record(
                    "\(what): \(syntax) cannot read what was written: \(problem)\n\(text)",
                    sourceLocation: sourceLocation)
            case .success(let back):
                let got = back.records.map(\.record)
                #expect(got.count == records.count, "\(what) (\(syntax))\n\(text)", sourceLocation: sourceLocation)
                for (a, b) in zip(records, got) where a.name.wire != b.name.wire || a != b {
                    Issue.record("\(what) (\(syntax)): wrote \(a), read \(b)\n\(text)", sourceLocation: sourceLocation)
                    return
                }
            }
        }
    }

    @Test func everyZoneInTheRepository() throws {
        let files =
            NativeReaderTests.zoneFiles(under: NativeReaderTests.root + "/zones")
            + NativeReaderTests.zoneFiles(under: NativeReaderTests.root + "/Tests")
        var written = 0
        for file in files {
            // Zones with $INCLUDE come back as one file: compare records, not files and lines.
            guard case .success(let zone) = ZoneLoader.parse(file: file) else { continue }
            Self.expectRoundTrip(zone.records.map(\.record), origin: zone.origin, file)
            written += 1
        }
        #expect(written >= 10)
    }

    /// The awkward cases of the reader's test: escapes, case, quoted text, every type the native
    /// reader knows, and types it leaves to libldns. Those that read are written and read back;
    /// the others are cases of a syntax error, which libldns (the reference) must reject too.
    @Test(arguments: NativeReaderTests.cases)
    func trickyCase(_ text: String) {
        let dir = LoaderFixture.Dir()
        let file = dir.write("example.com.zone", LoaderFixture.head + text + "\n")
        switch ZoneLoader.parse(file: file) {
        case .success(let zone):
            Self.expectRoundTrip(zone.records.map(\.record), origin: zone.origin, text)
        case .failure(let problem):
            let reference = ZoneLoader.parseWithIncludes(file: file, origin: nil, syntax: .ldns).result
            guard case .failure = reference else {
                Issue.record("the native reader rejects what libldns reads: \(problem)")
                return
            }
        }
    }

    /// A type libldns does not know goes out in RFC 3597's generic form, empty rdata too.
    @Test func genericForm() throws {
        let owner = try DNSName("odd.example.com.")
        let unknown = ResourceRecord(name: owner, type: RRType(65280), ttl: 60, rdata: [0, 1, 0xAB, 0xFF])
        #expect(ZoneWriter.line(unknown).contains("\\# 4 0001abff"), "\(ZoneWriter.line(unknown))")
        let empty = ResourceRecord(name: owner, type: RRType(65281), ttl: 60, rdata: [])
        #expect(ZoneWriter.line(empty).hasSuffix("\\# 0\n"), "\(ZoneWriter.line(empty))")
        Self.expectRoundTrip([unknown, empty], origin: try DNSName("example.com."), "generic")
    }
}
