import DNSWire
import Responder
import Testing

@Suite("Responder: limits and buffers")
struct RobustnessTests {
    @Test("a CNAME chain stops after 8 links, NOERROR (RFC 1034 §3.6.2 'chains should be followed')")
    func chainLimit() throws {
        let links = (1...10).map { "c\($0) IN CNAME c\($0 + 1)\n" }.joined()
        let server = try Fixture.server([
            (
                "example.com.",
                "@ IN SOA ns1 h 1 7200 900 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\n" + links
                    + "c11 IN A 192.0.2.11\n"
            )
        ])
        let r = try server.ask("c1.example.com.", .a)
        #expect(r.rcode == RCode.noError.rawValue && r.has(Header.aaBit))
        #expect(r.message.answer.count == 8 && r.message.answer.allSatisfy { $0.type == .cname })
        let short = try server.ask("c4.example.com.", .a)
        #expect(short.message.answer.map(\.type) == Array(repeating: .cname, count: 7) + [.a])
    }

    /// `Responder.respond` documents 4096 bytes as enough for UDP, but `maxUDPPayload` may be up
    /// to 65535 (CarouselConfig allows 512...65535). `Responder.answer` clamps the limit to the
    /// buffer before it sets the OPT record's room aside, so the OPT never goes past the end
    /// (the fuzzer's output buffers are exactly this size too).
    @Test("the OPT record stays inside a 4096-byte UDP buffer when the payload limit is larger")
    func udpBufferOverflow() throws {
        let name = "overflow-test.example.com."  // 27 bytes: 12 + 31 + 253 × 16 = 4091 bytes of answer
        let records = (1...253).map { "overflow-test IN A 10.0.\($0 / 256).\($0 % 256)\n" }.joined()
        let server = try Fixture.server(
            [("example.com.", "@ IN SOA ns1 h 1 7200 900 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\n" + records)],
            options: ResponderOptions(maxUDPPayload: 65535))
        let guardBytes = 64
        let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096 + guardBytes, alignment: 8)
        defer { memory.deallocate() }
        memory.initializeMemory(as: UInt8.self, repeating: 0xA5)
        let out = UnsafeMutableRawBufferPointer(rebasing: memory[0..<4096])
        let query = Message.query(try DNSName(name), .a, edns: EDNS(payload: 65535)).encode()
        let outcome = query.withUnsafeBytes {
            Responder.respond(to: $0, over: .udp, snapshot: server.snapshot, into: out, scratch: server.scratch)
        }
        #expect(outcome.length <= 4096)
        #expect(memory[4096..<(4096 + guardBytes)].allSatisfy { $0 == 0xA5 }, "bytes written past the buffer")
    }
}
