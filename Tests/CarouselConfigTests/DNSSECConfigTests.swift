import DNSSEC
import DNSWire
import Testing

@testable import CarouselConfig

@Suite("carousel.yaml: dnssec")
struct DNSSECConfigTests {
    @Test("a signed zone: keys relative to the config, lifetime in days, the DNSKEY TTL")
    func reads() throws {
        let text = """
            dnssec:
              - zone: example.com
                keys: keys/example.com
                signature_lifetime: 21d
                dnskey_ttl: 600
              - zone: example.net.
                keys: /var/lib/carousel/keys
            """
        let c = try Config.parse(text, file: "carousel.yaml", baseDirectory: "/etc/carousel").get()
        #expect(
            c.dnssec == [
                DNSSECZone(
                    zone: try DNSName("example.com."), keys: "/etc/carousel/keys/example.com",
                    signatureLifetime: 21 * 86400, dnskeyTTL: 600),
                DNSSECZone(zone: try DNSName("example.net."), keys: "/var/lib/carousel/keys"),
            ])
        #expect(c.lines.dnssec == [2, 6])
    }

    @Test("each bad entry is an error at its line")
    func errors() {
        let text = """
            dnssec:
              - zone: example.com
                keys: k
                signature_lifetime: 1h
                dnskey_ttl: -1
                algorithm: 13
              - keys: k
              - zone: example.org
              - zone: example.com
                keys: k2
            """
        guard case .failure(let e) = Config.parse(text, file: "carousel.yaml") else {
            Issue.record("expected errors")
            return
        }
        let lines = e.errors.map(\.description)
        for expected in [
            "carousel.yaml:4: dnssec[0].signature_lifetime:",
            "carousel.yaml:5: dnssec[0].dnskey_ttl:",
            "carousel.yaml:6: dnssec[0].algorithm: unknown key",
            "carousel.yaml:7: dnssec[1].zone: every dnssec entry needs a zone",
            "carousel.yaml:8: dnssec[2].keys: every dnssec entry needs a keys directory",
            "carousel.yaml:9: dnssec[3].zone: zone example.com. is already signed above",
        ] {
            #expect(lines.contains { $0.hasPrefix(expected) }, "\(expected)\n\(lines.joined(separator: "\n"))")
        }
    }
}
