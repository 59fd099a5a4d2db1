// DNS Cookies (RFC 7873, RFC 9018) and NSID (RFC 5001) as dig sees them, and the one thing a
// valid server cookie changes: response rate limiting lets its client through (the cookie proves
// the source address is not spoofed, which is what RRL guards against).

import Foundation
import Testing

@Suite("DNS Cookies and NSID")
struct CookieTests {
    static let zone = balancedZone("example.test.", addresses: ["192.0.2.1", "192.0.2.2"])

    /// The hex after `; COOKIE:` in dig's output, with dig's verdict on it.
    static func cookie(_ digOutput: String) -> (hex: String, verdict: String)? {
        guard let line = digOutput.split(separator: "\n").first(where: { $0.hasPrefix("; COOKIE: ") }) else {
            return nil
        }
        let fields = line.dropFirst("; COOKIE: ".count).split(separator: " ")
        return fields.first.map { (String($0), fields.count > 1 ? String(fields[1]) : "") }
    }

    @Test(
        "dig +nsid shows the configured NSID; dig's cookie comes back with a server cookie dig calls good, and sent again it is kept"
    )
    func digSees() async throws {
        let config = "nsid: carousel-a\ncookie_secret: e5e973e5a6b2a43f48e7dc849e37bfcf"
        try await withConfiguredCarousel(zones: ["example.test.zone": Self.zone], config: config) { server in
            let nsid = try await Dig.run(server.endpoint, ["+nsid", "www.example.test", "A"])
            #expect(nsid.stdout.contains("; NSID: ") && nsid.stdout.contains("(\"carousel-a\")"), "\(nsid.stdout)")
            for transport in ["+notcp", "+tcp"] {
                let first = try await Dig.run(
                    server.endpoint, ["+cookie=2464c4abcf10c957", transport, "www.example.test", "A"])
                let learned = try #require(Self.cookie(first.stdout), "\(first.stdout)")
                #expect(learned.hex.count == 48 && learned.hex.hasPrefix("2464c4abcf10c957010000"), "\(first.stdout)")
                #expect(learned.verdict == "(good)", "\(first.stdout)")
                let again = try await Dig.run(
                    server.endpoint, ["+cookie=\(learned.hex)", transport, "www.example.test", "A"])
                #expect(Self.cookie(again.stdout)?.hex == learned.hex, "a fresh valid cookie is kept\n\(again.stdout)")
                #expect(again.stdout.contains("status: NOERROR"), "\(again.stdout)")
            }
            // kdig, a second client, sees the same.
            let kdig = try await Command.run(
                "kdig", ["@127.0.0.1", "-p", "\(server.endpoint.port)", "+cookie", "+nsid", "www.example.test", "A"])
            #expect(kdig.stdout.contains("COOKIE:") && kdig.stdout.contains("carousel-a"), "\(kdig.stdout)")
        }
        // `cookies: false`: the option is ignored, as by a server without cookies.
        try await withConfiguredCarousel(zones: ["example.test.zone": Self.zone], config: "cookies: false") { server in
            let off = try await Dig.run(server.endpoint, ["+cookie", "www.example.test", "A"])
            #expect(Self.cookie(off.stdout) == nil && off.stdout.contains("status: NOERROR"), "\(off.stdout)")
        }
    }

    @Test(
        "an anycast set of Knot and Carousel sharing the secret: Carousel takes Knot's server cookie as its own (RFC 9018)"
    )
    func knotsCookieIsValidHere() async throws {
        try Peers.require("knotd")
        let secret = "e5e973e5a6b2a43f48e7dc849e37bfcf"
        let knotPort = try Ports.free()
        let dir = try TempDir(prefix: "knot-zone")
        defer { dir.remove() }
        let file = try dir.write("example.test.zone", Self.zone)
        let knot = try await TransferPeer.start(
            .knot, port: knotPort, zones: [.init(origin: "example.test.", file: file)], cookieSecret: secret)
        defer { knot.stop() }
        try await knot.waitForZone("example.test.")
        try await withConfiguredCarousel(
            zones: ["example.test.zone": Self.zone], config: "cookie_secret: \(secret)"
        ) { server in
            // Knot's cookie for 127.0.0.1 (dig retries once after Knot's BADCOOKIE for a client cookie alone).
            let fromKnot = try await Dig.run(knot.endpoint, ["+cookie=2464c4abcf10c957", "www.example.test", "A"])
            let knots = try #require(Self.cookie(fromKnot.stdout), "\(fromKnot.stdout)\n\(knot.log)").hex
            #expect(knots.count == 48, "\(fromKnot.stdout)")
            // Carousel finds it valid and fresh, so it sends it back unchanged.
            let here = try await Dig.run(server.endpoint, ["+cookie=\(knots)", "www.example.test", "A"])
            #expect(Self.cookie(here.stdout)?.hex == knots, "\(here.stdout)")
            // And a cookie Carousel made is one Knot takes (it answers instead of BADCOOKIE).
            let ours = try await Dig.run(server.endpoint, ["+cookie=0a0b0c0d0e0f1011", "www.example.test", "A"])
            let made = try #require(Self.cookie(ours.stdout), "\(ours.stdout)").hex
            let atKnot = try await Dig.run(knot.endpoint, ["+cookie=\(made)", "www.example.test", "A"])
            #expect(
                !atKnot.stdout.contains("BADCOOKIE") && atKnot.stdout.contains("status: NOERROR"), "\(atKnot.stdout)")
            #expect(Self.cookie(atKnot.stdout)?.hex == made, "Knot keeps a fresh valid cookie too\n\(atKnot.stdout)")
        }
    }

    @Test("a secret rollover by config reload: cookies of the previous secret stay valid and are replaced")
    func secretRollover() async throws {
        let old = "e5e973e5a6b2a43f48e7dc849e37bfcf", new = "445536bcd2513298075a5d379663c962"
        try await withConfiguredCarousel(zones: ["example.test.zone": Self.zone], config: "cookie_secret: \(old)") {
            server in
            func valid() async throws -> Double {
                metric(
                    try await Admin.request("GET", server.adminURL + "/metrics").body,
                    "carousel_cookies_total{result=\"valid\"}") ?? -1
            }
            /// Sends `cookie`; returns the cookie that came back and whether it counted as valid.
            func ask(_ cookie: String) async throws -> (String?, Bool) {
                let before = try await valid()
                let r = try await Dig.run(server.endpoint, ["+cookie=\(cookie)", "www.example.test", "A"])
                return (Self.cookie(r.stdout)?.hex, try await valid() == before + 1)
            }
            func reload(_ config: String) async throws {
                let reloads = server.log.components(separatedBy: "config reloaded").count
                try await server.rewriteConfig(config, mode: .renameOver)
                try await Poll.until("the config reload", limit: 10) {
                    server.log.components(separatedBy: "config reloaded").count > reloads
                }
            }
            let first = try await Dig.run(server.endpoint, ["+cookie=2464c4abcf10c957", "www.example.test", "A"])
            let cookie = try #require(Self.cookie(first.stdout), "\(first.stdout)").hex
            let kept = try await ask(cookie)
            #expect(kept.0 == cookie && kept.1, "valid and fresh: sent back as it came")

            try await reload("cookie_secret: \(new)\ncookie_secret_previous: \(old)")
            var rolled = try await ask(cookie)
            // The log line comes as the new config is read, the new snapshot a moment later.
            try await Poll.until("the new secret in use", limit: 5) {
                rolled = try await ask(cookie)
                return rolled.0 != cookie
            }
            #expect(rolled.1, "a cookie of the previous secret is valid during the rollover")
            #expect(rolled.0 != nil && rolled.0 != cookie && rolled.0!.hasPrefix("2464c4abcf10c957"), "replaced")
            let renewed = try #require(rolled.0)
            #expect(try await ask(renewed) == (renewed, true), "the new secret's cookie is valid and kept")

            try await reload("cookie_secret: \(new)")
            var late = try await ask(cookie)
            try await Poll.until("the previous secret dropped", limit: 5) {
                late = try await ask(cookie)
                return !late.1
            }
            #expect(late.0 != cookie, "without the previous secret the old cookie is not valid")
            #expect(try await ask(renewed).1, "the new secret's cookie still is")
        }
    }

    /// The query's OPT with a COOKIE option carrying `cookie`.
    static func withCookie(_ cookie: [UInt8]) -> [UInt8] {
        [0, 10, 0, UInt8(cookie.count)] + cookie
    }

    static func bytes(_ hex: String) -> [UInt8] {
        let d = Array(hex.utf8)
        return stride(from: 0, to: d.count, by: 2).map {
            UInt8(String(decoding: d[$0...($0 + 1)], as: UTF8.self), radix: 16)!
        }
    }

    @Test("rate limiting passes a client with a valid server cookie; without one, or with a forged one, it is limited")
    func validCookiePassesRRL() async throws {
        let config = "rrl: { responses_per_second: 5, slip: 2 }"
        try await withConfiguredCarousel(zones: ["example.test.zone": Self.zone], config: config) { server in
            let learned = try await Dig.run(
                server.endpoint, ["-b", "127.0.0.1", "+cookie=0102030405060708", "example.test", "SOA"])
            let cookie = try #require(Self.cookie(learned.stdout), "\(learned.stdout)").hex
            let forged = Self.bytes(cookie).enumerated().map { $0.offset == 23 ? $0.element ^ 0xFF : $0.element }
            let (valid, none, bad) = try await offload { () -> (Int, Int, Int) in
                func full(_ option: [UInt8]?) throws -> Int {
                    let client = try UDPClient(to: server.endpoint, from: "127.0.0.1")
                    var replies: [[UInt8]] = []
                    var ids = Set<UInt16>()
                    for i in 0..<60 {
                        var q = RawQuery("www.example.test.")
                        q.id = UInt16(1000 + i)
                        q.opts = [(1232, 0, option ?? [])]
                        ids.insert(q.id)
                        client.send(q.bytes)
                        if i % 20 == 19 { replies += client.drain(quiet: 0.02) }
                    }
                    replies += client.drain()
                    return try replies.map { try RawMessage($0) }.filter {
                        ids.contains($0.id) && !$0.tc && $0.ancount > 0
                    }
                    .count
                }
                let valid = try full(Self.withCookie(Self.bytes(cookie)))
                Thread.sleep(forTimeInterval: 1.5)  // a fresh second's budget for the next burst
                let none = try full(nil)
                Thread.sleep(forTimeInterval: 1.5)
                let bad = try full(Self.withCookie(forged))
                return (valid, none, bad)
            }
            report(
                "rrl 5/s, 60 queries from one address: \(valid) answered with a valid cookie, \(none) without, \(bad) with a forged one"
            )
            let metrics = try await Admin.request("GET", server.adminURL + "/metrics").body
            #expect(metric(metrics, "carousel_cookies_total{result=\"valid\"}") == 60, "\(metrics)")
            #expect(metric(metrics, "carousel_cookies_total{result=\"new\"}") == 61, "\(metrics)")
            #expect(valid == 60)
            #expect((5...12).contains(none), "\(none)")
            #expect((5...12).contains(bad), "\(bad)")
        }
    }
}
