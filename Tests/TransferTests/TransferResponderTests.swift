import DNSWire
import Testing

@testable import Transfer

@Suite struct TransferResponderTests {
    let origin = try! DNSName("example.test.")
    let key = TSIGKey(name: try! DNSName("xfr."), algorithm: .hmacSHA256, secret: Vectors.secret)
    let loopback: [UInt8] = [127, 0, 0, 1]
    /// A zone served here without a `transfers:` entry.
    let served = try! DNSName("served.test.")

    var journal: ZoneJournal {
        var j = ZoneJournal(ZoneVersion(origin: origin, soa: soa(1), records: [a("www.example.test.", "192.0.2.1")]))
        j.advance(to: ZoneVersion(origin: origin, soa: soa(2), records: [a("www.example.test.", "192.0.2.2")]))
        return j
    }

    func respond(_ request: [UInt8], source: [UInt8]? = nil, tcp: Bool = true, requireKey: Bool = false) -> [[UInt8]] {
        let policy = PrimaryZone(zone: origin, allow: [IPPrefix("127.0.0.0/8")!], key: requireKey ? key : nil)
        return TransferResponder.respond(
            to: request, source: source ?? loopback, tcp: tcp, keyring: TSIGKeyring([key]), primaries: [origin: policy],
            journals: [origin: journal], serves: { $0 == origin || $0 == served })
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
    }

    /// The EDE options of a reply, as (INFO-CODE, EXTRA-TEXT).
    func extendedErrors(_ m: Message) -> [(UInt16, String)] {
        m.ednsOptions.filter { $0.code == EDNSOptionCode.extendedError && $0.data.count >= 2 }.map {
            (UInt16($0.data[0]) << 8 | UInt16($0.data[1]), String(decoding: $0.data[2...], as: UTF8.self))
        }
    }

    @Test("AXFR over UDP is NOTIMP, as NSD and Knot answer it (RFC 5936 §4.2)")
    func axfrOverUDP() throws {
        let out = respond(
            Message.query(origin, .axfr, flags: Header.rdBit, edns: EDNS(payload: 1232)).encode(), tcp: false)
        let m = try Message.decode(out[0])
        #expect(out.count == 1 && m.rcode == RCode.notImp.rawValue)
        #expect(!m.has(Header.aaBit) && m.has(Header.rdBit) && m.has(Header.qrBit))
        #expect(m.edns != nil && m.ednsOptions.isEmpty && m.answer.isEmpty)
    }

    @Test("a refused transfer: REFUSED, AA clear, RD copied, EDE 18 saying why when the request had an OPT")
    func refusalsSayWhy() throws {
        let edns = EDNS(payload: 1232)
        let other = try Message.decode(
            respond(Message.query(origin, .axfr, flags: Header.rdBit, edns: edns).encode(), source: [192, 0, 2, 9])[0])
        #expect(other.rcode == RCode.refused.rawValue && !other.has(Header.aaBit) && other.has(Header.rdBit))
        #expect(other.question == [Question(name: origin, type: .axfr)])
        #expect(extendedErrors(other).map(\.0) == [ExtendedErrorCode.prohibited])
        #expect(extendedErrors(other).first?.1 == "not allowed from 192.0.2.9")

        let unsigned = try Message.decode(
            respond(Message.query(origin, .axfr, flags: 0, edns: edns).encode(), requireKey: true)[0])
        #expect(unsigned.rcode == RCode.refused.rawValue && !unsigned.has(Header.aaBit) && !unsigned.has(Header.rdBit))
        #expect(extendedErrors(unsigned).first?.1 == "TSIG key xfr. required")

        let closed = try Message.decode(respond(Message.query(served, .axfr, flags: 0, edns: edns).encode())[0])
        #expect(closed.rcode == RCode.refused.rawValue)
        #expect(extendedErrors(closed).first?.1 == "no transfers of this zone")

        // Without an OPT in the request, none in the reply (RFC 6891 §7).
        let plain = try Message.decode(
            respond(Message.query(origin, .axfr, flags: 0).encode(), source: [192, 0, 2, 9])[0])
        #expect(plain.rcode == RCode.refused.rawValue && plain.edns == nil && !plain.has(Header.aaBit))
    }

    @Test("a zone not served here is NOTAUTH, as NSD and Knot answer it")
    func unknownZoneIsNotAuth() throws {
        let out = respond(
            Message.query(try DNSName("other.test."), .axfr, flags: 0, edns: EDNS(payload: 1232)).encode())
        let m = try Message.decode(out[0])
        #expect(m.rcode == RCode.notAuth.rawValue && !m.has(Header.aaBit) && m.ednsOptions.isEmpty)
    }
}
