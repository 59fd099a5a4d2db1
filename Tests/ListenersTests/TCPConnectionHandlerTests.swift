import DNSWire
import DNSZone
import Foundation
import NIOCore
import NIOEmbedded
import Responder
import Testing
import ZoneFiles

@testable import Listeners

/// One TCP connection's handler on an `EmbeddedChannel`: the bytes a client writes, the bytes the
/// server answers, and the loop's clock moved by hand, so framing and the timeouts are tested
/// without sockets or waiting.
@Suite("TCPConnectionHandler: framing, pipelining and the limits (RFC 7766)")
struct TCPConnectionHandlerTests {
    static let zone = """
        $TTL 300
        @    IN SOA ns1 hostmaster 1 7200 900 1209600 300
        @    IN NS  ns1
        ns1  IN A   192.0.2.53
        www  IN A   192.0.2.1

        """

    static func snapshot() throws -> Snapshot {
        let dir = FileManager.default.temporaryDirectory.path + "/carousel-tcp-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/example.com.zone"
        try zone.write(toFile: file, atomically: true, encoding: .utf8)
        let parsed = try ZoneLoader.parse(file: file, origin: DNSName("example.com.")).get()
        let built = try Zone.build(origin: parsed.origin, file: file, records: parsed.records.map(\.record))
        return Snapshot(catalog: Catalog(zones: [built]), options: ResponderOptions())
    }

    /// A connection on `loop` with these limits, connected from 192.0.2.9.
    struct Connection {
        let loop: EmbeddedEventLoop
        let channel: EmbeddedChannel
        let stats: ServerStats
        let context: LoopContext

        init(
            loop: EmbeddedEventLoop = EmbeddedEventLoop(), context: LoopContext? = nil,
            stats: ServerStats = ServerStats(),
            idle: Duration = .seconds(10), message: Duration = .seconds(3), maxConnections: Int = 100,
            maxQueries: Int = 0
        ) throws {
            self.loop = loop
            self.stats = stats
            let context = try context ?? LoopContext(eventLoop: loop, snapshot: TCPConnectionHandlerTests.snapshot())
            self.context = context
            let settings = TCPSettings(
                idleTimeout: idle, messageTimeout: message, maxConnections: maxConnections, maxQueries: maxQueries)
            channel = EmbeddedChannel(
                handler: TCPConnectionHandler(context: context, stats: stats, settings: settings), loop: loop)
            try channel.connect(to: SocketAddress(ipAddress: "192.0.2.9", port: 40000)).wait()
        }

        func send(_ bytes: [UInt8]) throws {
            try channel.writeInbound(channel.allocator.buffer(bytes: bytes))
        }

        /// Every framed message the server wrote so far, unframed.
        func answers() throws -> [[UInt8]] {
            var bytes: [UInt8] = []
            while let b = try channel.readOutbound(as: ByteBuffer.self) { bytes += b.readableBytesView }
            var out: [[UInt8]] = []
            var i = 0
            while i + 2 <= bytes.count {
                let n = Int(bytes[i]) << 8 | Int(bytes[i + 1])
                #expect(i + 2 + n <= bytes.count, "a frame cut short")
                out.append(Array(bytes[(i + 2)..<min(bytes.count, i + 2 + n)]))
                i += 2 + n
            }
            #expect(i == bytes.count, "bytes outside any frame")
            return out
        }

        var isOpen: Bool { channel.isActive }
    }

    static func query(_ name: String, id: UInt16) throws -> [UInt8] {
        Message.query(id: id, try DNSName(name), .a).encode()
    }

    static func framed(_ m: [UInt8]) -> [UInt8] { [UInt8(m.count >> 8), UInt8(m.count & 0xFF)] + m }

    @Test("a message that arrives a byte at a time is answered once, framed, when its last byte comes")
    func framingAcrossReads() throws {
        let c = try Connection()
        let bytes = Self.framed(try Self.query("www.example.com.", id: 7))
        for b in bytes.dropLast() {
            try c.send([b])
            #expect(try c.answers().isEmpty, "answered before the message was complete")
        }
        try c.send([bytes.last!])
        let answers = try c.answers()
        #expect(answers.count == 1)
        let m = try Message.decode(answers[0])
        #expect(m.id == 7 && m.answer.count == 1 && m.has(Header.aaBit) && !m.has(Header.tcBit))
    }

    @Test("pipelined queries in one read are all answered, in order (RFC 7766 §6.2.1.1)")
    func pipelining() throws {
        let c = try Connection()
        let names = ["www.example.com.", "nope.example.com.", "example.com.", "www.example.org."]
        try c.send(names.enumerated().flatMap { Self.framed(try! Self.query($1, id: UInt16($0 + 1))) })
        let answers = try c.answers().map { try Message.decode($0) }
        #expect(answers.map(\.id) == [1, 2, 3, 4])
        #expect(answers.map(\.rcode) == [0, RCode.nxDomain.rawValue, 0, RCode.refused.rawValue])
        #expect(c.isOpen)
    }

    @Test("a response or garbage ends the conversation: nothing answered, the connection closed")
    func garbageCloses() throws {
        let c = try Connection()
        var response = try Self.query("www.example.com.", id: 9)
        response[2] |= 0x80  // QR
        try c.send(Self.framed(response))
        #expect(try c.answers().isEmpty)
        #expect(!c.isOpen)
        #expect(c.stats.dropped.load(ordering: .relaxed) == 1)
    }

    @Test("idle: closed once idle_timeout passes without a query, not before")
    func idleTimeout() throws {
        let c = try Connection(idle: .seconds(1))
        try c.send(Self.framed(try Self.query("www.example.com.", id: 1)))
        #expect(try c.answers().count == 1)
        c.loop.advanceTime(by: .milliseconds(700))
        #expect(c.isOpen)
        // A query keeps it alive: the timeout runs from the last answer.
        try c.send(Self.framed(try Self.query("www.example.com.", id: 2)))
        #expect(try c.answers().count == 1)
        c.loop.advanceTime(by: .milliseconds(700))
        #expect(c.isOpen)
        c.loop.advanceTime(by: .milliseconds(600))
        #expect(!c.isOpen)
        #expect(c.stats.tcpIdleClosed.load(ordering: .relaxed) == 1)
    }

    @Test("slow: a message whose first byte came must be complete within message_timeout (slowloris)")
    func messageTimeout() throws {
        let c = try Connection(idle: .seconds(60), message: .seconds(2))
        let bytes = Self.framed(try Self.query("www.example.com.", id: 3))
        try c.send(Array(bytes.prefix(5)))
        c.loop.advanceTime(by: .milliseconds(1500))
        try c.send(Array(bytes[5..<8]))  // more bytes do not restart the clock
        #expect(c.isOpen)
        c.loop.advanceTime(by: .milliseconds(1000))
        #expect(!c.isOpen)
        #expect(c.stats.tcpSlowClosed.load(ordering: .relaxed) == 1)
        #expect(try c.answers().isEmpty)
    }

    @Test("max_queries: the answer to the last allowed query goes out, then the connection closes")
    func queryCap() throws {
        let c = try Connection(maxQueries: 2)
        try c.send((1...3).flatMap { Self.framed(try! Self.query("www.example.com.", id: UInt16($0))) })
        c.loop.run()
        let answers = try c.answers().map { try Message.decode($0) }
        #expect(answers.map(\.id) == [1, 2])
        #expect(!c.isOpen)
        #expect(c.stats.tcpQueryCapClosed.load(ordering: .relaxed) == 1)
    }

    @Test("a client that half-closes gets the answers already asked for, then the close")
    func halfClose() throws {
        let c = try Connection()
        try c.send(Self.framed(try Self.query("www.example.com.", id: 4)))
        c.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        c.loop.run()
        #expect(try c.answers().map { try Message.decode($0).id } == [4])
        #expect(!c.isOpen)
    }

    @Test("max_connections: over the cap, the oldest idle connection of the loop makes room")
    func eviction() throws {
        let loop = EmbeddedEventLoop()
        let stats = ServerStats()
        let context = try LoopContext(eventLoop: loop, snapshot: Self.snapshot())
        let first = try Connection(loop: loop, context: context, stats: stats, maxConnections: 1)
        loop.advanceTime(by: .milliseconds(10))
        let second = try Connection(loop: loop, context: context, stats: stats, maxConnections: 1)
        loop.run()
        #expect(!first.isOpen && second.isOpen)
        #expect(stats.tcpEvicted.load(ordering: .relaxed) == 1)
        try second.send(Self.framed(try Self.query("www.example.com.", id: 5)))
        #expect(try second.answers().count == 1)
    }
}
