import DNSWire
import DNSZone
import Foundation
import Testing
import ZoneFiles

/// Helpers for the loader tests, namespaced so they cannot clash with other tests in the target.
enum LoaderFixture {
    /// A temporary directory for zone files, removed when the test drops it.
    final class Dir: Sendable {
        let path: String

        init() {
            path = FileManager.default.temporaryDirectory.path + "/carousel-zone-" + UUID().uuidString
            try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }

        deinit { try? FileManager.default.removeItem(atPath: path) }

        /// Writes `text` to `name` (creating subdirectories) and returns the file's path.
        @discardableResult
        func write(_ name: String, _ text: String) -> String {
            let file = path + "/" + name
            try! FileManager.default.createDirectory(
                atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try! text.write(toFile: file, atomically: true, encoding: .utf8)
            return file
        }
    }

    /// The head of every valid test zone (lines 1–4); the tests' own lines start at line 5.
    static let head = """
        $TTL 300
        @ IN SOA ns1 hostmaster 2024010101 7200 3600 1209600 300
        @ IN NS ns1
        ns1 IN A 192.0.2.53

        """

    static func name(_ text: String) -> DNSName { try! DNSName(text) }
    static func u16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
    static func u32(_ v: UInt32) -> [UInt8] { u16(UInt16(v >> 16)) + u16(UInt16(v & 0xFFFF)) }
    /// A character-string: a length byte, then the bytes (RFC 1035 §3.3).
    static func str(_ s: String) -> [UInt8] { [UInt8(s.utf8.count)] + Array(s.utf8) }
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// Parses `text` written to `file` in a fresh directory; the directory lives as long as the result.
    static func parse(_ text: String, file: String = "example.com.zone", origin: DNSName? = nil)
        -> (dir: Dir, path: String, result: Result<ZoneFile, Problem>)
    {
        let dir = Dir()
        let path = dir.write(file, text)
        return (dir, path, ZoneLoader.parse(file: path, origin: origin))
    }

    static func records(_ result: Result<ZoneFile, Problem>) -> [ResourceRecord] {
        (try? result.get())?.records.map(\.record) ?? []
    }

    static func problem(_ result: Result<ZoneFile, Problem>) -> String? {
        if case .failure(let p) = result { return p.description }
        return nil
    }
}

private typealias F = LoaderFixture

@Suite("Zone loader: parsing")
struct ZoneLoaderTests {
    // MARK: origin rules

    @Test func explicitOriginWins() throws {
        let (_, _, result) = F.parse(
            "$ORIGIN example.org.\n@ SOA ns1 h 1 2 3 4 5\n", file: "x.zone", origin: F.name("example.net."))
        let zone = try result.get()
        #expect(zone.origin == F.name("example.net."))
        // $ORIGIN still completes relative names after it.
        #expect(zone.records.first?.record.name == F.name("example.org."))
    }

    @Test func originFromDollarOriginBeforeFirstRecord() throws {
        let (_, _, result) = F.parse(
            "; zone\n$TTL 60\n$ORIGIN example.org.\n@ SOA ns1 h 1 2 3 4 5\nwww A 192.0.2.1\n", file: "x.zone")
        let zone = try result.get()
        #expect(zone.origin == F.name("example.org."))
        #expect(zone.records.map(\.record.name) == [F.name("example.org."), F.name("www.example.org.")])
    }

    @Test func relativeDollarOriginIsRelativeToTheCurrentOrigin() throws {
        let (_, _, result) = F.parse("@ SOA ns1 h 1 2 3 4 5\n$ORIGIN lab\nhost A 192.0.2.1\n")
        #expect(F.records(result).last?.name == F.name("host.lab.example.com."))
    }

    @Test func originFromAbsoluteSOAOwner() throws {
        let (_, _, result) = F.parse("example.info. 300 IN SOA ns1 h 1 2 3 4 5\n@ NS ns1\n", file: "x.zone")
        let zone = try result.get()
        #expect(zone.origin == F.name("example.info."))
        #expect(zone.records[0].record.rdata.starts(with: F.name("ns1.example.info.").wire))
        #expect(zone.records[1].record.name == F.name("example.info."))
    }

    @Test func originFromFileName() throws {
        let (_, _, result) = F.parse("@ SOA ns1 h 1 2 3 4 5\nwww A 192.0.2.1\n", file: "example.com.zone")
        let zone = try result.get()
        #expect(zone.origin == F.name("example.com."))
        #expect(zone.records.map(\.record.name) == [F.name("example.com."), F.name("www.example.com.")])
        // A relative SOA owner does not count: the file name decides.
        let (_, _, other) = F.parse("shop SOA ns1 h 1 2 3 4 5\n", file: "example.net.zone")
        #expect(try other.get().origin == F.name("example.net."))
    }

    // MARK: $TTL and owners

    @Test func defaultTTLs() throws {
        let text = """
            a A 192.0.2.1
            $TTL 300
            b A 192.0.2.2
            c 60 A 192.0.2.3
            $TTL 1h ; an hour
            d A 192.0.2.4
            $TTL 0
            e A 192.0.2.5

            """
        let (_, _, result) = F.parse(text)
        // Before any $TTL libldns's default (3600) applies; $TTL 0 really means 0.
        #expect(F.records(result).map(\.ttl) == [3600, 300, 60, 3600, 0])
    }

    @Test func badTTLs() {
        let (_, path, result) = F.parse("$TTL 300\n$TTL five\n")
        #expect(F.problem(result) == "\(path):2: bad $TTL value five")
        let (_, path2, result2) = F.parse("www 4294967296 A 192.0.2.1\n")
        #expect(F.problem(result2) == "\(path2):1: bad TTL 4294967296")
    }

    @Test func blankOwnerRepeatsThePreviousOwner() throws {
        let (_, _, result) = F.parse(
            "www A 192.0.2.1\n  ; comment\n\n   AAAA 2001:db8::1\n@ MX 10 mail\n  TXT \"apex\"\n")
        #expect(
            F.records(result).map(\.name)
                == ["www.example.com.", "www.example.com.", "example.com.", "example.com."].map(F.name))
    }

    @Test func duplicatesAreDroppedKeepingTheFirst() throws {
        let (_, _, result) = F.parse("www 60 A 192.0.2.1\nWWW 120 A 192.0.2.1\nwww A 192.0.2.2\n")
        let zone = try result.get()
        #expect(zone.records.map(\.line) == [1, 3])
        #expect(zone.records[0].record.ttl == 60)
    }

    // MARK: rdata

    /// Each rdata must be exactly the uncompressed wire form, and survive a trip through the
    /// RFC 3597 generic form (`TYPEnnn \# len hex`).
    @Test(
        arguments: [
            ("A 192.0.2.1", RRType.a, [192, 0, 2, 1]),
            ("AAAA 2001:db8::1", .aaaa, [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1]),
            ("MX 10 mail", .mx, F.u16(10) + F.name("mail.example.com.").wire),
            ("NS ns1.example.net.", .ns, F.name("ns1.example.net.").wire),
            (
                "SOA ns1 hostmaster.example.com. ( 2024010101 7200 3600\n  1209600 300 )", .soa,
                F.name("ns1.example.com.").wire + F.name("hostmaster.example.com.").wire + F.u32(2_024_010_101)
                    + F.u32(7200) + F.u32(3600) + F.u32(1_209_600) + F.u32(300)
            ),
            ("TXT \"hello world\" two \"a;b\"", .txt, F.str("hello world") + F.str("two") + F.str("a;b")),
            ("SRV 10 20 5060 sip", .srv, F.u16(10) + F.u16(20) + F.u16(5060) + F.name("sip.example.com.").wire),
            ("CAA 0 issue \"letsencrypt.org\"", .caa, [0] + F.str("issue") + Array("letsencrypt.org".utf8)),
            ("TYPE65000 \\# 4 0a000001", RRType(65000), [0x0a, 0x00, 0x00, 0x01]),
            ("TYPE1 \\# 4 c0000201", .a, [192, 0, 2, 1]),
        ] as [(String, RRType, [UInt8])])
    func rdataIsUncompressedWire(text: String, type: RRType, wire: [UInt8]) throws {
        let (_, _, result) = F.parse("www 300 IN \(text)\n")
        let record = try #require(F.records(result).first)
        #expect(record.type == type)
        #expect(F.hex(record.rdata) == F.hex(wire))

        let generic = "www.example.com. 300 IN TYPE\(type.rawValue) \\# \(wire.count) \(F.hex(wire))\n"
        let (_, _, again) = F.parse(generic)
        #expect(F.records(again) == [record])
    }

    @Test func ownerKeepsItsCase() throws {
        let (_, _, result) = F.parse("WWW.Example.COM. A 192.0.2.1\n")
        #expect(F.records(result).first?.name.wire == Array("\u{3}WWW\u{7}Example\u{3}COM\u{0}".utf8))
    }

    // MARK: $INCLUDE

    @Test func includeRelativeToTheIncludingFile() throws {
        let dir = F.Dir()
        let main = dir.write("example.com.zone", "@ SOA ns1 h 1 2 3 4 5\n$INCLUDE sub/hosts.inc\nafter A 192.0.2.9\n")
        dir.write("sub/hosts.inc", "; hosts\nwww A 192.0.2.1\n$INCLUDE more.inc\n")
        dir.write("sub/more.inc", "\nmail A 192.0.2.2\n")
        let zone = try ZoneLoader.parse(file: main).get()
        #expect(
            zone.records.map(\.record.name.description) == [
                "example.com.", "www.example.com.", "mail.example.com.", "after.example.com.",
            ])
        #expect(zone.records.map(\.file) == [main, dir.path + "/sub/hosts.inc", dir.path + "/sub/more.inc", main])
        #expect(zone.records.map(\.line) == [1, 2, 2, 3])
    }

    /// `limits.zone_records`: one record over the limit fails the load at that record's line.
    @Test func aZoneOverTheRecordLimitIsRefused() throws {
        let dir = F.Dir()
        let main = dir.write(
            "example.com.zone",
            "@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.53\n" + (1...5).map { "h\($0) A 192.0.2.\($0)\n" }.joined())
        #expect(try ZoneLoader.load(file: main, maxRecords: 8).get().zone.records.count == 8)
        guard case .failure(let failure) = ZoneLoader.load(file: main, maxRecords: 7) else {
            Issue.record("8 records over a limit of 7 load")
            return
        }
        #expect(
            failure.errors.map(\.description) == [
                "\(main):8: more than 7 records: the zone is over limits.zone_records"
            ])
    }

    /// The watcher follows included files: `load` names them, also when parsing stopped at an
    /// include that is missing (so that its creation is noticed).
    @Test func loadNamesTheIncludedFiles() throws {
        let dir = F.Dir()
        let main = dir.write(
            "example.com.zone",
            "@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.53\n$INCLUDE sub/hosts.inc\n$INCLUDE gone.inc\n")
        dir.write("sub/hosts.inc", "www A 192.0.2.1\n$INCLUDE more.inc\n$INCLUDE more.inc\n")
        dir.write("sub/more.inc", "mail A 192.0.2.2\n")
        guard case .failure(let failure) = ZoneLoader.load(file: main) else {
            Issue.record("a missing include fails the load")
            return
        }
        let expected = [dir.path + "/sub/hosts.inc", dir.path + "/sub/more.inc", dir.path + "/gone.inc"]
        #expect(failure.includes == expected)
        dir.write("gone.inc", "")
        let outcome = try ZoneLoader.load(file: main).get()
        #expect(outcome.includes == expected)
    }

    @Test func includeWithOriginRestoresTheIncludingState() throws {
        let dir = F.Dir()
        let main = dir.write(
            "example.com.zone",
            "$TTL 300\nwww A 192.0.2.1\n$INCLUDE lab.inc lab ; lab hosts\n  AAAA 2001:db8::1\nafter A 192.0.2.9\n")
        dir.write("lab.inc", "$TTL 60\nhost A 192.0.2.5\n$ORIGIN elsewhere.\nx A 192.0.2.6\n")
        let records = try ZoneLoader.parse(file: main).get().records.map(\.record)
        #expect(
            records.map(\.name.description) == [
                "www.example.com.", "host.lab.example.com.", "x.elsewhere.", "www.example.com.", "after.example.com.",
            ])
        #expect(records.map(\.ttl) == [300, 60, 60, 300, 300])
    }

    @Test func includeLoopIsAProblem() {
        let dir = F.Dir()
        let main = dir.write("example.com.zone", "@ SOA ns1 h 1 2 3 4 5\n$INCLUDE a.inc\n")
        dir.write("a.inc", "a A 192.0.2.1\n\n$INCLUDE example.com.zone\n")
        #expect(
            F.problem(ZoneLoader.parse(file: main))
                == "\(dir.path)/a.inc:3: $INCLUDE loop: \(dir.path)/example.com.zone is already being read")
        let selfish = dir.write("self.zone", "$INCLUDE self.zone\n")
        #expect(
            F.problem(ZoneLoader.parse(file: selfish))
                == "\(selfish):1: $INCLUDE loop: \(selfish) is already being read")
    }

    @Test func includeDeeperThanEightIsAProblem() {
        let dir = F.Dir()
        let main = dir.write("example.com.zone", "$INCLUDE i1.inc\n")
        for depth in 1...9 { dir.write("i\(depth).inc", "h\(depth) A 192.0.2.\(depth)\n$INCLUDE i\(depth + 1).inc\n") }
        #expect(
            F.problem(ZoneLoader.parse(file: main))
                == "\(dir.path)/i8.inc:2: $INCLUDE nested deeper than 8 levels at \(dir.path)/i9.inc")
    }

    @Test func missingIncludeIsAProblemAtTheIncludeLine() {
        let (_, path, result) = F.parse("www A 192.0.2.1\n$INCLUDE /nonexistent/hosts.inc\n")
        #expect(F.problem(result) == "\(path):2: cannot read /nonexistent/hosts.inc: No such file or directory")
    }

    // MARK: syntax errors

    @Test func syntaxErrorReportsTheLineTheRecordStartsOn() {
        let text = """
            $TTL 300
            ; comment
            @ SOA ns1 h ( 1 2
              3 4 5 )

            www A 192.0.2.1
            bad A 192.0.2


            later A 192.0.2.3

            """
        let (_, path, result) = F.parse(text)
        #expect(F.problem(result) == "\(path):7: Syntax error, could not parse the RR's rdata")
        let (_, path2, result2) = F.parse("www A 192.0.2.1\nmx MX ( 10\n  mail\n  extra words )\n")
        #expect(F.problem(result2)?.hasPrefix("\(path2):2: ") == true)
    }

    @Test func onlyClassIN() {
        let (_, path, result) = F.parse("www A 192.0.2.1\nversion 0 CH TXT \"1.0\"\n")
        #expect(F.problem(result) == "\(path):2: class CH is not supported: Carousel serves class IN only")
    }

    @Test func missingFile() {
        let result = ZoneLoader.parse(file: "/nonexistent/example.com.zone")
        #expect(
            F.problem(result) == "/nonexistent/example.com.zone:0: cannot read zone file: No such file or directory")
    }

    // MARK: finding zone files

    @Test func zoneFilesInDirectoriesAndFiles() throws {
        let dir = F.Dir()
        let b = dir.write("b.example.zone", "")
        let a = dir.write("a.example.zone", "")
        dir.write("notes.txt", "")
        dir.write("nested/c.example.zone", "")
        let single = dir.write("nested/db.other", "")
        #expect(try ZoneLoader.zoneFiles(at: [dir.path, single]) == [a, b, single])
        #expect(throws: Problem(file: "/nonexistent", line: 0, message: "cannot read: No such file or directory")) {
            try ZoneLoader.zoneFiles(at: [dir.path, "/nonexistent"])
        }
    }
}
