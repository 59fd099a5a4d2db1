import Testing

@testable import CarouselConfig

/// The keys of the hardening issue: `rrl`, the TCP limits, `limits`, and the config size cap.
extension ConfigTests {
    @Test func defaultsProtectWithoutGettingInTheWay() throws {
        let c = try parse("").get()
        #expect(c.rrl.enabled && c.rrl.responsesPerSecond == 200 && c.rrl.slip == 2)
        #expect(c.rrl.ipv4Prefix == 24 && c.rrl.ipv6Prefix == 56)
        #expect(c.tcpMaxConnections == 1000 && c.tcpIdleTimeout == .seconds(10))
        #expect(c.tcpMessageTimeout == .seconds(3) && c.tcpMaxQueries == 0)
        #expect(c.maxZoneRecords == 10_000_000)
    }

    @Test func everyKeyIsRead() throws {
        let c = try parse(
            """
            rrl: { responses_per_second: 5, slip: 3, ipv4_prefix: 32, ipv6_prefix: 64 }
            tcp: { idle_timeout: 2s, max_connections: 20, message_timeout: 500ms, max_queries: 100 }
            limits: { zone_records: 5000 }
            """
        ).get()
        #expect(c.rrl.responsesPerSecond == 5 && c.rrl.slip == 3 && c.rrl.ipv4Prefix == 32 && c.rrl.ipv6Prefix == 64)
        #expect(c.tcpIdleTimeout == .seconds(2) && c.tcpMaxConnections == 20)
        #expect(c.tcpMessageTimeout == .milliseconds(500) && c.tcpMaxQueries == 100)
        #expect(c.maxZoneRecords == 5000)
    }

    @Test(arguments: ["rrl: off", "rrl: { responses_per_second: 0 }"])
    func rrlOff(_ text: String) throws {
        #expect(!(try parse(text).get().rrl.enabled))
    }

    @Test func badValuesAreAllReportedWithTheirLine() {
        let e = errors(
            """
            rrl:
              responses_per_second: -1
              slip: 11
              ipv4_prefix: 33
              burst: 4
            tcp: { message_timeout: 10ms, max_queries: -2 }
            limits: { zone_records: 0 }
            """)
        #expect(e.contains { $0.hasPrefix("carousel.yaml:2: rrl.responses_per_second:") }, "\(e)")
        #expect(e.contains { $0.hasPrefix("carousel.yaml:3: rrl.slip:") }, "\(e)")
        #expect(e.contains { $0.hasPrefix("carousel.yaml:4: rrl.ipv4_prefix:") }, "\(e)")
        #expect(e.contains { $0.hasPrefix("carousel.yaml:5: rrl.burst: unknown key") }, "\(e)")
        #expect(e.contains { $0.hasPrefix("carousel.yaml:6: tcp.message_timeout:") }, "\(e)")
        #expect(e.contains { $0.hasPrefix("carousel.yaml:6: tcp.max_queries:") }, "\(e)")
        #expect(e.contains { $0.hasPrefix("carousel.yaml:7: limits.zone_records:") }, "\(e)")
        #expect(e.count == 7, "\(e)")
    }

    @Test func nsidAndCookies() throws {
        let d = try parse("").get()
        #expect(d.nsid == nil && d.cookies && d.cookieSecret == nil)
        let c = try parse(
            "nsid: ns1.example\ncookies: false\ncookie_secret: E5E973E5A6B2A43F48E7DC849E37BFCF\ncookie_secret_previous: 00112233445566778899aabbccddeeff"
        ).get()
        #expect(c.nsid == "ns1.example" && !c.cookies)
        #expect(
            c.cookiePreviousSecret == [
                0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
            ])
        #expect(
            c.cookieSecret == [
                0xe5, 0xe9, 0x73, 0xe5, 0xa6, 0xb2, 0xa4, 0x3f, 0x48, 0xe7, 0xdc, 0x84, 0x9e, 0x37, 0xbf, 0xcf,
            ])
        let e = errors("nsid: \"\"\ncookies: maybe\ncookie_secret: e5e973e5a6b2a43f48e7dc849e37bf\n")
        #expect(e.contains { $0.hasPrefix("carousel.yaml:1: nsid: expected 1 to 512 bytes") }, "\(e)")
        #expect(e.contains { $0.hasPrefix("carousel.yaml:2: cookies:") }, "\(e)")
        #expect(e.contains { $0.hasPrefix("carousel.yaml:3: cookie_secret: expected 32 hex digits") }, "\(e)")
        #expect(errors("cookie_secret: +5e973e5a6b2a43f48e7dc849e37bfcf0").count == 1)
    }

    @Test func aConfigOverOneMebibyteIsRefusedBeforeParsing() {
        let huge = "# " + String(repeating: "x", count: Config.maxFileSize) + "\n"
        #expect(errors(huge) == ["carousel.yaml:1: the config is \(huge.utf8.count) bytes; the limit is 1048576"])
        #expect(errors(String(repeating: "#\n", count: 1000)) == [])
    }
}
