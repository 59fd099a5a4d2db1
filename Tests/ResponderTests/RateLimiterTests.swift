import DNSWire
import Responder
import Testing

/// Response rate limiting: the table's arithmetic, and the answer identities the responder gives.
@Suite struct RateLimiterTests {
    var client: UInt64 { key([192, 0, 2, 7]) }

    func key(_ bytes: [UInt8], v4: Int = 24, v6: Int = 56) -> UInt64 {
        bytes.withUnsafeBytes { RateLimiter.prefixKey($0, v4Bits: v4, v6Bits: v6) }
    }

    @Test func withinTheLimitEverythingPassesThenEverySlipThIsTruncated() {
        let limiter = RateLimiter()
        let verdicts = (0..<20).map { _ in limiter.check(client: client, answer: 42, now: 100, limit: 10, slip: 2) }
        #expect(verdicts[0..<10].allSatisfy { $0 == .pass })
        #expect(Array(verdicts[10...]) == [.drop, .slip, .drop, .slip, .drop, .slip, .drop, .slip, .drop, .slip])
    }

    @Test(arguments: [(0, RateLimiter.Action.drop), (1, .slip)])
    func slipZeroDropsAllAndSlipOneTruncatesAll(slip: Int, expected: RateLimiter.Action) {
        let limiter = RateLimiter()
        for _ in 0..<3 { #expect(limiter.check(client: client, answer: 1, now: 7, limit: 3, slip: slip) == .pass) }
        for _ in 0..<5 { #expect(limiter.check(client: client, answer: 1, now: 7, limit: 3, slip: slip) == expected) }
    }

    @Test func aNewSecondStartsAFreshCount() {
        let limiter = RateLimiter()
        for _ in 0..<5 { _ = limiter.check(client: client, answer: 9, now: 50, limit: 2, slip: 2) }
        #expect(limiter.check(client: client, answer: 9, now: 50, limit: 2, slip: 2) != .pass)
        #expect(limiter.check(client: client, answer: 9, now: 51, limit: 2, slip: 2) == .pass)
    }

    @Test func otherAnswersAndOtherPrefixesHaveTheirOwnCounts() {
        let limiter = RateLimiter()
        for _ in 0..<10 { _ = limiter.check(client: client, answer: 5, now: 3, limit: 2, slip: 0) }
        #expect(limiter.check(client: client, answer: 5, now: 3, limit: 2, slip: 0) == .drop)
        #expect(limiter.check(client: client, answer: 6, now: 3, limit: 2, slip: 0) == .pass)
        #expect(limiter.check(client: key([192, 0, 3, 7]), answer: 5, now: 3, limit: 2, slip: 0) == .pass)
        // the same /24: counted together
        #expect(limiter.check(client: key([192, 0, 2, 200]), answer: 5, now: 3, limit: 2, slip: 0) == .drop)
    }

    @Test func prefixesMaskTheHostBits() {
        #expect(key([10, 1, 2, 3]) == key([10, 1, 2, 250]))
        #expect(key([10, 1, 2, 3]) != key([10, 1, 3, 3]))
        #expect(key([10, 1, 2, 3], v4: 32) != key([10, 1, 2, 4], v4: 32))
        let a: [UInt8] = [0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 0x04] + [UInt8](repeating: 1, count: 8)
        var b = a
        b[7] = 0x05  // bits 56–63: outside a /56
        b[15] = 9
        #expect(key(a) == key(b))
        var c = a
        c[6] = 0x09  // bits 48–55: inside the /56
        #expect(key(a) != key(c))
        #expect(key(a, v6: 128) != key(b, v6: 128))
        // an IPv4 prefix never equals an IPv6 one
        #expect(key([0, 0, 0, 0], v4: 8) != key([UInt8](repeating: 0, count: 16), v6: 16))
    }

    @Test func concurrentLoopsCountEveryResponse() async {
        let limiter = RateLimiter()
        let client = self.client
        let passed = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    (0..<1000).filter { _ in
                        limiter.check(client: client, answer: 77, now: 9, limit: 1500, slip: 0) == .pass
                    }.count
                }
            }
            return await group.reduce(0, +)
        }
        #expect(passed == 1500, "compare-and-swap loses no count")
    }

    /// The responder names the answer: RRsets apart, a whole zone's NXDOMAINs together, errors 0.
    @Test func answerKeysFromTheResponder() throws {
        let server = try Fixture.server(Zones.all)
        func k(_ name: String, _ type: RRType) throws -> UInt64 { try server.ask(name, type).outcome.answerKey }
        #expect(try k("www.example.com.", .a) == k("WWW.example.com.", .a))
        #expect(try k("www.example.com.", .a) != k("www.example.com.", .aaaa))
        #expect(try k("nothere1.example.com.", .a) == k("nothere2.example.com.", .a))
        #expect(try k("nothere1.example.com.", .a) != k("nothere1.example.org.", .a))
        #expect(try k("x.wild.example.com.", .a) == k("y.wild.example.com.", .a), "one wildcard, one key")
        #expect(try k("www.elsewhere.invalid.", .a) == 0, "REFUSED")
        #expect(try k("www.example.com.", .a) != 0)
    }
}
