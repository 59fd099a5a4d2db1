import DNSWire
import Responder
import Testing

@testable import Responder

/// DNS Cookies (RFC 7873) with RFC 9018's server cookie, held to the RFC's own test vectors, and
/// NSID (RFC 5001).
@Suite("Responder: DNS Cookies and NSID")
struct CookieTests {
    static func bytes(_ hex: String) -> [UInt8] {
        let d = Array(hex.utf8)
        return stride(from: 0, to: d.count, by: 2).map {
            UInt8(String(decoding: d[$0...($0 + 1)], as: UTF8.self), radix: 16)!
        }
    }

    static func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }

    /// RFC 9018 Appendix A's secret and clients.
    static let secret = CookieSecret(bytes("e5e973e5a6b2a43f48e7dc849e37bfcf"))!
    static let client1 = ClientAddress([198, 51, 100, 100])
    static let client2 = ClientAddress([203, 0, 113, 203])
    static let client6 = ClientAddress(bytes("20010db80220000159ded0f4876982b8"))

    /// `DNSCookies.respond` on `cookie` (hex): the response option's data as hex, and the verdict.
    static func respond(
        _ cookie: String, _ client: ClientAddress, _ secret: CookieSecret, previous: CookieSecret? = nil, now: UInt32
    )
        -> (String, DNSCookies.Status)
    {
        var out = [UInt8](repeating: 0, count: 24)
        let verdict = bytes(cookie).withUnsafeBytes { c in
            out.withUnsafeMutableBytes {
                DNSCookies.respond(
                    to: c, client: client, secret: secret, previous: previous, now: now, into: $0)
            }
        }
        return (hex(out), verdict)
    }

    @Test("SipHash-2-4: the reference vector (key 00…0f, message 00…0e)")
    func sipHash() {
        let key = CookieSecret(Array(0...15))!
        let message = [UInt8](0...14)
        let h = message.withUnsafeBytes { SipHash24.hash($0, key: (key.k0, key.k1)) }
        #expect(h == 0xa129_ca61_49be_45e5)
    }

    @Test("RFC 9018 A.1: a client cookie alone learns a new server cookie")
    func learning() {
        let (out, verdict) = Self.respond("2464c4abcf10c957", Self.client1, Self.secret, now: 1_559_731_985)
        #expect(out == "2464c4abcf10c957010000005cf79f111f8130c3eee29480")
        #expect(verdict == .learning)
    }

    @Test("RFC 9018 A.2: a valid cookie 40 minutes old is renewed; within 30 minutes it is sent back")
    func renewal() {
        let cookie = "2464c4abcf10c957010000005cf79f111f8130c3eee29480"
        let (renewed, verdict) = Self.respond(cookie, Self.client1, Self.secret, now: 1_559_734_385)
        #expect(renewed == "2464c4abcf10c957010000005cf7a871d4a564a1442aca77")
        #expect(verdict == .valid)
        let (kept, fresh) = Self.respond(cookie, Self.client1, Self.secret, now: 1_559_731_985 + 600)
        #expect(kept == cookie && fresh == .valid)
    }

    @Test("RFC 9018 A.3: the reserved bytes are hashed as sent; past an hour the cookie is not valid")
    func reservedAndAge() {
        let cookie = "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5"
        let (kept, valid) = Self.respond(cookie, Self.client2, Self.secret, now: 1_559_727_985 + 10)
        #expect(kept == cookie && valid == .valid)
        let (renewed, verdict) = Self.respond(cookie, Self.client2, Self.secret, now: 1_559_734_700)
        #expect(renewed == "fc93fc62807ddb86010000005cf7a9acf73a7810aca2381e")
        #expect(verdict == .learning)
        // From more than five minutes in the future: not valid either.
        #expect(Self.respond(cookie, Self.client2, Self.secret, now: 1_559_727_985 - 301).1 == .learning)
        // For another address: not valid.
        #expect(Self.respond(cookie, Self.client1, Self.secret, now: 1_559_727_985).1 == .learning)
    }

    @Test("RFC 9018 A.4: IPv6, and a cookie made with the secret before a rollover")
    func ipv6AndRollover() {
        let old = CookieSecret(Self.bytes("dd3bdf9344b678b185a6f5cb60fca715"))!
        let new = CookieSecret(Self.bytes("445536bcd2513298075a5d379663c962"))!
        let cookie = "22681ab97d52c298010000005cf7c57926556bd0934c72f8"
        let (out, verdict) = Self.respond(cookie, Self.client6, new, now: 1_559_741_961)
        #expect(out == "22681ab97d52c298010000005cf7c609a6bb79d16625507a")
        #expect(verdict == .learning)
        #expect(Self.respond(cookie, Self.client6, old, now: 1_559_741_961).1 == .valid)
        // During a rollover (the new secret, the old one as previous): valid, and replaced by
        // the new secret's cookie, as the RFC's vector has it.
        let (rolled, during) = Self.respond(cookie, Self.client6, new, previous: old, now: 1_559_741_961)
        #expect(rolled == "22681ab97d52c298010000005cf7c609a6bb79d16625507a")
        #expect(during == .valid)
    }

    static func server(nsid: String? = "carousel-a", cookies: Bool = true, client: ClientAddress = client1) throws
        -> Server
    {
        var options = ResponderOptions()
        options.nsid = nsid.map { Array($0.utf8) }
        options.cookieSecret = cookies ? secret : nil
        var s = try Fixture.server([Zones.exampleCom], options: options)
        s.client = client
        return s
    }

    static func query(_ options: [EDNSOption]) -> Message {
        Message.query(try! DNSName("mail.example.com."), .a, edns: EDNS(payload: 1232), ednsOptions: options)
    }

    @Test("a query's COOKIE gets the client cookie and a server cookie back; the next query with it is valid")
    func cookieRoundTrip() throws {
        let server = try Self.server()
        let first = try server.ask(Self.query([EDNSOption(code: 10, data: Self.bytes("2464c4abcf10c957"))]))
        #expect(first.answer == ["mail.example.com. 3600 A 192.0.2.25"])
        #expect(first.outcome.cookie == .learning)
        let sent = try #require(first.message.ednsOptions.first { $0.code == 10 })
        #expect(sent.data.count == 24 && Array(sent.data[0..<8]) == Self.bytes("2464c4abcf10c957"))
        #expect(Array(sent.data[8..<12]) == [1, 0, 0, 0])
        let second = try server.ask(Self.query([EDNSOption(code: 10, data: sent.data)]))
        #expect(second.outcome.cookie == .valid)
        #expect(second.message.ednsOptions.first { $0.code == 10 }?.data == sent.data)
        // From another address the same cookie is not valid.
        var moved = server
        moved.client = Self.client2
        #expect(try moved.ask(Self.query([EDNSOption(code: 10, data: sent.data)])).outcome.cookie == .learning)
    }

    @Test("NSID: sent when asked for, with a cookie too; not sent unasked or when not configured")
    func nsid() throws {
        let server = try Self.server()
        let asked = try server.ask(
            Self.query([EDNSOption(code: 3, data: []), EDNSOption(code: 10, data: Self.bytes("2464c4abcf10c957"))]))
        #expect(asked.message.ednsOptions.map(\.code) == [3, 10])
        #expect(asked.message.ednsOptions.first?.data == Array("carousel-a".utf8))
        #expect(try server.ask(Self.query([])).message.ednsOptions.isEmpty)
        let none = try Self.server(nsid: nil, cookies: false)
        #expect(
            try none.ask(
                Self.query([EDNSOption(code: 3, data: []), EDNSOption(code: 10, data: Self.bytes("2464c4abcf10c957"))])
            ).message.ednsOptions.isEmpty)
    }

    @Test("a COOKIE option of a wrong length is FORMERR (RFC 7873 §5.2.2)", arguments: [0, 7, 9, 15, 41])
    func badLength(length: Int) throws {
        let server = try Self.server()
        let r = try server.ask(Self.query([EDNSOption(code: 10, data: [UInt8](repeating: 7, count: length))]))
        #expect(r.rcode == RCode.formErr.rawValue)
    }

    @Test("an answer that fills the payload still has room for the OPT with NSID and COOKIE")
    func roomForOptions() throws {
        let server = try Self.server(nsid: String(repeating: "n", count: 100))
        // 100 A records do not fit in 1232 bytes: TC, and the OPT with both options still there.
        let r = try server.ask(
            Message.query(
                try DNSName("huge.example.com."), .a, edns: EDNS(payload: 1232),
                ednsOptions: [
                    EDNSOption(code: 3, data: []), EDNSOption(code: 10, data: Self.bytes("2464c4abcf10c957")),
                ]))
        #expect(r.has(Header.tcBit) && r.bytes.count <= 1232)
        #expect(r.message.ednsOptions.map(\.code) == [3, 10])
    }

    @Test("an NSID too long for the payload is left out; the question, the answer and the COOKIE are not")
    func nsidThatDoesNotFit() throws {
        let server = try Self.server(nsid: String(repeating: "n", count: 512))
        for payload: UInt16 in [113, 512] {
            let r = try server.ask(
                Message.query(
                    try DNSName("mail.example.com."), .a, edns: EDNS(payload: payload),
                    ednsOptions: [
                        EDNSOption(code: 3, data: []), EDNSOption(code: 10, data: Self.bytes("2464c4abcf10c957")),
                    ]))
            #expect(r.message.question.count == 1 && r.bytes.count <= 512, "payload \(payload)")
            #expect(r.answer == ["mail.example.com. 3600 A 192.0.2.25"])
            #expect(r.message.ednsOptions.map(\.code) == [10], "the COOKIE stays, the NSID goes")
        }
        // Where it fits, it comes.
        let big = try server.ask(
            Message.query(
                try DNSName("mail.example.com."), .a, edns: EDNS(payload: 1232),
                ednsOptions: [EDNSOption(code: 3, data: [])]))
        #expect(big.message.ednsOptions.first { $0.code == 3 }?.data.count == 512)
    }
}
