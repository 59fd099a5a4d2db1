import Crypto
import DNSSEC
import DNSWire
import DNSZone
import Foundation
import Testing
import ZoneFiles

@testable import Responder

/// The responder's signing, read back here only for what a unit test can say (the signature over
/// the canonical RRset checks with the public key, the cache, the shape of compact denial); the
/// integration tests leave validity to Unbound and delv.
@Suite("Online signing in the responder: RRSIGs, the signature cache, compact denial")
struct SigningTests {
    static let text = """
        $ORIGIN example.net.
        $TTL 300
        @ IN SOA ns1 hostmaster 1 3600 600 1209600 60
        @ IN NS ns1
        ns1 IN A 127.0.0.1
        www 60 IN A 192.0.2.3
        www 60 IN A 192.0.2.1
        www 60 IN A 192.0.2.2
        Mixed IN MX 10 MAIL.Example.NET.
        big IN TXT "\(String(repeating: "x", count: 200))"
        big IN TXT "\(String(repeating: "y", count: 200))"
        """

    struct Signed {
        let snapshot: Snapshot
        let unsigned: Snapshot
        let key: DNSSECKey
        let scratch = ResponderScratch()

        init(_ algorithm: DNSSECAlgorithm = .ecdsaP256SHA256) throws {
            let dir = FileManager.default.temporaryDirectory.path + "/carousel-signing-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let file = dir + "/example.net.zone"
            try SigningTests.text.write(toFile: file, atomically: true, encoding: .utf8)
            let parsed = try ZoneLoader.parse(file: file, origin: DNSName("example.net.")).get()
            let zone = try Zone.build(origin: parsed.origin, file: file, records: parsed.records.map(\.record))
            key = DNSSECKey.generate(zone: zone.origin, algorithm: algorithm)
            let keys = ZoneKeys(config: DNSSECZone(zone: zone.origin, keys: dir), keys: [key])
            let now = Int64(Date().timeIntervalSince1970)
            let signedZone = try keys.zone(zone, at: now)
            snapshot = Snapshot(
                catalog: Catalog(zones: [signedZone]), options: ResponderOptions(), signing: [keys.signing(at: now)])
            unsigned = Snapshot(catalog: Catalog(zones: [zone]), options: ResponderOptions())
        }

        func ask(
            _ name: String, _ type: RRType, dnssec: Bool = true, compact: Bool = false, payload: UInt16 = 1232,
            snapshot: Snapshot? = nil
        ) throws -> (Message, [UInt8]) {
            let query = Message.query(
                id: 7, try DNSName(name), type, edns: EDNS(payload: payload, dnssecOK: dnssec, compactOK: compact))
            let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 65535, alignment: 1)
            defer { out.deallocate() }
            let outcome = query.encode().withUnsafeBytes {
                Responder.respond(to: $0, over: .udp, snapshot: snapshot ?? self.snapshot, into: out, scratch: scratch)
            }
            let bytes = Array(out[0..<outcome.length])
            return (try Message.decode(bytes), bytes)
        }
    }

    /// RFC 4034 §3.1.8.1 and §6: the RRSIG rdata without its signature, then each record with
    /// the owner and names in lower case, in canonical order, with the original TTL.
    static func verify(_ rrsig: ResourceRecord, covering records: [ResourceRecord], with key: DNSSECKey) throws -> Bool
    {
        let signerEnd = try #require(WireName.uncompressedEnd(rrsig.rdata, from: 18))
        var data = Array(rrsig.rdata[0..<signerEnd])
        let ttl = rrsig.rdata[4..<8]
        let owner = records[0].name.lowercased.wire
        var rdatas = records.map { r -> [UInt8] in
            var d = r.rdata
            for range in ResourceRecord.embeddedNameRanges(type: r.type, rdata: r.rdata) {
                for i in range { d[i] = asciiLower(d[i]) }
            }
            return d
        }
        rdatas.sort { $0.lexicographicallyPrecedes($1) }
        for d in rdatas {
            data += owner + [UInt8(records[0].type.rawValue >> 8), UInt8(records[0].type.rawValue & 0xFF), 0, 1]
            data += ttl + [UInt8(d.count >> 8), UInt8(d.count & 0xFF)] + d
        }
        let signature = Array(rrsig.rdata[signerEnd...])
        switch key.algorithm {
        case .ecdsaP256SHA256:
            let pub = try P256.Signing.PublicKey(rawRepresentation: key.publicKey)
            return pub.isValidSignature(try P256.Signing.ECDSASignature(rawRepresentation: signature), for: data)
        case .ed25519:
            let pub = try Curve25519.Signing.PublicKey(rawRepresentation: key.publicKey)
            return pub.isValidSignature(signature, for: data)
        }
    }

    @Test(
        "DO=1: the RRset's RRSIG checks with the key, over the canonical form (order, case, TTL)",
        arguments: DNSSECAlgorithm.allCases)
    func rrsigVerifies(_ algorithm: DNSSECAlgorithm) throws {
        let s = try Signed(algorithm)
        for (name, type) in [("www.example.net.", RRType.a), ("mixed.example.net.", .mx), ("example.net.", .dnskey)] {
            let (m, _) = try s.ask(name, type)
            let records = m.answer.filter { $0.type == type }
            let sigs = m.answer.filter { $0.type == .rrsig }
            #expect(!records.isEmpty && sigs.count == 1, "\(name) \(type)")
            guard let sig = sigs.first else { continue }
            #expect(Array(sig.rdata[0..<2]) == [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xFF)])
            #expect(sig.rdata[2] == algorithm.rawValue)
            #expect(Int(sig.rdata[16]) << 8 | Int(sig.rdata[17]) == Int(s.key.keyTag))
            #expect(try Self.verify(sig, covering: records, with: s.key), "\(name) \(type)")
        }
    }

    @Test("the second answer of a set reuses the cached signature (ECDSA signs differently every time)")
    func cacheHit() throws {
        let s = try Signed()
        let counters = s.scratch.signing.counters
        let (first, _) = try s.ask("www.example.net.", .a)
        let (second, _) = try s.ask("www.example.net.", .a)
        let a = first.answer.first { $0.type == .rrsig }
        let b = second.answer.first { $0.type == .rrsig }
        #expect(a != nil && a?.rdata == b?.rdata)
        #expect(counters.misses.load(ordering: .relaxed) == 1 && counters.hits.load(ordering: .relaxed) == 1)
        #expect(counters.ecdsa.load(ordering: .relaxed) == 1)
        // Rotation changes the order written, not the set signed.
        #expect(
            first.answer.filter { $0.type == .a }.map(\.rdata) != second.answer.filter { $0.type == .a }.map(\.rdata))
    }

    @Test("DO=0 answers are byte for byte those of the unsigned zone")
    func unsignedUnchanged() throws {
        let s = try Signed()
        for (name, type) in [
            ("example.net.", RRType.soa), ("nothing.example.net.", .a), ("www.example.net.", .txt),
            ("mixed.example.net.", .mx),
            ("example.net.", .ns),
        ] {
            let (_, signed) = try s.ask(name, type, dnssec: false)
            let (_, plain) = try s.ask(name, type, dnssec: false, snapshot: s.unsigned)
            #expect(signed == plain, "\(name) \(type)")
        }
    }

    @Test(
        "compact denial: NOERROR, the SOA and one NSEC at the name (next \\000.name, RRSIG NSEC NXNAME), NXDOMAIN with CO"
    )
    func compactDenial() throws {
        let s = try Signed()
        let (m, _) = try s.ask("nothing.example.net.", .a)
        #expect(m.rcode == RCode.noError.rawValue && m.answer.isEmpty)
        #expect(m.authority.map(\.type) == [.soa, .rrsig, .nsec, .rrsig])
        let nsec = try #require(m.authority.first { $0.type == .nsec })
        #expect(nsec.name == (try DNSName("nothing.example.net.")))
        let next = try DNSName("\\000.nothing.example.net.")
        #expect(Array(nsec.rdata.prefix(next.wire.count)) == next.wire)
        // Window 0, 17 bytes: RRSIG (46) and NSEC (47) in byte 5, NXNAME (128) in byte 16.
        let bitmap = Array(nsec.rdata[next.wire.count...])
        #expect(bitmap.count == 19 && bitmap[0] == 0 && bitmap[1] == 17 && bitmap[7] == 0x03 && bitmap[18] == 0x80)
        #expect(try Self.verify(m.authority[3], covering: [nsec], with: s.key))
        let (co, _) = try s.ask("nothing.example.net.", .a, compact: true)
        #expect(co.rcode == RCode.nxDomain.rawValue && co.edns?.compactOK == true)
        // NODATA lists the types the name has.
        let (nodata, _) = try s.ask("www.example.net.", .txt)
        let types = try #require(nodata.authority.first { $0.type == .nsec }).rdata
        #expect(
            nodata.rcode == RCode.noError.rawValue && types.suffix(8) == [0, 6, 0x40, 0, 0, 0, 0, 0x03],
            "A, RRSIG, NSEC")
    }

    @Test("a signed answer that does not fit is truncated whole; an RRSIG never travels without its RRset")
    func truncation() throws {
        let s = try Signed()
        let (plain, _) = try s.ask("big.example.net.", .txt, dnssec: false, payload: 512)
        #expect(!plain.has(Header.tcBit) && plain.answer.count == 2, "fits unsigned")
        let (signed, _) = try s.ask("big.example.net.", .txt, payload: 512)
        #expect(signed.has(Header.tcBit) && signed.answer.isEmpty && signed.authority.isEmpty)
        let (tcp, _) = try s.ask("big.example.net.", .txt, payload: 4096)
        #expect(tcp.answer.map(\.type) == [.txt, .txt, .rrsig])
    }

    @Test(
        "RRL before signing: a miss RRL is about to limit is not signed (TC=1), unless the client shows a valid server cookie"
    )
    func rateLimitGate() throws {
        let s = try Signed()
        var options = ResponderOptions()
        options.cookieSecret = CookieSecret(k0: 0x0123_4567_89ab_cdef, k1: 7)
        let snapshot = Snapshot(catalog: s.snapshot.catalog, options: options, signing: s.snapshot.signing)
        let client = ClientAddress([192, 0, 2, 7])
        let limiter = RateLimiter()
        let signing = s.scratch.signing
        let gate = SigningGate(limiter: limiter, client: 42, limit: 1)
        // The answer's RRL key, from a scratch of its own (so this one's cache stays empty).
        let answerKey = try {
            let query = Message.query(id: 7, try DNSName("www.example.net."), .a).encode()
            let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 65535, alignment: 1)
            defer { out.deallocate() }
            return query.withUnsafeBytes {
                Responder.respond(to: $0, over: .udp, snapshot: snapshot, into: out, scratch: ResponderScratch())
            }.answerKey
        }()
        func ask(cookie: [UInt8]?) throws -> (QueryOutcome, Message) {
            let query = Message.query(
                id: 7, try DNSName("www.example.net."), .a, edns: EDNS(payload: 1232, dnssecOK: true),
                ednsOptions: cookie.map { [EDNSOption(code: EDNSOptionCode.cookie, data: $0)] } ?? [])
            let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 65535, alignment: 1)
            defer { out.deallocate() }
            // The client is over the limit for this answer in the second the signer asks in (a
            // second boundary between the two restarts the count: then ask again).
            while true {
                let second = RateLimiter.now()
                for _ in 0..<2 {
                    _ = limiter.check(client: 42, answer: answerKey, now: second, limit: 1, slip: 2)
                }
                let outcome = query.encode().withUnsafeBytes {
                    Responder.respond(
                        to: $0, over: .udp, snapshot: snapshot, into: out, scratch: s.scratch, client: client,
                        gate: gate)
                }
                if RateLimiter.now() == second {
                    return (outcome, try Message.decode(Array(out[0..<outcome.length])))
                }
            }
        }
        let clientCookie: [UInt8] = [0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57]
        for cookie in [nil, clientCookie] {
            let (outcome, m) = try ask(cookie: cookie)
            #expect(
                outcome.truncated && outcome.signaturesWithheld && m.answer.isEmpty,
                "no valid cookie: not signed, TC=1 (\(cookie != nil))")
        }
        #expect(signing.counters.limited.load(ordering: .relaxed) == 2)
        #expect(signing.counters.misses.load(ordering: .relaxed) == 0)
        // The server cookie the last answer carried makes the next query's source real: RRL
        // passes it, so the signer does not ask.
        let (_, learning) = try ask(cookie: clientCookie)
        let server = try #require(learning.ednsOptions.first { $0.code == EDNSOptionCode.cookie }?.data)
        #expect(server.count == 24)
        let (outcome, m) = try ask(cookie: server)
        #expect(outcome.cookie == .valid && !outcome.truncated && !outcome.signaturesWithheld, "\(outcome)")
        #expect(m.answer.map(\.type).filter { $0 == .rrsig }.count == 1 && m.answer.count == 4, "\(m.answer)")
        #expect(signing.counters.limited.load(ordering: .relaxed) == 3)
        #expect(signing.counters.misses.load(ordering: .relaxed) == 1)
    }

    @Test(
        "the signature cache: four sets whose hashes collide fill a key's four slots (two buckets of two); a fifth replaces the one used longest ago"
    )
    func cacheSlots() {
        let cache = SignatureCache(entries: 4)  // exactly the four slots every key below maps to
        func hash(_ i: Int) -> UInt64 { 2 << 32 | UInt64(i) << 2 }  // buckets 0 and 2
        func key(_ i: Int) -> [UInt8] { [UInt8(i), 1, 2, 3] }
        func store(_ i: Int) {
            key(i).withUnsafeBytes { k in
                [UInt8(i)].withUnsafeBytes { cache.store(hash(i), k, rrsig: $0, refreshAt: 1000) }
            }
        }
        func find(_ i: Int, now: UInt32 = 10) -> [UInt8]? {
            key(i).withUnsafeBytes { cache.find(hash(i), $0, now: now) }.map { cache.entries[$0].rrsig }
        }
        for i in 0..<4 { store(i) }
        #expect((0..<4).map { find($0) } == (0..<4).map { [UInt8($0)] }, "all four held")
        #expect(cache.count == 4)
        _ = find(0)  // 1 is now the one used longest ago
        store(4)
        #expect(find(1) == nil && find(4) == [4] && find(0) == [0] && find(2) == [2] && find(3) == [3])
        #expect(cache.count == 4)
        store(4)  // the same key again: its own slot
        #expect(find(0) == [0] && find(2) == [2] && find(3) == [3] && cache.count == 4)
        #expect(find(0, now: 1000) == nil, "due for a new signature")
    }
}
