import CarouselConfig
import DNSWire
import Testing

@testable import Transfer

@Suite struct TransferResponderTests {
    let origin = try! DNSName("example.test.")
    let key = TSIGKey(name: try! DNSName("xfr."), algorithm: .hmacSHA256, secret: Vectors.secret)
    let loopback: [UInt8] = [127, 0, 0, 1]

    var journal: ZoneJournal {
        var j = ZoneJournal(ZoneVersion(origin: origin, soa: soa(1), records: [a("www.example.test.", "192.0.2.1")]))
        j.advance(to: ZoneVersion(origin: origin, soa: soa(2), records: [a("www.example.test.", "192.0.2.2")]))
        return j
    }

    func respond(_ request: [UInt8], source: [UInt8]? = nil, tcp: Bool = true, requireKey: Bool = false) -> [[UInt8]] {
        let policy = TransferPolicy(zone: origin, allow: [AddressPrefix("127.0.0.0/8")!], key: requireKey ? key : nil)
        return TransferResponder.respond(
            to: request, source: source ?? loopback, tcp: tcp, keyring: TSIGKeyring([key]), policies: [origin: policy],
            journals: [origin: journal])
    }

    func rcode(_ m: [UInt8]) -> UInt16 { (try? Message.decode(m).rcode) ?? 99 }

    @Test func axfrFromAnAllowedAddress() throws {
        let out = respond(Message.query(origin, .axfr, flags: 0).encode())
        let answer = try out.flatMap { try Message.decode($0).answer }
        #expect(answer.count == 3)
        #expect(answer.first?.type == .soa && answer.last?.type == .soa)
    }

    @Test func otherAddressesAreRefused() {
        let out = respond(Message.query(origin, .axfr, flags: 0).encode(), source: [192, 0, 2, 9])
        #expect(out.count == 1 && rcode(out[0]) == RCode.refused.rawValue)
        let v6 = respond(Message.query(origin, .axfr, flags: 0).encode(), source: Array(repeating: 0, count: 15) + [1])
        #expect(rcode(v6[0]) == RCode.refused.rawValue)
    }

    @Test func aRequiredKeyMustSign() throws {
        let unsigned = respond(Message.query(origin, .axfr, flags: 0).encode(), requireKey: true)
        #expect(rcode(unsigned[0]) == RCode.refused.rawValue)
        let (signed, mac) = TSIG.sign(Message.query(origin, .axfr, flags: 0).encode(), key: key)
        let out = respond(signed, requireKey: true)
        var v = TSIGStreamVerifier(key: key, requestMAC: mac)
        for m in out { try v.check(m) }
        #expect(rcode(out[0]) == 0)
        let wrong = TSIGKey(name: try DNSName("xfr."), algorithm: .hmacSHA256, secret: Array("wrong".utf8))
        let bad = respond(
            TSIG.sign(Message.query(origin, .axfr, flags: 0).encode(), key: wrong).message, requireKey: true)
        #expect(rcode(bad[0]) == RCode.notAuth.rawValue)
        #expect(try TSIG.find(in: bad[0])?.error == TSIGError.badSig)
    }

    @Test func ixfrAnswersDiffsOverTCPAndTheSOAOverUDP() throws {
        var q = Message.query(origin, .ixfr, flags: 0)
        q.authority = [soa(1)]
        let tcp = try respond(q.encode()).flatMap { try Message.decode($0).answer }
        #expect(tcp.count == 6)  // SOA2, SOA1, old A, SOA2, new A, SOA2
        let udp = try respond(q.encode(), tcp: false).flatMap { try Message.decode($0).answer }
        #expect(udp == [soa(2)])
        #expect(
            rcode(respond(Message.query(origin, .axfr, flags: 0).encode(), tcp: false)[0]) == RCode.refused.rawValue)
    }

    @Test func unknownZoneIsRefused() throws {
        let out = respond(Message.query(try DNSName("other.test."), .axfr, flags: 0).encode())
        #expect(rcode(out[0]) == RCode.refused.rawValue)
    }
}
