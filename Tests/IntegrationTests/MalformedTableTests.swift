// Every rule of the decoder with a packet that breaks it and the outcome it must get,
// checked against the running server over UDP and over TCP; and a flood of random and mutated
// datagrams after which the server still answers, with its memory bounded.

import Foundation
import Testing

/// One hostile packet and what the server must do with it.
struct MalformedCase: Sendable, CustomTestStringConvertible {
    enum Expected: Sendable { case formErr(echoesQuestion: Bool), drop }
    var rule: String
    var bytes: [UInt8]
    var expected: Expected
    var testDescription: String { rule }
}

private func header(
    id: UInt16 = 0x4d41, flags: UInt16 = 0x0100, qd: UInt16 = 1, an: UInt16 = 0, ns: UInt16 = 0, ar: UInt16 = 0
)
    -> [UInt8]
{
    var out: [UInt8] = []
    for v in [id, flags, qd, an, ns, ar] { out.append16(v) }
    return out
}

private let question = RawQuery.encodeName("www.example.test.") + [0, 1, 0, 1]

/// An OPT record: root owner, type 41, payload 1232, version 0, the given RDATA.
private func opt(_ rdata: [UInt8] = [], owner: [UInt8] = [0]) -> [UInt8] {
    var out = owner
    out.append16(41)
    out.append16(1232)
    out += [0, 0, 0, 0]
    out.append16(UInt16(rdata.count))
    return out + rdata
}

/// A record of an unknown type (RFC 3597) with `owner` bytes and `rdata`.
private func record(owner: [UInt8], type: UInt16 = 65000, rdata: [UInt8]) -> [UInt8] {
    var out = owner
    out.append16(type)
    out.append16(1)
    out += [0, 0, 0, 60]
    out.append16(UInt16(rdata.count))
    return out + rdata
}

/// 17 compression pointers, each to the one before, hidden in an opaque RDATA, and a record whose
/// owner is the last of them: 18 pointers to follow where 16 are allowed.
private func pointerChain() -> [UInt8] {
    var message = header(ar: 2) + question
    let rdataStart = message.count + 1 + 10  // after the first record's root owner and fixed fields
    var rdata: [UInt8] = [0xc0, 12]  // to the question name
    for k in 1..<17 {
        let previous = rdataStart + 2 * (k - 1)
        rdata += [0xc0 | UInt8(previous >> 8), UInt8(previous & 0xff)]
    }
    message += record(owner: [0], rdata: rdata)
    let last = rdataStart + 2 * 16
    message += record(owner: [0xc0 | UInt8(last >> 8), UInt8(last & 0xff)], rdata: [])
    return message
}

let malformedCases: [MalformedCase] = [
    MalformedCase(rule: "shorter than a header", bytes: [0x12, 0x34, 0x01, 0x00, 0, 1], expected: .drop),
    MalformedCase(rule: "a response (QR=1)", bytes: header(flags: 0x8100) + question, expected: .drop),
    MalformedCase(rule: "QDCOUNT 0", bytes: header(qd: 0), expected: .formErr(echoesQuestion: false)),
    MalformedCase(
        rule: "QDCOUNT 2", bytes: header(qd: 2) + question + question, expected: .formErr(echoesQuestion: false)),
    MalformedCase(
        rule: "a label longer than 63", bytes: header() + [64] + [UInt8](repeating: 0x61, count: 64) + [0, 0, 1, 0, 1],
        expected: .formErr(echoesQuestion: false)),
    MalformedCase(
        rule: "a question name longer than 255",
        bytes: header() + Array(repeating: [63] + [UInt8](repeating: 0x61, count: 63), count: 5).flatMap { $0 } + [
            0, 0, 1, 0, 1,
        ],
        expected: .formErr(echoesQuestion: false)),
    MalformedCase(
        rule: "a compression pointer in the question", bytes: header() + [0xc0, 12, 0, 1, 0, 1],
        expected: .formErr(echoesQuestion: false)),
    MalformedCase(
        rule: "the question cut before QTYPE", bytes: header() + RawQuery.encodeName("www.example.test.") + [0],
        expected: .formErr(echoesQuestion: false)),
    MalformedCase(
        rule: "ANCOUNT 1 and no record", bytes: header(an: 1) + question, expected: .formErr(echoesQuestion: true)),
    MalformedCase(
        rule: "ARCOUNT 3, one record", bytes: header(ar: 3) + question + opt(), expected: .formErr(echoesQuestion: true)
    ),
    MalformedCase(
        rule: "RDLENGTH past the end",
        bytes: header(ar: 1) + question + record(owner: [0], rdata: [1, 2, 3]).dropLast(2),
        expected: .formErr(echoesQuestion: true)),
    MalformedCase(
        rule: "a forward compression pointer", bytes: header(ar: 1) + question + record(owner: [0xc0, 60], rdata: []),
        expected: .formErr(echoesQuestion: true)),
    MalformedCase(
        rule: "a compression pointer to itself",
        bytes: header(ar: 1) + question + record(owner: [0xc0, UInt8(12 + question.count)], rdata: []),
        expected: .formErr(echoesQuestion: true)),
    MalformedCase(
        rule: "18 compression pointers in a row (16 allowed)", bytes: pointerChain(),
        expected: .formErr(echoesQuestion: true)),
    MalformedCase(
        rule: "label type 0x40 (extended, obsolete)",
        bytes: header(ar: 1) + question + record(owner: [0x41, 0], rdata: []),
        expected: .formErr(echoesQuestion: true)),
    MalformedCase(
        rule: "OPT in the answer section", bytes: header(an: 1) + question + opt(),
        expected: .formErr(echoesQuestion: true)),
    MalformedCase(
        rule: "OPT in the authority section", bytes: header(ns: 1) + question + opt(),
        expected: .formErr(echoesQuestion: true)),
    MalformedCase(
        rule: "two OPT records", bytes: header(ar: 2) + question + opt() + opt(),
        expected: .formErr(echoesQuestion: true)),
    MalformedCase(
        rule: "an OPT owner other than the root",
        bytes: header(ar: 1) + question + opt(owner: RawQuery.encodeName("x.")),
        expected: .formErr(echoesQuestion: true)),
    MalformedCase(
        rule: "an EDNS option longer than the OPT RDATA", bytes: header(ar: 1) + question + opt([0, 10, 0, 8, 1, 2]),
        expected: .formErr(echoesQuestion: true)),
    MalformedCase(
        rule: "bytes after the last record", bytes: header() + question + [0xde, 0xad],
        expected: .formErr(echoesQuestion: true)),
]

@Suite("Malformed packets, rule by rule, over UDP and TCP")
struct MalformedTableTests {
    /// Checks one reply (or its absence) against the expectation.
    static func check(_ c: MalformedCase, _ reply: [UInt8]?, _ transport: String) throws {
        switch c.expected {
        case .drop:
            #expect(reply == nil, "\(c.rule) over \(transport): no answer at all")
        case .formErr(let echoes):
            let bytes = try #require(reply, "\(c.rule) over \(transport): FORMERR expected, got nothing")
            let m = try RawMessage(bytes)
            #expect(m.qr && m.id == 0x4d41 && m.rcode == 1, "\(c.rule) over \(transport): FORMERR with the id")
            #expect(m.ancount == 0 && m.nscount == 0, "\(c.rule) over \(transport)")
            #expect(m.qdcount == (echoes ? 1 : 0), "\(c.rule) over \(transport): question echoed only when readable")
        }
    }

    @Test(
        "each rule's packet gets its outcome over UDP and TCP, and the server answers afterwards",
        arguments: malformedCases)
    func rule(_ c: MalformedCase) async throws {
        let endpoint = try await sharedCarousel()
        try Self.check(c, try await UDP.exchange(c.bytes, with: endpoint, timeout: 1), "UDP")
        let (reply, closed) = try await offload { () -> ([UInt8]?, Bool) in
            let connection = try TCPConnection(to: endpoint)
            try connection.send(c.bytes)
            let reply = connection.receiveBlocking(timeout: 1.5)
            return (reply, reply == nil ? connection.waitForCloseBlocking(timeout: 1) : false)
        }
        try Self.check(c, reply, "TCP")
        if case .drop = c.expected { #expect(closed, "\(c.rule) over TCP: the connection is closed") }
        let ok = try #require(try await UDP.exchange(RawQuery("www.example.test.").bytes, with: endpoint))
        #expect(try RawMessage(ok).ancount == 2)
    }

    @Test("a flood of 100,000 random and mutated datagrams: dig still gets the right answer, memory stays bounded")
    func flood() async throws {
        let server = try await CarouselServer.start()
        defer { server.stop() }
        let before = try #require(residentKiB(server.process.pid))
        let started = ContinuousClock.now
        let (sent, replies) = try await offload { () -> (Int, Int) in
            // Random bytes come from one 1 MiB pool read from the kernel (cheap in a debug build):
            // a random packet is a slice of it at a random offset and length; a mutated one is a
            // real query with 1–6 bytes overwritten, one in seven also cut short.
            guard let urandom = FileHandle(forReadingAtPath: "/dev/urandom") else {
                throw HarnessError("no /dev/urandom")
            }
            let pool = [UInt8](urandom.readData(ofLength: 1 << 20))
            try urandom.close()
            var state: UInt64 = 0x9e37_79b9_7f4a_7c15 ^ UInt64(pool[0])
            func next(_ bound: Int) -> Int {
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
                return Int(state % UInt64(bound))
            }
            let valid = [
                RawQuery("www.example.test.").bytes, RawQuery("example.test.", type: 6).bytes,
                RawQuery("nothere.example.test.", type: 28).bytes,
            ]
            let clients = try (1...4).map { try UDPClient(to: server.endpoint, from: "127.0.\(40 + $0).1") }
            var sent = 0, replies = 0
            for i in 0..<100_000 {
                var bytes: [UInt8]
                if i % 2 == 0 {
                    let start = next(pool.count - 600)
                    bytes = Array(pool[start..<(start + next(601))])
                } else {
                    bytes = valid[i % valid.count]
                    for _ in 0...next(6) { bytes[next(bytes.count)] = pool[next(pool.count)] }
                    if i % 7 == 0 { bytes.removeLast(next(bytes.count)) }
                }
                while !clients[i % 4].send(bytes) {
                    replies += clients[i % 4].drain(quiet: 0.001).count
                }
                sent += 1
                if i % 1000 == 999 { replies += clients.map { $0.drain(quiet: 0.001).count }.reduce(0, +) }
            }
            replies += clients.map { $0.drain(quiet: 0.3).count }.reduce(0, +)
            return (sent, replies)
        }
        let seconds = Poll.seconds(since: started)
        #expect(server.isRunning, "\(server.log)")
        let answer = try await Dig.query(server.endpoint, "www.example.test", "A")
        #expect(answer.status == "NOERROR" && answer.answer.count == 2, "\(answer)")
        let after = try #require(residentKiB(server.process.pid))
        report(
            "flood: \(sent) datagrams in \(secs(seconds)), \(replies) replies (FORMERR, answers, slips); RSS \(before / 1024) → \(after / 1024) MiB"
        )
        #expect(after < 256 * 1024, "RSS \(after) KiB after the flood")
        #expect(after - before < 64 * 1024, "RSS grew from \(before) to \(after) KiB")
    }
}
