import DNSWire
import DNSZone
import Testing
import ZoneFiles

private typealias F = LoaderFixture

/// Each case: zone text (after `LoaderFixture.head`, so its first line is line 5) and the exact
/// problems `ZoneLoader.check` reports, with `FILE` standing for the zone file's path.
@Suite("Zone loader: named-checkzone checks")
struct ZoneCheckTests {
    func check(_ body: String, head: String = F.head) throws -> (errors: [String], warnings: [String]) {
        let (dir, path, result) = F.parse(head + body)
        let zone = try result.get()
        let found = ZoneLoader.check(zone)
        func text(_ problems: [Problem]) -> [String] {
            problems.map { $0.description.replacingOccurrences(of: path, with: "FILE") }
        }
        _ = dir
        return (text(found.errors), text(found.warnings))
    }

    @Test func aValidZoneHasNoProblems() throws {
        let body = """
            www A 192.0.2.1
                AAAA 2001:db8::1
            alias CNAME www
            sub NS ns.sub
                NS ns1.example.net.
                DS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
            ns.sub A 192.0.2.60
            *.wild TXT "any"
            d DNAME example.net.
            """
        #expect(try check(body) == ([], []))
    }

    @Test func missingSOAAndApexNS() throws {
        #expect(
            try check("www A 192.0.2.1\n", head: "").errors == [
                "FILE:1: example.com.: no SOA record at the zone apex",
                "FILE:1: example.com.: no NS records at the zone apex",
            ])
        #expect(
            try check("www A 192.0.2.1\n", head: "@ SOA ns1 h 1 2 3 4 5\nns1 A 192.0.2.53\n").errors == [
                "FILE:1: example.com.: no NS records at the zone apex"
            ])
    }

    @Test func soaAwayFromTheApexOrRepeated() throws {
        #expect(
            try check("www SOA ns1 h 1 2 3 4 5\n@ SOA ns1 h 2 2 3 4 5\n").errors == [
                "FILE:5: www.example.com. SOA: SOA record not at the zone apex example.com.",
                "FILE:6: example.com. SOA: more than one SOA record at the zone apex",
            ])
    }

    @Test func outOfZone() throws {
        #expect(
            try check("www A 192.0.2.1\nwww.example.net. A 192.0.2.2\nexample.com.evil. TXT \"x\"\n").errors == [
                "FILE:6: www.example.net. A: out of zone example.com.",
                "FILE:7: example.com.evil. TXT: out of zone example.com.",
            ])
    }

    @Test func cnameAndOtherData() throws {
        let body = """
            www CNAME web
                A 192.0.2.1
                MX 10 mail
                A 192.0.2.2
            two CNAME a
                CNAME b
            ok CNAME web
                RRSIG A 13 3 300 20300101000000 20200101000000 12345 example.com. AAAA
                NSEC web A
            @ CNAME www
            """
        #expect(
            try check(body).errors == [
                "FILE:5: www.example.com. CNAME: CNAME and other data at the same name (A, MX)",
                "FILE:10: two.example.com. CNAME: more than one CNAME record at the same name",
                "FILE:14: example.com. CNAME: CNAME and other data at the same name (SOA, NS)",
            ])
    }

    @Test func missingGlueAndAddresses() throws {
        let body = """
            sub NS ns.sub
                NS ns.example.net.
            sub2 NS sub2
            ok NS ns.ok
            ns.ok AAAA 2001:db8::53
            side NS ns.example.com.
            side NS ns.sub
            @ NS ns2
            @ NS ns.sub3
            sub3 NS ns.example.net.
            alias CNAME ns1
            @ NS alias
            """
        #expect(
            try check(body).errors == [
                "FILE:5: sub.example.com. NS: missing glue: no A or AAAA record for ns.sub.example.com.",
                "FILE:7: sub2.example.com. NS: missing glue: no A or AAAA record for sub2.example.com.",
                "FILE:10: side.example.com. NS: no A or AAAA record for ns.example.com.",
                "FILE:11: side.example.com. NS: missing glue: no A or AAAA record for ns.sub.example.com.",
                "FILE:12: example.com. NS: no A or AAAA record for ns2.example.com.",
                "FILE:13: example.com. NS: missing glue: no A or AAAA record for ns.sub3.example.com.",
                "FILE:16: example.com. NS: NS target alias.example.com. is a CNAME, not a host name",
            ])
    }

    @Test func dataBelowACutIsOccluded() throws {
        let body = """
            sub NS ns.sub
            ns.sub A 192.0.2.60
            sub TXT "at the cut"
            sub DS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
            www.sub A 192.0.2.61
            www.sub TXT "below"
            deep.sub NS ns.deep.sub
            """
        #expect(
            try check(body).errors == [
                "FILE:7: sub.example.com. TXT: occluded by the delegation at sub.example.com.",
                "FILE:10: www.sub.example.com. TXT: occluded by the delegation at sub.example.com.",
                "FILE:11: deep.sub.example.com. NS: occluded by the delegation at sub.example.com.",
            ])
    }

    @Test func dnameWithDescendants() throws {
        let body = """
            d DNAME example.net.
            www.d A 192.0.2.1
            a.b.d TXT "deep"
            """
        #expect(
            try check(body).errors == [
                "FILE:6: www.d.example.com. A: below the DNAME at d.example.com.",
                "FILE:7: a.b.d.example.com. TXT: below the DNAME at d.example.com.",
            ])
    }

    @Test func ttlLimits() throws {
        #expect(
            try check("big 2147483648 A 192.0.2.1\nmax 2147483647 A 192.0.2.2\n").errors == [
                "FILE:5: big.example.com. A: TTL 2147483648 above the maximum 2147483647"
            ])
    }

    @Test func differentTTLsInAnRRsetWarnOnly() throws {
        let found = try check("www 300 A 192.0.2.1\nwww 60 A 192.0.2.2\nwww 60 AAAA 2001:db8::1\n")
        #expect(found.errors == [])
        #expect(found.warnings == ["FILE:6: www.example.com. A: TTL 60 differs from 300 earlier in the same RRset"])
    }

    @Test func severalErrorsAtOnceInFileOrder() throws {
        let body = """
            www CNAME web
            www A 192.0.2.1
            out.example.org. A 192.0.2.2
            sub NS ns.sub
            x.sub TXT "hidden"
            """
        #expect(
            try check(body).errors == [
                "FILE:5: www.example.com. CNAME: CNAME and other data at the same name (A)",
                "FILE:7: out.example.org. A: out of zone example.com.",
                "FILE:8: sub.example.com. NS: missing glue: no A or AAAA record for ns.sub.example.com.",
                "FILE:9: x.sub.example.com. TXT: occluded by the delegation at sub.example.com.",
            ])
    }

    @Test func problemsInIncludedFilesNameThatFile() throws {
        let dir = F.Dir()
        let main = dir.write("example.com.zone", F.head + "$INCLUDE hosts.inc\n")
        let hosts = dir.write("hosts.inc", "www A 192.0.2.1\nwww CNAME web\n")
        let zone = try ZoneLoader.parse(file: main).get()
        #expect(
            ZoneLoader.check(zone).errors.map(\.description) == [
                "\(hosts):2: www.example.com. CNAME: CNAME and other data at the same name (A)"
            ])
    }

    @Test func loadReturnsAllErrorsOrTheZoneWithWarnings() throws {
        let dir = F.Dir()
        let good = dir.write("example.com.zone", F.head + "www 300 A 192.0.2.1\nwww 60 A 192.0.2.2\n")
        let outcome = try ZoneLoader.load(file: good).get()
        #expect(outcome.zone.records.count == 5)
        #expect(outcome.warnings.map(\.line) == [6])

        let bad = dir.write("example.org.zone", "@ SOA ns1 h 1 2 3 4 5\nwww CNAME a\nwww CNAME b\n")
        let failure = try #require(ZoneLoader.load(file: bad).failure)
        #expect(
            failure.description == """
                \(bad):1: example.org.: no NS records at the zone apex
                \(bad):3: www.example.org. CNAME: more than one CNAME record at the same name
                """)

        let broken = dir.write("example.net.zone", "@ SOA ns1 h 1 2 3\n")
        #expect(ZoneLoader.load(file: broken).failure?.errors.map(\.line) == [1])
    }
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let f) = self { return f }
        return nil
    }
}
