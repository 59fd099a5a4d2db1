import Health
import Testing

/// What a `dns` check makes of a datagram: only the reply to our id counts, judged by its rcode.
@Suite("dns check replies")
struct DNSCheckReplyTests {
    func reply(id: UInt16, flags: UInt16, count: Int = 12) -> [UInt8] {
        var b: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), UInt8(flags >> 8), UInt8(flags & 0xFF)]
        b += [UInt8](repeating: 0, count: max(0, count - 4))
        return Array(b.prefix(count))
    }

    @Test("a reply to our id is up for an accepted rcode, down for another, with the rcode's name")
    func judged() throws {
        let ok = try #require(DNSCheckReply.judge(reply(id: 7, flags: 0x8400), id: 7, rcodes: [0, 3]))
        #expect(ok.up && ok.text == "rcode NOERROR")
        let nx = try #require(DNSCheckReply.judge(reply(id: 7, flags: 0x8403), id: 7, rcodes: [0, 3]))
        #expect(nx.up && nx.text == "rcode NXDOMAIN")
        let refused = try #require(DNSCheckReply.judge(reply(id: 7, flags: 0x8405), id: 7, rcodes: [0, 3]))
        #expect(!refused.up && refused.text == "rcode REFUSED")
        let other = try #require(DNSCheckReply.judge(reply(id: 7, flags: 0x840B), id: 7, rcodes: [0]))
        #expect(!other.up && other.text == "rcode 11")
    }

    @Test("anything else is ignored, as a resolver ignores it: another id, QR clear, a runt")
    func ignored() {
        #expect(DNSCheckReply.judge(reply(id: 8, flags: 0x8400), id: 7, rcodes: [0]) == nil)
        #expect(DNSCheckReply.judge(reply(id: 7, flags: 0x0400), id: 7, rcodes: [0]) == nil)
        #expect(DNSCheckReply.judge(reply(id: 7, flags: 0x8400, count: 11), id: 7, rcodes: [0]) == nil)
        #expect(DNSCheckReply.judge([UInt8](), id: 7, rcodes: [0]) == nil)
    }
}
