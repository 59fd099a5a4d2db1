import DNSWire
import Testing

@testable import DNSZone

/// The zone's name table is laid out in canonical order (RFC 4034 §6.1) by `Zone.canonicalOrder`,
/// through `CanonicalOrder`'s one rule: labels holding zero bytes sort after every name below
/// their prefix label.
@Suite("Zone: canonical order of owner names")
struct ZoneCanonicalOrderTests {
    @Test("names below the origin, zero-byte labels among them, sorted as RFC 4034 §6.1 says")
    func sortsByTheOneRule() throws {
        let origin = try DNSName("example.")
        let expected = [
            "example.", "a.example.", "c.a.example.", "\\000.c.a.example.", "Z.a.example.", "a\\000.example.",
            "c.a\\000.example.", "a\\001.example.", "b.example.", "\\200.example.",
        ].map { try! DNSName($0) }
        for _ in 0..<5 {
            let shuffled = expected.shuffled()
            let order = Zone.canonicalOrder(shuffled, commonSuffix: origin)
            #expect(order.map { shuffled[Int($0)].description } == expected.map(\.description))
        }
        #expect(expected.shuffled().sorted() == expected)
    }
}
