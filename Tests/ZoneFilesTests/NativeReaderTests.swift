import DNSWire
import Foundation
import Testing

@testable import DNSZone
@testable import ZoneFiles

/// The native master-file reader against libldns, the reference: the same text must give the
/// same records (owner bytes with their case, type, class, TTL, rdata bytes, line, file) or the
/// same error, for every zone in the repository and for a table of awkward cases.
@Suite("Zone loader: native reader = libldns")
struct NativeReaderTests {
    /// The repository root, found from this file's path.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// Parses `file` both ways and expects identical results; returns the native reader's zone.
    @discardableResult
    static func expectSame(_ file: String, origin: DNSName? = nil, sourceLocation: SourceLocation = #_sourceLocation)
        -> ZoneFile?
    {
        let native = ZoneLoader.parseWithIncludes(file: file, origin: origin, syntax: .native)
        let ldns = ZoneLoader.parseWithIncludes(file: file, origin: origin, syntax: .ldns)
        #expect(native.includes == ldns.includes, "\(file)", sourceLocation: sourceLocation)
        switch (native.result, ldns.result) {
        case (.success(let n), .success(let l)):
            #expect(n.origin.wire == l.origin.wire, "\(file)", sourceLocation: sourceLocation)
            #expect(n.records.count == l.records.count, "\(file)", sourceLocation: sourceLocation)
            for (a, b) in zip(n.records, l.records) where !identical(a, b) {
                Issue.record(
                    "\(file): native \(a.file):\(a.line) \(a.record) ≠ libldns \(b.file):\(b.line) \(b.record)",
                    sourceLocation: sourceLocation)
                return n
            }
            return n
        case (.failure(let n), .failure(let l)):
            #expect(n == l, "\(file)", sourceLocation: sourceLocation)
        default:
            Issue.record("\(file): native \(native.result) but libldns \(ldns.result)", sourceLocation: sourceLocation)
        }
        return nil
    }

    static func identical(_ a: LoadedRecord, _ b: LoadedRecord) -> Bool {
        a.record.name.wire == b.record.name.wire && a.record.type == b.record.type
            && a.record.rrClass == b.record.rrClass && a.record.ttl == b.record.ttl
            && a.record.rdata == b.record.rdata && a.line == b.line && a.file == b.file
    }

    static func zoneFiles(under dir: String) -> [String] {
        guard let walk = FileManager.default.enumerator(atPath: dir) else { return [] }
        return walk.compactMap { $0 as? String }.filter { $0.hasSuffix(".zone") }.sorted().map { dir + "/" + $0 }
    }

    @Test func everyZoneInTheRepository() {
        let files = Self.zoneFiles(under: Self.root + "/zones") + Self.zoneFiles(under: Self.root + "/Tests")
        #expect(files.count >= 10)
        for file in files { Self.expectSame(file) }
    }

    /// The zones Carousel serves by default are read by the native reader alone: as many records
    /// as libldns reads, none handed to libldns.
    @Test("zones/: every record read natively, as many as libldns reads, no fallback")
    func servedZonesReadNatively() throws {
        let files = Self.zoneFiles(under: Self.root + "/zones")
        #expect(!files.isEmpty)
        for file in files {
            let zone = try #require(Self.expectSame(file), "\(file)")
            #expect(!zone.records.isEmpty && zone.fallbacks == 0, "\(file): \(zone.fallbacks) records read by libldns")
        }
    }

    @Test func theBenchmarkZone() throws {
        let dir = LoaderFixture.Dir()
        let gen = Process()
        gen.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        gen.arguments = [
            "python3", Self.root + "/bench/gen-zone", "--out", dir.path + "/b", "--names", "3000",
            "--queries", "10",
        ]
        gen.standardOutput = FileHandle.nullDevice
        try gen.run()
        gen.waitUntilExit()
        try #require(gen.terminationStatus == 0)
        let zone = try #require(Self.expectSame(dir.path + "/b/bench.example.zone"))
        // Read natively throughout: as many records as libldns reads (above), none through it.
        #expect(zone.records.count > 3000 && zone.fallbacks == 0, "\(zone.records.count), \(zone.fallbacks) fallbacks")
    }

    /// Written after the standard head; each must read the same both ways (records or error).
    static let cases: [String] = [
        "www A 192.0.2.1",
        "www.example.com. 60 IN A 192.0.2.1",
        "www 60 in a 192.0.2.1\nWWW 1h30m A 192.0.2.2\nx 1W2D3H4M5S A 192.0.2.3\ny 7d A 192.0.2.4",
        "www A 192.0.2.256", "www A 192.0.2", "www A 01.2.3.4", "www A 1.2.3.4.", "www A 1.2.3.4 5",
        "www A \"192.0.2.1\"", "www A 0.0.0.0",
        "www AAAA 2001:db8::1", "www AAAA ::", "www AAAA ::ffff:192.0.2.1", "www AAAA 2001:db8::g",
        "www AAAA 2001:DB8:0:0:0:0:0:1",
        "@ MX 10 @", "@ MX 65535 mail.example.net.", "@ MX 65536 mail", "@ MX 0x10 mail", "@ MX 10",
        "@ NS ns1.sub\n   NS ns2.sub.example.com.",
        "alias CNAME @", "alias CNAME www.Example.COM.", "alias CNAME .", "ptr PTR host\\.with\\.dots",
        "esc A 192.0.2.1\nw\\065w A 192.0.2.2\nw\\.x A 192.0.2.3\n\\@ A 192.0.2.4\na\\ b A 192.0.2.5",
        "bad\\256 A 192.0.2.1", "two..dots A 192.0.2.1",
        String(repeating: "a", count: 63) + " A 192.0.2.1", String(repeating: "a", count: 64) + " A 192.0.2.1",
        "t TXT \"hello world\"", "t TXT \"a;b\" c\\; \"d(e)\" f", "t TXT \"\" x", "t TXT \"\\\"q\\\\\" \\065\\066",
        "t TXT ( \"one\" ; a comment\n  \"two\" )", "t TXT \"multi\nline\"", "t TXT abc\" def", "t TXT a\"b\"c",
        "t TXT " + String(repeating: "x", count: 255), "t TXT " + String(repeating: "x", count: 256),
        "t TXT \"\\1\"", "t TXT \"caf\u{e9}\"", "t SPF \"v=spf1 -all\"", "t TXT",
        "s SRV 10 20 5060 sip", "s SRV 10 20 5060 .", "s SRV 10 20 sip",
        "c CAA 0 issue \"letsencrypt.org\"", "c CAA 128 tbs \"a b\"", "c CAA 0 issuewild ca.example",
        "c CAA 0 issue \"a;b\\\"c\"", "c CAA 256 issue \"x\"",
        "d DNAME other.example.", "g TYPE65534 \\# 3 010203", "g TYPE65534 \\# 4 0102 0304", "g TYPE65534 \\# 0",
        "g TYPE65534 \\# 3 0102", "g A \\# 4 c0000201", "g a \\# 4 C0000201", "g TYPE1 192.0.2.1",
        "g HINFO \"PC\" \"Linux\"", "g SSHFP 1 1 0123456789abcdef0123456789abcdef01234567",
        "g DS 12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE4F4B34F7C1E8F1E4A6B45C55",
        "g NAPTR 100 10 \"U\" \"E2U+sip\" \"!^.*$!sip:info@example.com!\" .",
        "g LOC 52 22 23.000 N 4 53 32.000 E -2.00m",
        "g TLSA 3 1 1 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF",
        "g HTTPS 1 . alpn=h2", "g RP admin.example.com. .", "g URI 10 1 \"https://example.com/\"",
        "ch 0 CH TXT \"1.0\"", "hs HS A 192.0.2.1", "any CLASS1 A 192.0.2.1", "c5 CLASS5 A 192.0.2.1",
        "nottype FOO 1", "z A", "z",
        "p SOA ns1 h ( 1 2 ; serial, refresh\n 3 ; retry\n 4 5 )",
        "p SOA ns1 h 1 2 3 4", "p SOA ns1 h 1h 2 3 4 5", "p SOA ns1 h 4294967295 2 3 4 5",
        "p SOA ns1 h 4294967296 2 3 4 5", "p SOA ns1 h 1 2 3 4 1d",
        "p ( A\n 192.0.2.1 )", "p A 192.0.2.1 )", "p A ( 192.0.2.1", "(p A 192.0.2.1)",
        "  \n\t; only a comment\n\nq A 192.0.2.1 ; trailing\r\n   A 192.0.2.2\r\n",
        "$TTL 5\nq A 192.0.2.1\n$TTL 1h\nr A 192.0.2.1\n$TTL 0\ns A 192.0.2.1\n",
        "$ORIGIN sub\nq A 192.0.2.1\n  A 192.0.2.2\n$ORIGIN example.org.\n@ A 192.0.2.3\nq A 192.0.2.4",
        "$ORIGIN", "$TTL", "$TTL x", "$FOO bar", "www 4294967296 A 192.0.2.1", "www 30x A 192.0.2.1",
        "dup A 192.0.2.1\nDUP A 192.0.2.1\ndup 5 A 192.0.2.1\ndup TXT \"x\"\ndup TXT x",
        "*.wild A 192.0.2.1\n*.wild MX 10 mail\n*.wild TXT \"*\"",
        "www A 192.0.2.1\n\\# A 192.0.2.2",
        "x NS @\nx NS a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z",
    ]

    @Test(arguments: cases)
    func trickyCase(_ text: String) {
        let dir = LoaderFixture.Dir()
        Self.expectSame(dir.write("example.com.zone", LoaderFixture.head + text + "\n"))
    }

    /// Without a head: origin inference and the first statements of a file.
    @Test(arguments: [
        "example.info. 300 IN SOA ns1 h 1 2 3 4 5\n@ NS ns1\n", "$ORIGIN example.org.\n@ SOA ns1 h 1 2 3 4 5\n",
        "   A 192.0.2.1\n", "", "; nothing\n", "www A 192.0.2.1", "$ORIGIN lab\nwww A 192.0.2.1\n",
        "$INCLUDE\n", "$INCLUDE missing.inc\n",
    ])
    func fileStart(_ text: String) {
        let dir = LoaderFixture.Dir()
        Self.expectSame(dir.write("x.test.zone", text))
    }

    @Test func includes() {
        let dir = LoaderFixture.Dir()
        let main = dir.write(
            "example.com.zone",
            "$TTL 300\n@ SOA ns1 h 1 2 3 4 5\nwww A 192.0.2.1\n$INCLUDE lab.inc lab ; lab\n  AAAA 2001:db8::1\n")
        dir.write("lab.inc", "$TTL 60\nhost A 192.0.2.5\n   TXT \"x\"\n$ORIGIN elsewhere.\nx A 192.0.2.6\n")
        Self.expectSame(main)
    }

    /// libldns refuses class before TTL; RFC 1035 §5.1 allows either order, and so does the reader.
    @Test func classBeforeTTL() throws {
        let dir = LoaderFixture.Dir()
        let a = try ZoneLoader.parse(file: dir.write("a.zone", "www.a. IN 60 A 192.0.2.1\n")).get()
        let b = try ZoneLoader.parse(file: dir.write("b.zone", "www.a. 60 IN A 192.0.2.1\n")).get()
        #expect(a.records.map(\.record) == b.records.map(\.record))
        #expect(a.records.first?.record.ttl == 60)
    }
}
