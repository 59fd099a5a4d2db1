import DNSWire
import DNSZone
import Foundation
import Responder
import Testing

@testable import Transfer

/// Real signed messages: a query from `dig -y ALG:xfr:SECRET example.test SOA` (BIND 9.18) and
/// NSD 4.6's signed answer to it, captured on loopback.
enum Vectors {
    static let secret = Array(Data(base64Encoded: "Y2Fyb3VzZWwtdGVzdC1zZWNyZXQtMDEyMzQ1Njc4OSE=")!)
    static let digQuery256 = hex(
        "d44a01200001000000000002076578616d706c650474657374000006000100002904d000000000000c000a000811f8fd3f2ae84c46037866720000fa00ff00000000003d0b686d61632d7368613235360000006b0786a7012c0020189b9769498d8ccf614e5a90bed9828c2389bc43da4a195b4d927d2eefb38e4fd44a00000000"
    )
    static let nsdReply256 = hex(
        "d44a85000001000100010003076578616d706c6504746573740000060001c00c000600010000012c0027036e7331c00c0a686f73746d6173746572c00c0000000100000e1000000258000151800000012cc00c000200010000012c0002c02ac02a000100010000012c00047f00000100002904d0000000000000037866720000fa00ff00000000003d0b686d61632d7368613235360000006b0786a7012c00204cac2c5de55fa5688ac490b5efaaef8536c2d3dd047eed96e79a0066d9ac86a3d44a00000000"
    )
    static let digQuery512 = hex(
        "ddf901200001000000000002076578616d706c650474657374000006000100002904d000000000000c000a00085892b1401e51cffb037866720000fa00ff00000000005d0b686d61632d7368613531320000006b0786ad012c004097a323624251cbf4f1c4258de47fc5b2e6f708e45c199157199b058e1a1e9b5086762a4f966197a0b2132d2a9145792782d441dd7eb724cb228032a29b502fd9ddf900000000"
    )
    static let nsdReply512 = hex(
        "ddf985000001000100010003076578616d706c6504746573740000060001c00c000600010000012c0027036e7331c00c0a686f73746d6173746572c00c0000000100000e1000000258000151800000012cc00c000200010000012c0002c02ac02a000100010000012c00047f00000100002904d0000000000000037866720000fa00ff00000000005d0b686d61632d7368613531320000006b0786ad012c00405885f610e555d96ca1ed20d8ca378b2f6cb6dde08c1d50af6cc5afe5f8bd7861cfada6921fc58cfe443250084e31253a0d7cab16397d4821bdecaf505662eb62ddf900000000"
    )

    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex {
            let j = s.index(i, offsetBy: 2)
            out.append(UInt8(s[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    static func key(_ a: TSIGAlgorithm) -> TSIGKey { TSIGKey(name: try! DNSName("xfr."), algorithm: a, secret: secret) }
}

@Suite struct TSIGTests {
    func time(_ m: [UInt8]) -> UInt64 { try! TSIG.find(in: m)!.timeSigned }

    @Test(arguments: [
        (TSIGAlgorithm.hmacSHA256, Vectors.digQuery256), (TSIGAlgorithm.hmacSHA512, Vectors.digQuery512),
    ])
    func digsQueryVerifies(algorithm: TSIGAlgorithm, query: [UInt8]) throws {
        let ring = TSIGKeyring([Vectors.key(algorithm)])
        let verdict = ring.verify(request: query, now: time(query))
        guard case .valid(let key, let record) = verdict else {
            Issue.record("expected valid, got \(verdict)")
            return
        }
        #expect(key.algorithm == algorithm)
        #expect(record.keyName == (try DNSName("xfr.")))
        #expect(record.fudge == 300)
    }

    /// hmac-md5 goes by its old long name on the wire (RFC 8945 §6); the others by their own.
    @Test func algorithmNamesOnTheWire() throws {
        #expect(TSIGAlgorithm.hmacMD5.name == (try DNSName("hmac-md5.sig-alg.reg.int.")))
        #expect(TSIGAlgorithm(name: try DNSName("HMAC-MD5.SIG-ALG.REG.INT.")) == .hmacMD5)
        #expect(TSIGAlgorithm(name: try DNSName("hmac-md5.")) == nil)
        #expect(TSIGAlgorithm(name: try DNSName("hmac-sha256.")) == .hmacSHA256)
        // RFC 2202 test case 2 for HMAC-MD5.
        let mac = TSIGAlgorithm.hmacMD5.mac(
            secret: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8))
        #expect(mac.map { String(format: "%02x", $0) }.joined() == "750c783e6ab0b503eaa86e310a5db738")
    }

    @Test func nsdsReplyVerifiesOverTheRequestMAC() throws {
        for (alg, q, r) in [
            (TSIGAlgorithm.hmacSHA256, Vectors.digQuery256, Vectors.nsdReply256),
            (.hmacSHA512, Vectors.digQuery512, Vectors.nsdReply512),
        ] {
            let requestMAC = try TSIG.find(in: q)!.mac
            var v = TSIGStreamVerifier(key: Vectors.key(alg), requestMAC: requestMAC)
            try v.check(r, now: time(r))
            #expect(v.lastSigned)
        }
    }

    @Test func resigningDigsQueryGivesTheSameMAC() throws {
        // Strip dig's TSIG and sign again at the same time: the MAC must match byte for byte.
        let q = Vectors.digQuery256
        let record = try TSIG.find(in: q)!
        let bare = TSIG.unsignedPart(q, record)
        let (signed, mac) = TSIG.sign(bare, key: Vectors.key(.hmacSHA256), time: record.timeSigned, fudge: record.fudge)
        #expect(mac == record.mac)
        #expect(signed == q)
    }

    @Test func wrongSecretIsBadSig() {
        let bad = TSIGKey(name: try! DNSName("xfr."), algorithm: .hmacSHA256, secret: Array("not the secret".utf8))
        let verdict = TSIGKeyring([bad]).verify(request: Vectors.digQuery256, now: time(Vectors.digQuery256))
        guard case .failed(let error, _, _) = verdict else {
            Issue.record("expected failure, got \(verdict)")
            return
        }
        #expect(error == TSIGError.badSig)
    }

    @Test func unknownKeyIsBadKey() {
        let other = TSIGKey(name: try! DNSName("other."), algorithm: .hmacSHA256, secret: Vectors.secret)
        guard case .failed(let error, _, _) = TSIGKeyring([other]).verify(request: Vectors.digQuery256) else {
            Issue.record("expected failure")
            return
        }
        #expect(error == TSIGError.badKey)
    }

    @Test func oldSignatureIsBadTime() {
        let now = time(Vectors.digQuery256) + 301
        guard
            case .failed(let error, _, _) = TSIGKeyring([Vectors.key(.hmacSHA256)]).verify(
                request: Vectors.digQuery256, now: now)
        else {
            Issue.record("expected failure")
            return
        }
        #expect(error == TSIGError.badTime)
    }

    @Test func unsignedMessageIsUnsigned() {
        let q = Message.query(try! DNSName("example.test."), .soa).encode()
        #expect(TSIGKeyring([Vectors.key(.hmacSHA256)]).verify(request: q) == .unsigned)
    }

    @Test func badKeyAnswerIsNotAuthWithAnUnsignedTSIG() throws {
        let other = TSIGKey(name: try! DNSName("other."), algorithm: .hmacSHA256, secret: Vectors.secret)
        let verdict = TSIGKeyring([other]).verify(request: Vectors.digQuery256)
        let reply = try #require(TransferResponder.tsigFailure(Vectors.digQuery256, verdict, now: 0))
        let m = try Message.decode(reply)
        #expect(m.rcode == RCode.notAuth.rawValue)
        let tsig = try #require(try TSIG.find(in: reply))
        #expect(tsig.error == TSIGError.badKey)
        #expect(tsig.mac.isEmpty)
    }

    /// RFC 8945 §5.2.1: with no key configured at all, a signed query is still the lane's, and a
    /// key it does not know is NOTAUTH with BADKEY, never an answer as if it were unsigned.
    @Test("a signed query with no key configured: intercepted, NOTAUTH with an unsigned BADKEY TSIG")
    func signedQueryWithoutKeys() throws {
        let query = Vectors.digQuery256
        #expect(query.withUnsafeBytes { TransferLane.intercepts($0, acceptNotify: false) })
        let unsigned = Message.query(try DNSName("example.test."), .soa).encode()
        #expect(!unsigned.withUnsafeBytes { TransferLane.intercepts($0, acceptNotify: false) })
        let (replies, _) = TransferLane.answer(
            query, source: [127, 0, 0, 1], tcp: false, state: TransferLane.State(), now: time(query))
        let reply = try #require(replies.first)
        let m = try Message.decode(reply)
        #expect(m.id == 0xD44A && m.rcode == RCode.notAuth.rawValue && m.answer.isEmpty)
        let tsig = try #require(try TSIG.find(in: reply))
        let keyName = try DNSName("xfr.")
        #expect(tsig.error == TSIGError.badKey && tsig.mac.isEmpty && tsig.keyName == keyName)
    }

    /// FuzzTransfer found it: a NOTIFY claiming 256 questions whose TSIG cannot be read trapped
    /// (QDCOUNT made into one byte) instead of answering FORMERR.
    @Test("an error reply copies the questions it can read, and says how many")
    func errorReplyCountsItsQuestions() throws {
        let one = Message.query(try DNSName("example.test."), .soa).encode()
        var many = one
        many[4] = 1  // QDCOUNT 257: one question readable, then nothing
        let reply = TransferResponder.header(many, rcode: RCode.formErr.rawValue)
        #expect(reply.count == one.count && reply[4] == 0 && reply[5] == 1 && reply[3] & 0xF == 1)
        var none = one
        none[12] = 63  // a label running past the end: no question readable
        let bare = TransferResponder.header(none, rcode: RCode.formErr.rawValue)
        #expect(bare.count == Header.size && bare[4] == 0 && bare[5] == 0)
        let (replies, _) = TransferLane.answer(
            Array(many[0..<2]) + [4 << 3, 0] + Array(many[4...]) + [0xFF], source: [127, 0, 0, 1], tcp: false,
            state: TransferLane.State(), now: 0)
        #expect(replies.count == 1 && replies[0][3] & 0xF == RCode.formErr.rawValue)
    }

    /// FuzzTransfer found it: a signed query whose header ID differs from the TSIG's original ID
    /// (a forwarder rewrote it) was answered with the original ID, which the client does not match.
    @Test("a signed query's reply carries the ID the client sent, and verifies")
    func signedReplyKeepsTheMessageID() throws {
        let key = Vectors.key(.hmacSHA256)
        let zone = try Zone.build(
            origin: try DNSName("example.test."), file: "t",
            records: [
                soa(1),
                ResourceRecord(
                    name: try DNSName("example.test."), type: .ns, ttl: 300,
                    rdata: try DNSName("ns1.example.test.").wire),
                a("ns1.example.test.", "192.0.2.53"), a("www.example.test.", "192.0.2.1"),
            ])
        var state = TransferLane.State()
        state.keyring = TSIGKeyring([key])
        state.snapshot = Snapshot(catalog: Catalog(zones: [zone]), options: ResponderOptions())
        var (request, mac) = TSIG.sign(
            Message.query(id: 0x5150, try DNSName("www.example.test."), .a).encode(), key: key)
        request[0] = 0xCC  // the header's ID rewritten; the TSIG keeps 0x5150
        let (replies, _) = TransferLane.answer(
            request, source: [127, 0, 0, 1], tcp: false, state: state, now: UInt64(Date().timeIntervalSince1970))
        let reply = try #require(replies.first)
        #expect(reply[0] == 0xCC && reply[1] == 0x50, "the reply's ID")
        #expect(try Message.decode(reply).answer.count == 1)
        var verifier = TSIGStreamVerifier(key: key, requestMAC: mac)
        try verifier.check(reply)
        #expect(verifier.lastSigned)
    }

    @Test func signedStreamRoundTrips() throws {
        let key = Vectors.key(.hmacSHA1)
        let (request, requestMAC) = TSIG.sign(Message.query(try DNSName("example.test."), .axfr).encode(), key: key)
        #expect(TSIGKeyring([key]).verify(request: request) == .valid(key, try TSIG.find(in: request)!))
        let msgs = (0..<3).map { Message(id: 0, flags: Header.qrBit, answer: [soa(UInt32($0))]).encode() }
        let signed = TransferResponder.sign(
            msgs, key: key, requestMAC: requestMAC, now: UInt64(Date().timeIntervalSince1970))
        var v = TSIGStreamVerifier(key: key, requestMAC: requestMAC)
        for m in signed { try v.check(m) }
        #expect(v.lastSigned)
        // A message swapped for its unsigned form breaks the chain at the next signed one.
        var w = TSIGStreamVerifier(key: key, requestMAC: requestMAC)
        try w.check(signed[0])
        try w.check(msgs[1])
        #expect(!w.lastSigned)
        #expect(throws: TSIGStreamVerifier.Failure.self) { try w.check(signed[2]) }
        // The first message unsigned is refused.
        var x = TSIGStreamVerifier(key: key, requestMAC: requestMAC)
        #expect(throws: TSIGStreamVerifier.Failure.self) { try x.check(msgs[0]) }
    }
}

func soa(_ serial: UInt32, origin: String = "example.test.") -> ResourceRecord {
    let o = try! DNSName(origin)
    var rdata = (try! DNSName("ns1." + origin)).wire + (try! DNSName("hostmaster." + origin)).wire
    for v in [serial, 3600, 600, 86400, 300] as [UInt32] {
        rdata += [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
    }
    return ResourceRecord(name: o, type: .soa, ttl: 300, rdata: rdata)
}

func a(_ owner: String, _ address: String) -> ResourceRecord {
    ResourceRecord(
        name: try! DNSName(owner), type: .a, ttl: 60, rdata: address.split(separator: ".").map { UInt8($0)! })
}
