import DNSWire
import Testing
import Transfer

@testable import CarouselConfig

/// `updates:` read into `UpdatePolicy`, and its mistakes at their lines: updates are always
/// signed and always say where from.
@Suite struct UpdateConfigTests {
    static let keys = """
        tsig_keys:
          - { name: deploy, secret: "eGZyLXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVmZ2hpams=" }
          - { name: acme, secret: "eGZyLXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVmZ2hpams=" }

        """

    func errors(_ text: String) -> [String] {
        switch Config.parse(Self.keys + text, file: "carousel.yaml", baseDirectory: "/etc/carousel") {
        case .success: return []
        case .failure(let e): return e.errors.map(\.description)
        }
    }

    @Test func theIssueExampleParses() throws {
        let c = try Config.parse(
            Self.keys + """
                updates:
                  - zone: example.com
                    tsig: [deploy, acme]
                    allow: ["10.0.0.0/8"]
                    names: ["*.pool.example.com", "_acme-challenge.example.com"]
                    journal: journal/example.com.jnl
                """, file: "carousel.yaml", baseDirectory: "/etc/carousel"
        ).get()
        let u = try #require(c.updates.first)
        let zone = try DNSName("example.com.")
        #expect(u.zone == zone && u.keys.map(\.name.description) == ["deploy.", "acme."])
        #expect(u.allow == [IPPrefix("10.0.0.0/8")!] && u.journal == "/etc/carousel/journal/example.com.jnl")
        let (member, pool) = (try DNSName("a.pool.example.com."), try DNSName("pool.example.com."))
        let (acme, www) = (try DNSName("_acme-challenge.example.com."), try DNSName("www.example.com."))
        #expect(u.permits(member) && !u.permits(pool) && u.permits(acme) && !u.permits(www))
        #expect(c.lines.updates == [5])
    }

    @Test func mistakesAreReportedAtTheirLine() {
        let unsigned = errors("updates:\n  - { zone: example.com, allow: [\"10.0.0.1\"] }")
        #expect(
            unsigned.contains { $0.hasPrefix("carousel.yaml:5: updates[0].tsig: updates must be signed") },
            "\(unsigned)")
        #expect(
            errors("updates:\n  - { zone: example.com, tsig: [deploy] }").contains {
                $0.contains("where updates may come from")
            })
        #expect(
            errors("updates:\n  - { zone: example.com, tsig: [nokey], allow: [\"::1\"] }").contains {
                $0.contains("no key named nokey")
            })
        #expect(
            errors("updates:\n  - { zone: example.com, tsig: deploy, allow: [\"::1\"], names: [\"www.example.org\"] }")
                .contains { $0.contains("not a name in example.com.") })
        let twice = errors(
            "updates:\n  - { zone: example.com, tsig: deploy, allow: [\"::1\"], journal: j }\n  - { zone: example.net, tsig: deploy, allow: [\"::1\"], journal: j }"
        )
        #expect(twice.contains { $0.contains("already the journal of another zone") }, "\(twice)")
    }
}
