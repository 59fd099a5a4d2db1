// EDNS0 (RFC 6891) and truncation (RFC 1035 §4.2.1, RFC 9471): what fits a UDP reply and what
// makes the client retry over TCP.

import Foundation
import Testing

/// 40 A records (~680 bytes): over 512, under 1232.
private let manyCount = 40
/// 100 A records (~1650 bytes): over 1232.
private let hugeCount = 100

@Suite("EDNS and truncation")
struct EDNSTests {
    @Test("OPT is echoed, with version 0")
    func optEchoed() async throws {
        let response = try await Dig.query(try await sharedCarousel(), "www.example.test")
        #expect(response.status == "NOERROR", "\(response)")
        #expect(response.ednsVersion == 0, "\(response)")
        let size = try #require(response.ednsUDPSize, "\(response)")
        #expect(size >= 512 && size <= 1232, "the server's own payload size, at most max_udp_payload\n\(response)")
    }

    @Test("no OPT in the query, no OPT in the reply")
    func noOptWithoutEDNS() async throws {
        let response = try await Dig.query(try await sharedCarousel(), "+noedns", "www.example.test")
        #expect(response.status == "NOERROR" && !response.hasEDNS, "\(response)")
        let reply = try #require(
            try await UDP.exchange(RawQuery("www.example.test.").bytes, with: try await sharedCarousel()))
        #expect(try RawMessage(reply).arcount == 0)
    }

    @Test("unknown EDNS options are ignored")
    func unknownOption() async throws {
        let response = try await Dig.query(try await sharedCarousel(), "+ednsopt=65001:abcd", "www.example.test")
        #expect(response.status == "NOERROR" && response.answer.count == 2 && response.ednsVersion == 0, "\(response)")
    }

    @Test("the DO bit is copied (RFC 3225 §3); unsigned zones add no DNSSEC records")
    func doBit() async throws {
        let response = try await Dig.query(try await sharedCarousel(), "+dnssec", "www.example.test")
        #expect(response.ednsFlags.contains("do"), "\(response)")
        #expect(response.answer.count == 2 && response.aa, "\(response)")
        let plain = try await Dig.query(try await sharedCarousel(), "www.example.test")
        #expect(!plain.ednsFlags.contains("do"), "\(plain)")
    }

    @Test("EDNS version 1 gets BADVERS with a version 0 OPT")
    func badVersion() async throws {
        let endpoint = try await sharedCarousel()
        let response = try await Dig.query(endpoint, "+edns=1", "www.example.test")
        #expect(response.status == "BADVERS", "\(response)")
        #expect(response.answer.isEmpty && response.ednsVersion == 0, "\(response)")
        var query = RawQuery("www.example.test.")
        query.opts = [(1232, 1, [])]
        let message = try RawMessage(try #require(try await UDP.exchange(query.bytes, with: endpoint)))
        #expect(message.fullRcode == 16 && message.ednsVersion == 0 && message.ancount == 0)
    }

    @Test("two OPT records get FORMERR")
    func twoOpts() async throws {
        var query = RawQuery("www.example.test.")
        query.opts = [(1232, 0, []), (1232, 0, [])]
        let reply = try #require(try await UDP.exchange(query.bytes, with: try await sharedCarousel()))
        let message = try RawMessage(reply)
        #expect(message.rcode == 1, "FORMERR (RFC 6891 §6.1.1)")
        #expect(message.ancount == 0)
    }

    @Test(
        "over 512 bytes without EDNS: TC=1, header and question only", arguments: ["many", "bigtxt", "tomany"])
    func truncatedWithoutEDNS(label: String) async throws {
        let endpoint = try await sharedCarousel()
        let type = label == "bigtxt" ? "TXT" : "A"
        let response = try await Dig.query(endpoint, "+noedns", "\(label).example.test", type)
        #expect(response.status == "NOERROR" && response.tc && response.aa, "\(response)")
        #expect(response.answer.isEmpty && response.authority.isEmpty && response.additional.isEmpty, "\(response)")
        let reply = try #require(
            try await UDP.exchange(RawQuery("\(label).example.test.", type: type == "A" ? 1 : 16).bytes, with: endpoint)
        )
        #expect(reply.count <= 512)
        let message = try RawMessage(reply)
        #expect(message.tc && message.ancount == 0 && message.nscount == 0 && message.arcount == 0)
    }

    @Test(
        "the same over TCP: the full answer",
        arguments: [
            ("many", "A", manyCount), ("bigtxt", "TXT", 3), ("huge", "A", hugeCount), ("tomany", "A", manyCount + 1),
        ])
    func fullOverTCP(label: String, type: String, count: Int) async throws {
        let response = try await Dig.query(try await sharedCarousel(), "+tcp", "+noedns", "\(label).example.test", type)
        #expect(response.status == "NOERROR" && !response.tc && response.aa, "\(response)")
        #expect(response.answer.count == count, "\(response)")
    }

    @Test("+bufsize is honoured", arguments: [(1232, false), (700, false), (600, true), (100, true)])
    func bufsizeHonoured(bufsize: Int, truncated: Bool) async throws {
        let response = try await Dig.query(try await sharedCarousel(), "+bufsize=\(bufsize)", "many.example.test")
        #expect(response.status == "NOERROR" && response.tc == truncated, "\(response)")
        #expect(response.answer.count == (truncated ? 0 : manyCount), "\(response)")
        #expect(response.ednsVersion == 0, "the OPT stays in a truncated reply\n\(response)")
    }

    @Test("the payload size is capped at max_udp_payload (default 1232)")
    func cappedAtDefault() async throws {
        let response = try await Dig.query(try await sharedCarousel(), "+bufsize=4096", "huge.example.test")
        #expect(response.tc && response.answer.isEmpty, "\(response)")
    }

    @Test("max_udp_payload raises and lowers the cap")
    func configuredCap() async throws {
        try await withCarousel(config: "max_udp_payload: 4096") { server in
            let response = try await Dig.query(server.endpoint, "+bufsize=4096", "huge.example.test")
            #expect(!response.tc && response.answer.count == hugeCount, "\(response)\n\(server.log)")
            let smaller = try await Dig.query(server.endpoint, "+bufsize=1232", "huge.example.test")
            #expect(smaller.tc && smaller.answer.isEmpty, "the client's size still counts\n\(smaller)")
        }
        try await withCarousel(config: "max_udp_payload: 600") { server in
            let response = try await Dig.query(server.endpoint, "+bufsize=1232", "many.example.test")
            #expect(response.tc && response.answer.isEmpty, "\(response)\n\(server.log)")
            let small = try await Dig.query(server.endpoint, "+bufsize=1232", "www.example.test")
            #expect(!small.tc && small.answer.count == 2, "\(small)")
        }
    }

    @Test("a referral whose in-domain glue does not fit keeps the NS set and the glue that fits, with TC (RFC 9471)")
    func referralGlueTruncated() async throws {
        let endpoint = try await sharedCarousel()
        for size in ["+noedns", "+bufsize=512"] {
            let udp = try await Dig.query(endpoint, size, "www.bigdeleg.example.test")
            #expect(udp.tc && !udp.aa && udp.authority.count == 13, "\(udp)")
            #expect(!udp.additional.isEmpty && udp.additional.count < 26, "\(udp)")
            #expect(udp.additional.prefix(13).allSatisfy { $0.type == "A" }, "A glue first, as NSD orders it\n\(udp)")
        }
        let tcp = try await Dig.query(endpoint, "+noedns", "+tcp", "www.bigdeleg.example.test")
        #expect(!tcp.tc && !tcp.aa && tcp.authority.count == 13 && tcp.additional.count == 26, "\(tcp)")
    }
}
