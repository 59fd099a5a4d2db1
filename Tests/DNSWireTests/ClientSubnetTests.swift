import Testing

@testable import DNSWire

/// EDNS Client Subnet (RFC 7871 §6) as `Query.decode` and `Message.decode` read it.
@Suite("Client Subnet: reading the option, FORMERR for every malformed one (RFC 7871 §7.1.1)")
struct ClientSubnetTests {
    /// A query for www.example.com A with an OPT holding `options`.
    static func query(_ options: [EDNSOption]) -> [UInt8] {
        Message.query(try! DNSName("www.example.com."), .a, edns: EDNS(payload: 1232), ednsOptions: options).encode()
    }

    static func ecs(family: UInt16, source: UInt8, scope: UInt8 = 0, _ address: [UInt8]) -> EDNSOption {
        EDNSOption(
            code: EDNSOptionCode.clientSubnet,
            data: [UInt8(family >> 8), UInt8(family & 0xFF), source, scope] + address)
    }

    @Test("a sound option: family, source prefix and address, as dig +subnet=198.51.100.0/24 sends it")
    func sound() throws {
        let q = try #require(decodedQuery(Self.query([Self.ecs(family: 1, source: 24, [198, 51, 100])])))
        let s = try #require(q.clientSubnet)
        #expect(s.family == .ipv4 && s.sourcePrefix == 24 && s.addressLength == 3)
        #expect((0..<4).map(s.byte) == [198, 51, 100, 0])
        let v6 = try #require(
            decodedQuery(Self.query([Self.ecs(family: 2, source: 56, [0x20, 0x01, 0x0d, 0xb8, 0, 1, 2])])))
        #expect(v6.clientSubnet?.family == .ipv6 && v6.clientSubnet?.sourcePrefix == 56)
        #expect(v6.clientSubnet.map { (0..<8).map($0.byte) } == [0x20, 0x01, 0x0d, 0xb8, 0, 1, 2, 0])
        // Source 0: no address bytes at all ("no client information").
        let zero = try #require(decodedQuery(Self.query([Self.ecs(family: 1, source: 0, [])])))
        #expect(zero.clientSubnet?.sourcePrefix == 0)
        #expect(try #require(decodedQuery(Self.query([]))).clientSubnet == nil)
    }

    static let malformed: [(String, [EDNSOption])] = [
        ("an unknown family", [ecs(family: 3, source: 24, [1, 2, 3])]),
        ("a source prefix longer than IPv4 allows", [ecs(family: 1, source: 33, [1, 2, 3, 4, 5])]),
        ("a source prefix longer than IPv6 allows", [ecs(family: 2, source: 129, Array(repeating: 1, count: 17))]),
        ("address bytes beyond the prefix", [ecs(family: 1, source: 24, [198, 51, 100, 0])]),
        ("too few address bytes", [ecs(family: 1, source: 24, [198, 51])]),
        ("bits set past the prefix", [ecs(family: 1, source: 20, [198, 51, 100])]),
        ("a scope in a query", [ecs(family: 1, source: 24, scope: 24, [198, 51, 100])]),
        ("an option too short for its fields", [EDNSOption(code: EDNSOptionCode.clientSubnet, data: [0, 1, 24])]),
        ("two options", [ecs(family: 1, source: 24, [198, 51, 100]), ecs(family: 1, source: 24, [198, 51, 101])]),
    ]

    @Test("FORMERR, with the question echoed, from both decoders", arguments: malformed)
    func formErr(_ what: String, _ options: [EDNSOption]) {
        let bytes = Self.query(options)
        guard case .formErr(_, _, let end, let reason) = decodeQuery(bytes) else {
            Issue.record("\(what): not FORMERR")
            return
        }
        #expect(end != nil, "\(what): the question is readable, so it is echoed")
        #expect(reason.description.contains("ECS"), "\(what): \(reason)")
        #expect(throws: DNSWireError.self, "\(what): Message.decode agrees") { try Message.decode(bytes) }
    }

    @Test("a response may carry a scope; Message.decode reads it")
    func responseScope() throws {
        var m = Message.query(try DNSName("www.example.com."), .a, flags: Header.qrBit, edns: EDNS(payload: 1232))
        m.ednsOptions = [Self.ecs(family: 1, source: 24, scope: 24, [198, 51, 100])]
        #expect(try Message.decode(m.encode()).ednsOptions.count == 1)
    }

    @Test("cut: bits past the prefix cleared, never longer than the source")
    func cut() {
        let s = ClientSubnet(address: [192, 0, 2, 255], prefix: 32)!
        #expect((0..<4).map(s.cut(to: 24).byte) == [192, 0, 2, 0])
        #expect((0..<4).map(s.cut(to: 20).byte) == [192, 0, 0, 0])
        #expect(s.cut(to: 0).high == 0 && s.cut(to: 40).sourcePrefix == 32)
        let v6 = ClientSubnet(address: IPAddress("2001:db8:1:2:ab03:4:5:6")!.bytes, prefix: 128)!
        #expect(v6.cut(to: 72).low == 0xab00_0000_0000_0000 && v6.cut(to: 56).low == 0)
        #expect(v6.cut(to: 56).high == 0x2001_0db8_0001_0000)
    }

    @Test("the answer's option: family, source and address as sent, and the scope")
    func write() {
        let s = ClientSubnet(address: [198, 51, 100, 0], prefix: 24)!
        var out = [UInt8](repeating: 0xEE, count: 16)
        let n = out.withUnsafeMutableBytes { s.write(scope: 24, into: $0) }
        #expect(Array(out[0..<n]) == [0, 1, 24, 24, 198, 51, 100])
    }
}
