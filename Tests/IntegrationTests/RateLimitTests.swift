// Response rate limiting against the running server, on loopback (no exemption for it): a burst
// of one answer to one client prefix is cut to the limit, with every second limited response
// sent truncated and the rest dropped; other answers and other prefixes go on; TCP is never limited.

import Foundation
import Testing

@Suite("Response rate limiting", .serialized)
struct RateLimitTests {
    static let zone = balancedZone("example.test.", addresses: ["192.0.2.1", "192.0.2.2"])

    struct Tally: CustomStringConvertible {
        var full = 0, truncated = 0, other = 0
        var description: String { "\(full) answers, \(truncated) TC=1, \(other) other" }
    }

    /// Sorts replies to `ids` into full answers and empty TC=1 ones.
    static func tally(_ replies: [[UInt8]], ids: Set<UInt16>) throws -> Tally {
        var t = Tally()
        for reply in replies {
            let m = try RawMessage(reply)
            guard ids.contains(m.id) else { continue }
            if m.tc && m.ancount == 0 && m.rcode == 0 {
                t.truncated += 1
            } else if !m.tc && m.ancount > 0 {
                t.full += 1
            } else {
                t.other += 1
            }
        }
        return t
    }

    /// Sends `count` queries for `name` as fast as the socket buffers allow: in groups of 50,
    /// reading the replies between groups so that neither side's kernel buffer overflows (a
    /// loss there would look like rate limiting). The replies read are kept in `received`.
    static func burst(_ client: UDPClient, _ name: String, type: UInt16 = 1, count: Int, received: inout [[UInt8]])
        -> Set<UInt16>
    {
        var ids = Set<UInt16>()
        let base = UInt16.random(in: 0...0x7000)
        for i in 0..<count {
            var q = RawQuery(name, type: type)
            q.id = base + UInt16(i)
            ids.insert(q.id)
            client.send(q.bytes)
            if i % 50 == 49 { received += client.drain(quiet: 0.02) }
        }
        return ids
    }

    @Test("on a dual-stack [::] listener IPv4 clients are counted by their /24, not lumped into one IPv6 /56")
    func dualStackPrefixes() async throws {
        let config = "rrl: { responses_per_second: 5, slip: 2 }"
        try await withConfiguredCarousel(zones: ["example.test.zone": Self.zone], config: config, host: "::") {
            server in
            let (flooded, elsewhere) = try await offload { () -> (Tally, Tally) in
                // They reach the socket as ::ffff:127.0.0.1 and ::ffff:127.0.9.1.
                let a = try UDPClient(to: server.endpoint, from: "127.0.0.1")
                let b = try UDPClient(to: server.endpoint, from: "127.0.9.1")
                var fromA: [[UInt8]] = [], fromB: [[UInt8]] = []
                let ids = Self.burst(a, "www.example.test.", count: 60, received: &fromA)
                let bIDs = Self.burst(b, "www.example.test.", count: 5, received: &fromB)
                fromA += a.drain()
                fromB += b.drain()
                return (try Self.tally(fromA, ids: ids), try Self.tally(fromB, ids: bIDs))
            }
            report("rrl on [::], 60 queries from 127.0.0.1: \(flooded); 5 from 127.0.9.1: \(elsewhere)")
            #expect((5...10).contains(flooded.full), "\(flooded)")
            #expect(elsewhere.full == 5, "another IPv4 /24 is counted apart: \(elsewhere)")
        }
    }

    @Test(
        "the transfer lane is limited too: AXFR over UDP, 60 times from one /24, gets at most two seconds' worth of NOTIMP"
    )
    func transferLane() async throws {
        let config = "rrl: { responses_per_second: 5, slip: 2 }"
        try await withConfiguredCarousel(zones: ["example.test.zone": Self.zone], config: config) { server in
            let (refused, after) = try await offload { () -> (Int, Int) in
                let a = try UDPClient(to: server.endpoint, from: "127.0.0.1")
                var replies: [[UInt8]] = []
                let ids = Self.burst(a, "example.test.", type: 252, count: 60, received: &replies)
                replies += a.drain()
                let messages = try replies.map { try RawMessage($0) }
                let refused = messages.filter { ids.contains($0.id) && $0.rcode == 4 }
                // Ordinary answers to the same prefix keep their own budget.
                var more: [[UInt8]] = []
                let wwwIDs = Self.burst(a, "www.example.test.", count: 5, received: &more)
                more += a.drain()
                return (refused.count, try Self.tally(more, ids: wwwIDs).full)
            }
            report(
                "rrl 5/s on the transfer lane: 60 AXFR over UDP got \(refused) NOTIMP; then 5 A queries got \(after) answers"
            )
            #expect((5...10).contains(refused), "\(refused)")
            #expect(after == 5)
            let metrics = try await Admin.request("GET", server.adminURL + "/metrics").body
            #expect((metric(metrics, "carousel_rrl_limited_total{action=\"drop\"}") ?? 0) >= 50, "\(metrics)")
        }
    }

    @Test(
        "over the limit: every 2nd response is an empty TC=1 one, the rest dropped; other answers, other prefixes and TCP go on"
    )
    func limited() async throws {
        try await withConfiguredCarousel(
            zones: ["example.test.zone": Self.zone], config: "rrl: { responses_per_second: 5, slip: 2 }"
        ) { server in
            let (flooded, neighbour, elsewhere) = try await offload { () -> (Tally, Tally, Tally) in
                let a = try UDPClient(to: server.endpoint, from: "127.0.0.1")
                let b = try UDPClient(to: server.endpoint, from: "127.0.9.1")
                // One answer, 60 times, from 127.0.0.0/24; then, in the same second, 5 of another
                // answer from the same prefix and 5 of the same answer from 127.0.9.0/24.
                // (NS, not SOA: the harness's readiness probe asked for the SOA a moment ago.)
                var fromA: [[UInt8]] = [], fromB: [[UInt8]] = []
                let ids = Self.burst(a, "www.example.test.", count: 60, received: &fromA)
                let otherIDs = Self.burst(a, "example.test.", type: 2, count: 5, received: &fromA)
                let bIDs = Self.burst(b, "www.example.test.", count: 5, received: &fromB)
                fromA += a.drain()
                fromB += b.drain()
                return (
                    try Self.tally(fromA, ids: ids), try Self.tally(fromA, ids: otherIDs),
                    try Self.tally(fromB, ids: bIDs)
                )
            }
            report(
                "rrl 5/s slip 2, 60 queries for one answer: \(flooded); another answer: \(neighbour); another /24: \(elsewhere)"
            )
            // 5 a second; a burst that straddles a second boundary gets two seconds' worth.
            #expect((5...10).contains(flooded.full), "\(flooded)")
            #expect(
                flooded.truncated >= 20 && flooded.truncated <= 28, "about half of the 50 limited ones slip: \(flooded)"
            )
            #expect(flooded.other == 0 && flooded.full + flooded.truncated < 60, "\(flooded)")
            #expect(neighbour.full == 5, "another answer is counted apart: \(neighbour)")
            #expect(elsewhere.full == 5, "another prefix is counted apart: \(elsewhere)")

            // TCP cannot be spoofed: never limited.
            for _ in 0..<10 {
                let reply = try #require(
                    try await TCPConnection.exchange(RawQuery("www.example.test.").bytes, with: server.endpoint))
                #expect(try RawMessage(reply).ancount == 2)
            }
            let text = try await Admin.request("GET", server.adminURL + "/metrics").body
            let slipped = metric(text, "carousel_rrl_limited_total{action=\"slip\"}") ?? 0
            let dropped = metric(text, "carousel_rrl_limited_total{action=\"drop\"}") ?? 0
            #expect(Int(slipped) == flooded.truncated, "\(text)")
            #expect(dropped >= 20, "\(text)")
        }
    }

    @Test("on by default at 200 a second: 150 quick answers all go out, 600 are cut")
    func defaults() async throws {
        try await withConfiguredCarousel(zones: ["example.test.zone": Self.zone], config: "") { server in
            let (normal, flood) = try await offload { () -> (Tally, Tally) in
                let a = try UDPClient(to: server.endpoint, from: "127.0.0.1")
                var fromA: [[UInt8]] = [], fromB: [[UInt8]] = []
                let normalIDs = Self.burst(a, "www.example.test.", count: 150, received: &fromA)
                let normal = try Self.tally(fromA + a.drain(), ids: normalIDs)
                Thread.sleep(forTimeInterval: 1.1)
                let b = try UDPClient(to: server.endpoint, from: "127.0.0.1")
                let floodIDs = Self.burst(b, "www.example.test.", count: 600, received: &fromB)
                return (normal, try Self.tally(fromB + b.drain(), ids: floodIDs))
            }
            report("default rrl: 150 queries → \(normal); 600 → \(flood)")
            #expect(normal.full == 150, "\(normal)")
            // 600 as fast as possible: 200 a second answered (how many seconds it takes depends on
            // the machine), the rest limited: half slipped, half dropped.
            #expect(flood.full >= 200 && flood.truncated > 0 && flood.full + flood.truncated < 600, "\(flood)")
        }
    }

    @Test("rrl: off answers every query")
    func off() async throws {
        try await withConfiguredCarousel(zones: ["example.test.zone": Self.zone], config: "rrl: off") { server in
            let flood = try await offload { () -> Tally in
                let a = try UDPClient(to: server.endpoint)
                var received: [[UInt8]] = []
                let ids = Self.burst(a, "www.example.test.", count: 600, received: &received)
                return try Self.tally(received + a.drain(), ids: ids)
            }
            #expect(flood.full == 600 && flood.truncated == 0, "\(flood)")
        }
    }
}

/// RRL is asked before signing (`SigningGate`): a flood of random names with DO=1 from one /24
/// costs signatures only for the answers RRL lets through.
@Suite("Response rate limiting before signing", .serialized)
struct RateLimitSigningTests {
    static let zone = """
        $ORIGIN example.net.
        $TTL 300
        @ IN SOA ns1 hostmaster 1 3600 600 1209600 60
        @ IN NS ns1
        ns1 IN A 127.0.0.1
        www IN A 192.0.2.1

        """

    static func signatures(_ metrics: String) -> Double {
        metrics.split(separator: "\n").filter { $0.hasPrefix("carousel_dnssec_signatures_total{") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
    }

    @Test(
        "a random-name flood with DO=1 from one /24: what RRL drops or slips was never signed; another client gets signed answers"
    )
    func floodCostsNoSignatures() async throws {
        let tmp = try TempDir(prefix: "rrl-dnssec")
        defer { tmp.remove() }
        let (keys, _) = try await DNSSECIntegrationTests.keygen(tmp)
        let limit = 20
        let config = """
            rrl: { responses_per_second: \(limit), slip: 2 }
            dnssec:
              - zone: example.net
                keys: \(keys)
            """
        try await withConfiguredCarousel(zones: ["example.net.zone": Self.zone], config: config) { server in
            let before = try await Admin.request("GET", server.adminURL + "/metrics").body
            let count = 1500
            let started = ContinuousClock.now
            let replies = try await offload { () -> [[UInt8]] in
                let flooder = try UDPClient(to: server.endpoint, from: "127.0.0.1")
                var received: [[UInt8]] = []
                for i in 0..<count {
                    var q = RawQuery("r\(UInt32.random(in: 0...UInt32.max))-\(i).example.net.", type: 1)
                    q.id = UInt16(i)
                    q.opts = [(1232, 0, [])]
                    q.dnssecOK = true
                    flooder.send(q.bytes)
                    if i % 50 == 49 { received += flooder.drain(quiet: 0.02) }
                }
                return received + flooder.drain()
            }
            let seconds = (ContinuousClock.now - started) / .seconds(1)
            // Another client (127.0.5.0/24) meanwhile: signed answers, a new name each time.
            var signedElsewhere = 0
            for i in 0..<5 {
                let r = try await Dig.query(server.endpoint, "-b", "127.0.5.1", "+dnssec", "other\(i).example.net", "A")
                if r.authority.contains(where: { $0.type == "RRSIG" }) { signedElsewhere += 1 }
            }
            let after = try await Admin.request("GET", server.adminURL + "/metrics").body

            var signed = 0, truncated = 0, other = 0
            for reply in replies {
                let m = try RawMessage(reply)
                if m.tc && m.ancount == 0 && m.nscount == 0 {
                    truncated += 1
                } else if m.authority.contains(where: { $0.type == 46 }) {
                    signed += 1
                } else {
                    other += 1
                }
            }
            let made = Self.signatures(after) - Self.signatures(before)
            let withheld =
                (metric(after, "carousel_dnssec_rrl_unsigned_total") ?? 0)
                - (metric(before, "carousel_dnssec_rrl_unsigned_total") ?? 0)
            report(
                "rrl before signing: \(count) random names with DO=1 in \(String(format: "%.2f", seconds)) s at \(limit)/s: \(signed) signed answers, \(truncated) TC=1, \(other) other, \(count - replies.count) dropped; \(Int(made)) signatures made, \(Int(withheld)) withheld; another /24: \(signedElsewhere) of 5 signed"
            )
            #expect(other == 0, "every reply is a signed answer or an empty TC=1")
            // Each signed answer needs one new signature (its NSEC), the other client's five answers
            // one each, and the SOA's is made once per query thread (each has its own cache):
            // nothing more was signed.
            #expect(made <= Double(signed + 5 + 4), "signatures made \(made) for \(signed) signed answers")
            // RRL passes about `limit` a second (a new second may start between two queries).
            #expect(signed <= limit * (Int(seconds) + 2), "\(signed) signed answers in \(seconds) s")
            // Every query RRL cut was counted as a signature withheld, not made.
            #expect(Int(withheld) >= count - signed - 5, "withheld \(withheld) of \(count - signed) limited")
            #expect(truncated > 0 && replies.count < count, "slipped and dropped: \(truncated) TC, \(replies.count)")
            #expect(signedElsewhere == 5, "another client's answers are signed")
        }
    }
}
