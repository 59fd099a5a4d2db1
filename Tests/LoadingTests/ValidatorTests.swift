import CarouselConfig
import DNSWire
import DNSZone
import Foundation
import Loading
import Testing
import ZoneFiles

/// The one validator of a config against the zones it would serve (what `carousel check` and
/// every reload run): each problem at the config line that causes it.
@Suite("Loading: the config against the zones")
struct ValidatorTests {
    static let zone: Zone = {
        let text = """
            $ORIGIN example.test.
            $TTL 300
            @ IN SOA ns1 hostmaster 1 3600 600 1209600 60
            @ IN NS ns1
            ns1 IN A 192.0.2.53
            www IN A 192.0.2.1
            www IN A 192.0.2.2

            """
        let path = FileManager.default.temporaryDirectory.path + "/carousel-validator-\(UUID().uuidString).zone"
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let parsed = try! ZoneLoader.parse(file: path).get()
        return try! Zone.build(origin: parsed.origin, file: path, records: parsed.records.map(\.record))
    }()

    func problems(_ yaml: String) throws -> [String] {
        let config = try Config.parse(yaml, file: "carousel.yaml").get()
        return Validator.problems(config, file: "carousel.yaml", zones: [Self.zone]).map(\.description)
    }

    @Test("a config that fits the zones has no problem")
    func fits() throws {
        #expect(
            try problems(
                """
                pools:
                  - name: www.example.test
                    tiers:
                      - { members: ["192.0.2.1"] }
                      - { members: ["192.0.2.2"] }
                transfers:
                  - zone: example.test
                """
            ).isEmpty)
    }

    @Test(
        "each problem at its line: a pool with no records, a tier member not in the zone and an address in no tier, a transfer and a signed zone nobody serves"
    )
    func problemsAtTheirLines() throws {
        let found = try problems(
            """
            pools:
              - name: nothing.example.test
              - name: www.example.test
                tiers:
                  - { members: ["192.0.2.1", "192.0.2.9"] }
            transfers:
              - zone: other.test
            dnssec:
              - zone: other.test
                keys: keys
            """)
        #expect(
            found == [
                "carousel.yaml:2: pools: nothing.example.test has no A or AAAA records in any zone",
                "carousel.yaml:3: pools: www.example.test: 192.0.2.2 is in the zone but in no tier (tiers must hold every address)",
                "carousel.yaml:3: pools: www.example.test: tier 1 member 192.0.2.9 is not an A or AAAA record of the pool",
                "carousel.yaml:7: transfers: no zone file or secondaries entry serves other.test.",
                "carousel.yaml:9: dnssec: other.test. is not served by any zone file",
            ], "\(found)")
    }

    @Test("a pool in a zone pulled from a primary is not refused before its records arrive")
    func pulledZones() throws {
        #expect(
            try problems(
                """
                pools:
                  - name: www.pulled.test
                secondaries:
                  - { zone: pulled.test, primary: "192.0.2.10:53" }
                """
            ).isEmpty)
    }

    @Test("updates: only for a zone served from a zone file here, at its line")
    func updatesNeedAZoneFile() throws {
        let keys = "tsig_keys:\n  - { name: k, secret: \"eGZyLXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVmZ2hpams=\" }\n"
        let update = "  - { zone: %@, tsig: [k], allow: [\"127.0.0.1\"] }\n"
        #expect(try problems(keys + "updates:\n" + update.replacingOccurrences(of: "%@", with: "example.test")).isEmpty)
        let pulled = try problems(
            keys + "secondaries:\n  - { zone: example.org, primary: \"192.0.2.9:53\" }\nupdates:\n"
                + update.replacingOccurrences(of: "%@", with: "example.org")
                + update.replacingOccurrences(of: "%@", with: "example.net"))
        #expect(
            pulled == [
                "carousel.yaml:6: updates: example.org. is pulled from a primary (update it there)",
                "carousel.yaml:7: updates: example.net. is not served by any zone file",
            ], "\(pulled)")
    }
}
