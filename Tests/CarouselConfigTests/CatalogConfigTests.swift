import DNSWire
import Testing
import Transfer

@testable import CarouselConfig

/// `catalog:` read into `CatalogSettings`, its mistakes at their lines, and the catalog's records
/// as RFC 9432 lays them out.
@Suite struct CatalogConfigTests {
    static let keys = """
        tsig_keys:
          - { name: xfr, secret: "eGZyLXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVmZ2hpams=" }

        """

    @Test func theIssueExampleParses() throws {
        let c = try Config.parse(
            Self.keys + """
                catalog:
                  zone: catalog.carousel.internal
                  allow: ["10.0.1.0/24"]
                  tsig: xfr
                  notify: ["10.0.1.1:53", "10.0.1.2"]
                  groups: { example.com: signed }
                """, file: "carousel.yaml"
        ).get()
        let catalog = try #require(c.catalog)
        #expect(catalog.zone == (try DNSName("catalog.carousel.internal.")))
        let xfr = try DNSName("xfr.")
        #expect(catalog.allow == [IPPrefix("10.0.1.0/24")!] && catalog.key?.name == xfr)
        #expect(catalog.notify == [HostPort(host: "10.0.1.1", port: 53), HostPort(host: "10.0.1.2", port: 53)])
        #expect(catalog.groups == [try DNSName("example.com."): "signed"])
        #expect(c.lines.catalog == 4)
    }

    @Test func mistakesAreReportedAtTheirLine() {
        func errors(_ text: String) -> [String] {
            switch Config.parse(Self.keys + text, file: "carousel.yaml") {
            case .success: return []
            case .failure(let e): return e.errors.map(\.description)
            }
        }
        let missing = errors("catalog: { allow: [\"10.0.0.1\"] }")
        #expect(missing.contains { $0.hasPrefix("carousel.yaml:3: catalog.zone:") }, "\(missing)")
        #expect(errors("catalog: { zone: c.internal, tsig: nokey }").contains { $0.contains("no key named nokey") })
        #expect(errors("catalog: { zone: c.internal, colour: blue }").contains { $0.contains("unknown key") })
        #expect(
            errors("catalog: { zone: c.internal, allow: [\"nowhere\"] }").contains { $0.contains("not an address") })
        #expect(errors("catalog: { zone: c.internal, groups: [x] }").contains { $0.contains("expected a mapping") })
    }

    @Test func recordsFollowRFC9432() throws {
        let settings = CatalogSettings(
            zone: try DNSName("catalog.carousel.internal."), groups: [try DNSName("example.com."): "signed"])
        let members = [try DNSName("example.com."), try DNSName("example.net.")]
        let records = CatalogZone.records(settings, members: members, serial: 42)
        #expect(records.first?.type == .soa && SOA.serial(records[0].rdata) == 42)
        let ptrs = records.filter { $0.type == .ptr }
        #expect(ptrs.map(\.rdata) == members.map(\.wire))
        #expect(ptrs.allSatisfy { $0.name.description.hasSuffix(".zones.catalog.carousel.internal.") })
        #expect(records.contains { $0.type == .txt && $0.name.description == "version.catalog.carousel.internal." })
        #expect(records.filter { $0.type == .txt }.count == 2)  // version, and example.com's group
        // A member's id depends on its name alone: the same in every version, whatever the order.
        let again = CatalogZone.records(settings, members: members.reversed(), serial: 43).filter { $0.type == .ptr }
        #expect(Set(again.map(\.name)) == Set(ptrs.map(\.name)))
        #expect(CatalogZone.memberID(try DNSName("Example.COM.")) == CatalogZone.memberID(try DNSName("example.com.")))
    }
}
