import Testing

@testable import DNSWire

/// The canonical form of RDATA (RFC 4034 §6.2, RFC 6840 §5.1) that signing and verifying share.
@Suite("Canonical RDATA: the names RFC 4034 §6.2 lists lower-cased, everything else as it is")
struct CanonicalRDataTests {
    static func name(_ text: String) -> [UInt8] { try! DNSName(text).wire }

    static func string(_ s: String) -> [UInt8] { [UInt8(s.utf8.count)] + Array(s.utf8) }

    @Test("NAPTR: the replacement lower-cased after the three character-strings, which keep their case")
    func naptr() {
        let head: [UInt8] = [0, 100, 0, 10] + Self.string("S") + Self.string("SIP+D2U") + Self.string("!^.*$!SIP:X@Y!")
        let rdata = head + Self.name("_SIP._UDP.Mail.Example.NET.")
        #expect(CanonicalRData.canonical(.naptr, rdata) == head + Self.name("_sip._udp.mail.example.net."))
    }

    @Test("RT and PX (preference, then one or two names), MX, SOA's two names, SRV; NSEC and TXT untouched")
    func otherTypes() {
        let pref: [UInt8] = [0, 10]
        #expect(
            CanonicalRData.canonical(RRType(21), pref + Self.name("Relay.Example."))
                == pref + Self.name("relay.example."))
        #expect(
            CanonicalRData.canonical(RRType(26), pref + Self.name("A.Example.") + Self.name("B.Example."))
                == pref + Self.name("a.example.") + Self.name("b.example."))
        #expect(CanonicalRData.canonical(.mx, pref + Self.name("MAIL.Example.")) == pref + Self.name("mail.example."))
        let counters = [UInt8](repeating: 0xC1, count: 20)
        #expect(
            CanonicalRData.canonical(.soa, Self.name("NS1.Example.") + Self.name("Host.Example.") + counters)
                == Self.name("ns1.example.") + Self.name("host.example.") + counters)
        let srv: [UInt8] = [0, 1, 0, 2, 0, 53]
        #expect(CanonicalRData.canonical(.srv, srv + Self.name("NS.Example.")) == srv + Self.name("ns.example."))
        // RFC 6840 §5.1: NSEC's next name is kept as it is.
        let nsec = Self.name("Next.Example.") + [0, 1, 0x40]
        #expect(CanonicalRData.canonical(.nsec, nsec) == nsec)
        let txt = Self.string("Hello World")
        #expect(CanonicalRData.canonical(.txt, txt) == txt)
    }

    @Test("RDATA that ends inside a character-string or a name is left as it is, and nothing reads past it")
    func cutShort() {
        let naptr: [UInt8] = [0, 100, 0, 10, 1, 0x53, 9]  // the services string runs off the end
        #expect(CanonicalRData.canonical(.naptr, naptr) == naptr)
        let mx: [UInt8] = [0, 10, 4, 0x4D, 0x41]  // "MA" of a 4-byte label
        #expect(CanonicalRData.canonical(.mx, mx) == mx)
        #expect(CanonicalRData.canonical(.naptr, []) == [])
    }
}
