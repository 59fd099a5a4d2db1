// Header triage: what is answered with an error, what is dropped without a word, and that the
// server keeps serving afterwards. Also the queries an authoritative-only server refuses.

import Foundation
import Testing

/// True when the server still answers a plain query.
private func stillAnswers(_ endpoint: Endpoint) async throws -> Bool {
    guard let reply = try await UDP.exchange(RawQuery("www.example.test.").bytes, with: endpoint) else { return false }
    return try RawMessage(reply).ancount == 2
}

@Suite("Malformed and refused queries")
struct MalformedTests {
    @Test("opcode STATUS from dig gets NOTIMP")
    func digOpcodeStatus() async throws {
        let response = try await Dig.query(try await sharedCarousel(), "+opcode=status", "example.test")
        #expect(response.status == "NOTIMP", "\(response)")
        #expect(!response.aa && response.answer.isEmpty, "\(response)")
    }

    @Test("opcodes other than QUERY get NOTIMP", arguments: [1, 2, 4, 5, 6, 15] as [UInt8])
    func otherOpcodes(opcode: UInt8) async throws {
        var query = RawQuery("example.test.", type: 6)
        query.opcode = opcode
        let reply = try #require(try await UDP.exchange(query.bytes, with: try await sharedCarousel()))
        let message = try RawMessage(reply)
        #expect(message.qr && message.id == query.id)
        #expect(message.rcode == 4, "NOTIMP (RFC 1035 §4.1.1)")
        #expect(message.opcode == opcode, "the opcode is copied")
        #expect(message.ancount == 0)
    }

    @Test("QDCOUNT other than 1 gets FORMERR", arguments: [0, 2])
    func questionCount(count: Int) async throws {
        var query = RawQuery("www.example.test.")
        query.questions = Array(repeating: ("www.example.test.", 1, 1), count: count)
        let reply = try #require(try await UDP.exchange(query.bytes, with: try await sharedCarousel()))
        let message = try RawMessage(reply)
        #expect(message.qr && message.id == query.id)
        #expect(message.rcode == 1, "FORMERR")
        #expect(message.ancount == 0)
    }

    @Test("a response (QR=1) is dropped")
    func responseDropped() async throws {
        let endpoint = try await sharedCarousel()
        var query = RawQuery("www.example.test.")
        query.qr = true
        #expect(try await UDP.exchange(query.bytes, with: endpoint, timeout: 1.5) == nil)
        #expect(try await stillAnswers(endpoint))
    }

    @Test("garbage shorter than a header is dropped", arguments: [0, 1, 2, 5, 11])
    func shortGarbage(length: Int) async throws {
        let endpoint = try await sharedCarousel()
        let garbage = (0..<length).map { _ in UInt8.random(in: 0...255) }
        if length > 0 {
            #expect(try await UDP.exchange(garbage, with: endpoint, timeout: 1.5) == nil)
        } else {
            _ = try await UDP.exchange(garbage, with: endpoint, timeout: 0.5)
        }
        #expect(try await stillAnswers(endpoint))
    }

    @Test("a question cut short gets FORMERR or nothing, and the server lives on")
    func cutQuestion() async throws {
        let endpoint = try await sharedCarousel()
        let bytes = RawQuery("www.example.test.").bytes
        for cut in [13, 20, bytes.count - 2] {
            if let reply = try await UDP.exchange(Array(bytes[0..<cut]), with: endpoint, timeout: 1) {
                #expect(reply.count >= 12 && reply[3] & 0x0f == 1, "FORMERR if anything")
            }
        }
        // a compression pointer loop in the question
        var looped = Array(bytes[0..<12])
        looped += [0xc0, 12, 0, 1, 0, 1]
        if let reply = try await UDP.exchange(looped, with: endpoint, timeout: 1) {
            #expect(reply.count >= 12 && reply[3] & 0x0f == 1, "FORMERR if anything")
        }
        #expect(try await stillAnswers(endpoint))
    }

    @Test("random datagrams do not stop the server")
    func randomDatagrams() async throws {
        let endpoint = try await sharedCarousel()
        for _ in 0..<50 {
            var bytes = RawQuery("www.example.test.").bytes
            for _ in 0..<4 { bytes[Int.random(in: 0..<bytes.count)] = UInt8.random(in: 0...255) }
            _ = try await UDP.exchange(bytes, with: endpoint, timeout: 0.05)
        }
        #expect(try await stillAnswers(endpoint))
    }

    @Test("AXFR is refused: dig prints Transfer failed.")
    func axfr() async throws {
        let endpoint = try await sharedCarousel()
        let result = try await Dig.run(endpoint, ["axfr", "example.test"])
        #expect(result.stdout.contains("Transfer failed."), "\(result.stdout)")
        let reply = try #require(
            try await TCPConnection.exchange(RawQuery("example.test.", type: 252).bytes, with: endpoint))
        let message = try RawMessage(reply)
        #expect(message.rcode == 5 && message.ancount == 0 && !message.aa, "REFUSED, without AA")
    }

    @Test(
        "AXFR over UDP is NOTIMP (RFC 5936 §4.2), IXFR over UDP of a zone without transfers REFUSED; neither has AA",
        arguments: [(252, 4), (251, 5)] as [(UInt16, UInt8)])
    func transfersOverUDP(type: UInt16, rcode: UInt8) async throws {
        let reply = try #require(
            try await UDP.exchange(RawQuery("example.test.", type: type).bytes, with: try await sharedCarousel()))
        let message = try RawMessage(reply)
        #expect(message.rcode == rcode && message.ancount == 0 && !message.aa, "rcode \(message.rcode)")
    }

    @Test("CH TXT version.bind and id.server are REFUSED by default", arguments: ["version.bind", "id.server"])
    func chaosDefault(name: String) async throws {
        let response = try await Dig.query(try await sharedCarousel(), "-c", "CH", "-t", "TXT", name)
        #expect(response.status == "REFUSED" && response.answer.isEmpty, "\(response)")
    }

    @Test("CH TXT answers the configured strings")
    func chaosConfigured() async throws {
        try await withCarousel(config: "chaos: { version: \"Carousel test\", identity: \"ns-test\" }") { server in
            for (name, text) in [("version.bind", "Carousel test"), ("id.server", "ns-test")] {
                let response = try await Dig.query(server.endpoint, "-c", "CH", "-t", "TXT", name)
                #expect(response.status == "NOERROR", "\(response)\n\(server.log)")
                #expect(response.answer.map(\.rdata) == ["\"\(text)\""], "\(response)")
                #expect(response.answer.map(\.rclass) == ["CH"], "\(response)")
                #expect(response.answer.first?.owner == name + ".", "\(response)")
            }
            let tcp = try await Dig.query(server.endpoint, "+tcp", "-c", "CH", "-t", "TXT", "VERSION.BIND")
            #expect(tcp.answer.map(\.rdata) == ["\"Carousel test\""], "\(tcp)")
            let inClass = try await Dig.query(server.endpoint, "-t", "TXT", "version.bind")
            #expect(inClass.status == "REFUSED", "class IN version.bind is just a name outside every zone\n\(inClass)")
        }
    }
}
