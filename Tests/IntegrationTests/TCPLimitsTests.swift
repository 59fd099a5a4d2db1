// The TCP listener against clients that hold connections: slowloris (a byte and then nothing),
// a message trickled slower than the message timeout, a full server, the per-connection query
// cap, a quiet connection, and a client that writes but never reads (backpressure). Each closure
// shows up in /metrics by reason.

import Foundation
import Testing

@Suite("TCP limits", .serialized)
struct TCPLimitsTests {
    static let zone = balancedZone("example.test.", addresses: ["192.0.2.1", "192.0.2.2"])
    static let query = RawQuery("www.example.test.").bytes

    static func closedTotal(_ server: ConfiguredCarousel, _ reason: String) async throws -> Int {
        let text = try await Admin.request("GET", server.adminURL + "/metrics").body
        return Int(metric(text, "carousel_tcp_closed_total{reason=\"\(reason)\"}") ?? -1)
    }

    @Test("slowloris: 500 connections that send one byte; queries still answered; all closed after the message timeout")
    func slowloris() async throws {
        let config = "tcp: { message_timeout: 2s, idle_timeout: 30s }"
        try await withConfiguredCarousel(zones: ["example.test.zone": Self.zone], config: config) { server in
            let opened = ContinuousClock.now
            let connections = try await offload {
                try (0..<500).map { _ in
                    let c = try TCPConnection(to: server.endpoint)
                    try c.sendRaw([0])  // the first byte of a length prefix, and then nothing
                    return c
                }
            }
            // Others are served meanwhile, over TCP and UDP.
            // (Generous timeouts: on a loaded 2-core CI machine a debug build is slow, not stuck.)
            let tcp = try #require(try await TCPConnection.exchange(Self.query, with: server.endpoint, timeout: 10))
            #expect(try RawMessage(tcp).ancount == 2)
            let udp = try #require(try await UDP.exchange(Self.query, with: server.endpoint, timeout: 10))
            #expect(try RawMessage(udp).ancount == 2)
            let open = try await Admin.request("GET", server.adminURL + "/metrics").body
            #expect((metric(open, "carousel_tcp_connections_open") ?? 0) >= 500, "all 500 held open before the timeout")

            let closed = try await offload { () -> Int in
                let deadline = Date().addingTimeInterval(15)
                return connections.filter { $0.waitForCloseBlocking(timeout: max(0.01, deadline.timeIntervalSinceNow)) }
                    .count
            }
            let seconds = Poll.seconds(since: opened)
            report(
                "slowloris: 500 connections with one byte each; \(closed) closed by the server \(secs(seconds)) after opening (message_timeout 2s)"
            )
            #expect(closed == 500)
            #expect(seconds < 15)
            #expect(try await Self.closedTotal(server, "slow") >= 500)
            let after = try #require(try await TCPConnection.exchange(Self.query, with: server.endpoint, timeout: 10))
            #expect(try RawMessage(after).ancount == 2)
        }
    }

    @Test(
        "a message trickled a byte every 300 ms is cut at the message timeout, though each byte beats the idle timeout")
    func trickle() async throws {
        let config = "tcp: { message_timeout: 1s, idle_timeout: 10s }"
        try await withConfiguredCarousel(zones: ["example.test.zone": Self.zone], config: config) { server in
            let connection = try TCPConnection(to: server.endpoint)
            let framed = TCPConnection.frame(Self.query)
            let started = ContinuousClock.now
            var sent = 0
            for byte in framed {
                do { try connection.sendRaw([byte]) } catch { break }
                sent += 1
                if try await connection.waitForClose(timeout: 0.3) { break }
            }
            let seconds = Poll.seconds(since: started)
            report("trickle: closed after \(sent) of \(framed.count) bytes, \(secs(seconds))")
            // 36 bytes at 300 ms each would take 10.8 s.
            #expect(sent < framed.count, "the whole message never got through")
            #expect(seconds >= 0.9 && seconds < 8)
            #expect(try await Self.closedTotal(server, "slow") == 1)
        }
    }

    @Test("full: the oldest idle connection makes room; with none idle the newcomer is refused")
    func full() async throws {
        let config = "tcp: { max_connections: 5, message_timeout: 20s, idle_timeout: 30s }"
        try await withConfiguredCarousel(
            zones: ["example.test.zone": Self.zone], config: config, arguments: ["--threads", "1"]
        ) { server in
            var idle: [TCPConnection] = []
            for _ in 0..<5 {
                let c = try TCPConnection(to: server.endpoint)
                try c.send(Self.query)
                #expect(try await c.receive() != nil)
                idle.append(c)
                try await Task.sleep(for: .milliseconds(20))
            }
            let sixth = try TCPConnection(to: server.endpoint)
            try sixth.send(Self.query)
            #expect(try await sixth.receive() != nil, "the newcomer is served")
            #expect(try await idle[0].waitForClose(timeout: 2), "the oldest idle one was closed")
            #expect(try await idle[1].waitForClose(timeout: 0.3) == false, "and only that one")
            #expect(try await Self.closedTotal(server, "evicted") == 1)

            // Now make every connection busy (a message half sent) and try again.
            for c in idle[1...] { try c.sendRaw([0, 40, 1]) }
            try sixth.sendRaw([0, 40, 1])
            try await Task.sleep(for: .milliseconds(200))
            let seventh = try TCPConnection(to: server.endpoint)
            try? seventh.send(Self.query)
            #expect(try await seventh.waitForClose(timeout: 2), "refused: nobody idle to close")
            #expect(try await Self.closedTotal(server, "full") == 1)
        }
    }

    @Test("max_queries: the connection closes after its third answer; pipelined extras go unanswered")
    func queryCap() async throws {
        try await withConfiguredCarousel(zones: ["example.test.zone": Self.zone], config: "tcp: { max_queries: 3 }") {
            server in
            let connection = try TCPConnection(to: server.endpoint)
            var ids: [UInt16] = []
            var pipeline: [UInt8] = []
            for i in 0..<5 {
                var q = RawQuery("www.example.test.")
                q.id = UInt16(100 + i)
                ids.append(q.id)
                pipeline += TCPConnection.frame(q.bytes)
            }
            try connection.sendRaw(pipeline)
            var answered: [UInt16] = []
            while let reply = try await connection.receive(timeout: 2) { answered.append(try RawMessage(reply).id) }
            #expect(answered == Array(ids[0..<3]))
            #expect(try await connection.waitForClose(timeout: 1))
            #expect(try await Self.closedTotal(server, "query_cap") == 1)
        }
    }

    @Test("idle_timeout: a connection quiet after its answer is closed and counted as idle")
    func idleCounted() async throws {
        let config = "tcp: { idle_timeout: 1s, message_timeout: 20s }"
        try await withConfiguredCarousel(zones: ["example.test.zone": Self.zone], config: config) { server in
            let connection = try TCPConnection(to: server.endpoint)
            try connection.send(Self.query)
            #expect(try await connection.receive() != nil)
            #expect(try await connection.waitForClose(timeout: 6))
            #expect(try await Self.closedTotal(server, "idle") == 1)
            #expect(try await Self.closedTotal(server, "slow") == 0)
        }
    }

    @Test(
        "backpressure: a client that writes queries and never reads stops being read; when it reads, every answer comes"
    )
    func backpressure() async throws {
        let config = "tcp: { idle_timeout: 60s, message_timeout: 60s }"
        try await withConfiguredCarousel(zones: ["example.test.zone": Self.zone], config: config) { server in
            let client = try NonBlockingTCP(to: server.endpoint)
            let frame = TCPConnection.frame(Self.query)
            let chunk = Array([[UInt8]](repeating: frame, count: 1000).joined())
            // Write until the server has stopped reading for 2 s. Without backpressure it would
            // keep reading (and buffering answers) and the writes would never stall for long.
            let (written, stalled) = try await offload { () -> (Int, Bool) in
                var written = 0
                var offset = 0
                var stallStart: Date?
                let deadline = Date().addingTimeInterval(40)
                while Date() < deadline {
                    let n = try client.write(chunk, from: offset)
                    if n > 0 {
                        written += n
                        offset = (offset + n) % chunk.count
                        stallStart = nil
                    } else if let since = stallStart {
                        if Date().timeIntervalSince(since) >= 2 { return (written, true) }
                        usleep(10_000)
                    } else {
                        stallStart = Date()
                    }
                }
                return (written, false)
            }
            let queries = written / frame.count
            report(
                "backpressure: the server stopped reading after \(queries) unread-answer queries (\(written / 1024) KiB)"
            )
            #expect(stalled, "the server kept reading from a client that never read (\(queries) queries)")
            // Others are still served meanwhile.
            let udp = try #require(try await UDP.exchange(Self.query, with: server.endpoint, timeout: 10))
            #expect(try RawMessage(udp).ancount == 2)
            // Now read: every complete query is answered (the last one may be cut mid-frame).
            let answers = try await offload { try client.countFrames(until: queries, timeout: 60) }
            #expect(answers == queries)
        }
    }
}

/// A TCP client with a non-blocking socket, for writing without reading.
final class NonBlockingTCP: @unchecked Sendable {
    private let fd: Int32

    init(to endpoint: Endpoint) throws {
        let blocking = try TCPConnection.connectedSocket(to: endpoint)
        fd = blocking
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    deinit { close(fd) }

    /// Writes what the socket takes of `bytes[from...]`: the count, 0 when it takes nothing now.
    func write(_ bytes: [UInt8], from: Int) throws -> Int {
        let n = bytes[from...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if n >= 0 { return n }
        if errno == EAGAIN || errno == EWOULDBLOCK { return 0 }
        throw HarnessError("send: \(String(cString: strerror(errno)))")
    }

    /// Reads framed messages until `expected` have come or nothing arrives for `timeout` s.
    func countFrames(until expected: Int, timeout: Double) throws -> Int {
        var count = 0
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var start = 0
        while count < expected {
            guard waitReadable(fd, timeout: timeout) else { break }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            pending += buffer[0..<n]
            while pending.count - start >= 2 {
                let length = Int(pending[start]) << 8 | Int(pending[start + 1])
                guard pending.count - start >= 2 + length else { break }
                start += 2 + length
                count += 1
            }
            if start > 1 << 20 {
                pending.removeFirst(start)
                start = 0
            }
        }
        return count
    }
}
