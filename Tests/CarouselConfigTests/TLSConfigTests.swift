import DNSWire
import Testing
import Transfer

@testable import CarouselConfig

/// `tls:` (the DNS-over-TLS listeners) and a secondary's `tls:` (how it authenticates its
/// primary), and their mistakes at their lines.
@Suite struct TLSConfigTests {
    static let pin = "FHkyLhvI0n70E47cJlRTamTrnYVcsYdjUGbr79CfAVI="

    func errors(_ text: String) -> [String] {
        switch Config.parse(text, file: "carousel.yaml", baseDirectory: "/etc/carousel") {
        case .success: return []
        case .failure(let e): return e.errors.map(\.description)
        }
    }

    @Test func theIssueExampleParses() throws {
        let c = try Config.parse(
            """
            tls:
              listen: ["10.0.0.5:853", "[2001:db8::5]:853"]
              certificate: tls/cert.pem
              key: /etc/carousel/tls/key.pem
            secondaries:
              - { zone: example.net, primary: "10.0.0.10:853", tls: { verify_name: ns.example.net., ca: ca.pem } }
              - { zone: example.org, primary: "10.0.0.11:853", tls: { pin_sha256: "\(Self.pin)" } }
            """, file: "carousel.yaml", baseDirectory: "/etc/carousel"
        ).get()
        let tls = try #require(c.tls)
        #expect(tls.listen == [HostPort(host: "10.0.0.5", port: 853), HostPort(host: "2001:db8::5", port: 853)])
        #expect(tls.certificate == "/etc/carousel/tls/cert.pem" && tls.key == "/etc/carousel/tls/key.pem")
        #expect(c.lines.tls == 2)
        #expect(c.secondaries[0].tls == TLSPeer(verifyName: "ns.example.net", ca: "/etc/carousel/ca.pem"))
        #expect(c.secondaries[1].tls?.pins.first?.count == 32 && c.secondaries[1].tls?.verifyName == nil)
        #expect(c.secondaries[1].primary.port == 853)
    }

    @Test func mistakesAreReportedAtTheirLine() {
        let noKey = errors("zones: []\ntls: { listen: [\"127.0.0.1:853\"], certificate: c.pem }")
        #expect(noKey.contains { $0.hasPrefix("carousel.yaml:2: tls:") && $0.contains("key:") }, "\(noKey)")
        #expect(
            errors("tls: { listen: [\"localhost\"], certificate: c.pem, key: k.pem }").contains {
                $0.contains("tls.listen: \"localhost\" is not ADDRESS:PORT")
            })
        #expect(errors("tls: { listen: [], certificate: c.pem, key: k.pem }").contains { $0.contains("at least one") })
        #expect(errors("tls: { certificate: c.pem, key: k.pem, ocsp: o.pem }").contains { $0.contains("unknown key") })
        func secondary(_ tls: String) -> [String] {
            errors("secondaries:\n  - { zone: example.net, primary: \"10.0.0.10:853\", tls: \(tls) }")
        }
        #expect(secondary("{ ca: ca.pem }").contains { $0.contains("needs verify_name") })
        #expect(secondary("{ pin_sha256: \"abcd\" }").contains { $0.contains("not the base64 of a SHA-256 digest") })
        #expect(
            secondary("{ pin_sha256: \"\(Self.pin)\", verify_name: ns.example.net }").contains {
                $0.contains("give it alone")
            })
        #expect(secondary("{ verify_name: \"not a name!\" }") != [])
        #expect(secondary("{ verify_name: ns.example.net }") == [])
    }
}
