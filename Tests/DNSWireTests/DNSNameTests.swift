import DNSWire
import Testing

@Suite("DNSName")
struct DNSNameTests {
    @Test(
        "presentation text round trips, escapes included (RFC 1035 §5.1)",
        arguments: [
            ("www.example.com.", "www.example.com."),
            ("WWW.Example.COM.", "WWW.Example.COM."),
            (".", "."),
            ("a\\.b.example.", "a\\.b.example."),
            ("a\\032b.example.", "a\\032b.example."),
            ("\\065\\066.example.", "AB.example."),
            ("semi\\;colon.example.", "semi\\;colon.example."),
            ("back\\\\slash.example.", "back\\\\slash.example."),
            ("\\000\\255.example.", "\\000\\255.example."),
            ("x\\@y.example.", "x\\@y.example."),
        ])
    func textRoundTrip(text: String, printed: String) throws {
        let n = try DNSName(text)
        #expect(n.description == printed)
        #expect(try DNSName(n.description).wire == n.wire)
    }

    @Test("escapes become the bytes they stand for")
    func escapeBytes() throws {
        #expect(try DNSName("a\\.b.example.").wire == [3, 97, 46, 98, 7] + Array("example".utf8) + [0])
        #expect(try DNSName("a\\032b.").wire == [3, 97, 32, 98, 0])
        #expect(try DNSName("a\\032b.").labels.map(Array.init) == [[97, 32, 98]])
    }

    @Test("relative names take the origin; @ is the origin; no origin means the root")
    func relativeNames() throws {
        let origin = try DNSName("example.com.")
        #expect(try DNSName("www", origin: origin).description == "www.example.com.")
        #expect(try DNSName("a.b", origin: origin).description == "a.b.example.com.")
        #expect(try DNSName("www.other.", origin: origin).description == "www.other.")
        #expect(try DNSName("@", origin: origin) == origin)
        #expect(try DNSName("@") == .root)
        #expect(try DNSName("www").description == "www.")
        #expect(try DNSName("www.example.com.").relative(to: origin) == "www")
        #expect(origin.relative(to: origin) == "@")
        #expect(try DNSName("www.other.").relative(to: origin) == "www.other.")
    }

    @Test("malformed text is refused", arguments: ["", "a..b.", ".a.", "a\\", "a\\25.", "a\\256.", "a\\2x5."])
    func malformedText(text: String) {
        #expect(throws: DNSWireError.self) { try DNSName(text) }
    }

    @Test("a 63-byte label is fine, 64 is not (RFC 1035 §2.3.4)")
    func labelLimit() throws {
        let l63 = String(repeating: "a", count: 63), l64 = String(repeating: "a", count: 64)
        #expect(try DNSName("\(l63).example.").labels[0].count == 63)
        #expect(throws: DNSWireError.self) { try DNSName("\(l64).example.") }
        #expect(throws: DNSWireError.self) { try DNSName(wire: [64] + Array(repeating: 97, count: 64) + [0]) }
        #expect(throws: DNSWireError.self) { try DNSName("a").prepending(label: Array(repeating: 97, count: 64)) }
    }

    @Test("a 255-byte name is fine, 256 is not (RFC 1035 §2.3.4)")
    func nameLimit() throws {
        let l63 = String(repeating: "a", count: 63)
        // 3 × (1 + 63) + (1 + 61) + 1 = 255 bytes of wire.
        let longest = try DNSName([l63, l63, l63, String(repeating: "b", count: 61)].joined(separator: ".") + ".")
        #expect(longest.wire.count == 255)
        #expect(throws: DNSWireError.self) {
            try DNSName([l63, l63, l63, String(repeating: "b", count: 62)].joined(separator: ".") + ".")
        }
        // Relative names are checked after the origin is appended.
        let origin = try DNSName(String(repeating: "c", count: 61) + ".")
        #expect(try DNSName([l63, l63, l63].joined(separator: "."), origin: origin).wire.count == 255)
        #expect(throws: DNSWireError.self) { try DNSName([l63, l63, l63, "d"].joined(separator: "."), origin: origin) }
        #expect(throws: DNSWireError.self) { try longest.prepending(label: [97]) }
        #expect(throws: DNSWireError.self) { try DNSName(wire: Array(longest.wire.dropLast()) + [1, 97, 0]) }
    }

    @Test("wire validation")
    func wireValidation() throws {
        #expect(try DNSName(wire: [3, 99, 111, 109, 0]).description == "com.")
        #expect(throws: DNSWireError.self) { try DNSName(wire: []) }
        #expect(throws: DNSWireError.self) { try DNSName(wire: [3, 99, 111]) }
        #expect(throws: DNSWireError.self) { try DNSName(wire: [3, 99, 111, 109, 0, 0]) }
        #expect(throws: DNSWireError.self) { try DNSName(wire: [0xC0, 12]) }
    }

    @Test("equality and hashing ignore ASCII case only (RFC 4343)")
    func caseInsensitivity() throws {
        let a = try DNSName("WWW.Example.COM."), b = try DNSName("www.example.com.")
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(Set([a, b]).count == 1)
        #expect(a.wire != b.wire)  // the original case is kept
        #expect(a.lowercased.wire == b.wire)
        // Only A–Z fold: 0xC1 and 0xE1 differ, and so do '@' (0x40) and '`' (0x60).
        #expect(try DNSName("\\193.") != DNSName("\\225."))
        #expect(try DNSName("\\@.") != DNSName("`."))
        #expect(try DNSName("a.example.") != DNSName("a.example.com."))
    }

    @Test("isSubdomain works on label boundaries")
    func subdomain() throws {
        let origin = try DNSName("example.com.")
        #expect(try DNSName("www.example.com.").isSubdomain(of: origin))
        #expect(try DNSName("a.b.EXAMPLE.com.").isSubdomain(of: origin))
        #expect(origin.isSubdomain(of: origin))
        #expect(origin.isSubdomain(of: .root))
        #expect(try !DNSName("wwwexample.com.").isSubdomain(of: origin))
        #expect(try !DNSName("com.").isSubdomain(of: origin))
        #expect(try !DNSName("example.net.").isSubdomain(of: origin))
        // One label that merely contains the bytes of `example.com` is not below it.
        #expect(try !DNSName("x\\007example\\003com.").isSubdomain(of: origin))
    }

    @Test("canonical order is RFC 4034 §6.1's example list")
    func canonicalOrder() throws {
        let expected = [
            "example.", "a.example.", "yljkjljk.a.example.", "Z.a.example.", "zABC.a.EXAMPLE.", "z.example.",
            "\\001.z.example.", "*.z.example.", "\\200.z.example.",
        ].map { try! DNSName($0) }
        #expect(expected.reversed().sorted().map(\.description) == expected.map(\.description))
        #expect(expected.shuffled().sorted().map(\.description) == expected.map(\.description))
        for (x, y) in zip(expected, expected.dropFirst()) {
            #expect(x < y && !(y < x), "\(x) < \(y)")
        }
        #expect(!(expected[0] < expected[0]))
        #expect(DNSName.root < expected[0])
        // The precomputed sort key (used to sort big zones) orders the same way.
        let byKey = expected.shuffled().sorted { CanonicalOrder.precedes($0.canonicalKey, $1.canonicalKey) }
        #expect(byKey.map(\.description) == expected.map(\.description))
    }

    /// A label is compared as a byte string, a shorter prefix first: `a` < `a\000` < `a\001`, so
    /// every name under `a.` comes before `a\000.` (a key ending each label with 0 put
    /// `a\000.example.` before `c.a.example.`).
    @Test("labels with zero bytes: a prefix label first, whatever follows it")
    func canonicalOrderWithZeroBytes() throws {
        let expected = [
            "example.", "a.example.", "c.a.example.", "\000.c.a.example.", "z.a.example.", "a\000.example.",
            "c.a\000.example.", "a\000\000.example.", "a\001.example.", "b.example.",
        ].map { try! DNSName($0) }
        #expect(expected.shuffled().sorted().map(\.description) == expected.map(\.description))
        for (x, y) in zip(expected, expected.dropFirst()) {
            #expect(x < y && !(y < x), "\(x) < \(y)")
        }
        let byKey = expected.shuffled().sorted { CanonicalOrder.precedes($0.canonicalKey, $1.canonicalKey) }
        #expect(byKey.map(\.description) == expected.map(\.description))
    }

    @Test("parent, labels and wildcards")
    func structure() throws {
        let www = try DNSName("www.Example.com.")
        #expect(www.parent.description == "Example.com.")
        #expect(www.parent.parent.parent == .root)
        #expect(DNSName.root.parent == .root)
        #expect(www.labelCount == 3)
        #expect(DNSName.root.labelCount == 0)
        #expect(DNSName.root.isRoot && !www.isRoot)
        #expect(try DNSName("*.example.").isWildcard)
        #expect(try !DNSName("a.*.example.").isWildcard)
        #expect(try !DNSName("a*.example.").isWildcard)
        #expect(try !DNSName("**.example.").isWildcard)
        #expect(try DNSName("\\042.example.").isWildcard)  // `*` spelled as an escape is still `*`
        #expect(try DNSName("example.").prepending(label: Array("*".utf8)).isWildcard)
    }
}
