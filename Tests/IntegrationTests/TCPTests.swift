// DNS over TCP (RFC 7766): framing, many queries per connection, pipelining, idle timeout; and
// the IPv6 listener.

import Foundation
import Testing

@Suite("TCP and listeners")
struct TCPTests {
    @Test("several queries on one connection (kdig +keepopen)")
    func keepOpen() async throws {
        let endpoint = try await sharedCarousel()
        let responses = try await Dig.kdig(
            endpoint, ["+tcp", "+keepopen", "www.example.test", "A", "nx.example.test", "A", "txt.example.test", "TXT"])
        try #require(responses.count == 3, "\(responses)")
        #expect(responses[0].status == "NOERROR" && responses[0].answer.count == 2, "\(responses[0])")
        #expect(responses[1].status == "NXDOMAIN" && responses[1].authority.count == 1, "\(responses[1])")
        #expect(responses[2].status == "NOERROR" && responses[2].answer.count == 1, "\(responses[2])")
    }

    @Test("several queries one after another on one raw connection")
    func sequential() async throws {
        let endpoint = try await sharedCarousel()
        let connection = try TCPConnection(to: endpoint)
        for name in ["www.example.test.", "www.other.test.", "www.child.example.test.", "nx.example.test."] {
            let query = RawQuery(name)
            try connection.send(query.bytes)
            let reply = try #require(try await connection.receive(), "no reply to \(name)")
            let message = try RawMessage(reply)
            #expect(message.id == query.id && message.aa)
        }
    }

    @Test("pipelined queries in one write are all answered (any order)")
    func pipelined() async throws {
        let endpoint = try await sharedCarousel()
        let names = [
            "www.example.test.", "many.example.test.", "nx.example.test.", "foo.wild.example.test.", "www.other.test.",
        ]
        var queries: [RawQuery] = []
        for name in names {  // distinct IDs, so that replies can be matched
            var query = RawQuery(name)
            query.id = UInt16(0x4000 + queries.count)
            queries.append(query)
        }
        let connection = try TCPConnection(to: endpoint)
        try connection.sendRaw(queries.flatMap { TCPConnection.frame($0.bytes) })
        var waiting = Dictionary(uniqueKeysWithValues: queries.map { ($0.id, $0) })
        for _ in queries {
            let reply = try #require(
                try await connection.receive(), "no reply for \(waiting.values.map(\.questions[0].name))")
            let message = try RawMessage(reply)
            let removed = waiting.removeValue(forKey: message.id)
            let query = try #require(removed, "unexpected id \(message.id)")
            #expect(message.questionBytes == Array(query.bytes[12...]))
            #expect(!message.tc, "TCP replies are never truncated")
        }
    }

    @Test("a message split across writes is reassembled")
    func splitWrites() async throws {
        let endpoint = try await sharedCarousel()
        let query = RawQuery("www.example.test.")
        let framed = TCPConnection.frame(query.bytes)
        let connection = try TCPConnection(to: endpoint)
        try connection.sendRaw(Array(framed[0..<1]))
        try await Task.sleep(for: .milliseconds(100))
        try connection.sendRaw(Array(framed[1..<10]))
        try await Task.sleep(for: .milliseconds(100))
        try connection.sendRaw(Array(framed[10...]))
        let message = try RawMessage(try #require(try await connection.receive()))
        #expect(message.id == query.id && message.ancount == 2)
    }

    @Test("the idle timeout closes a quiet connection")
    func idleTimeout() async throws {
        try await withCarousel(config: "tcp: { idle_timeout: 1s, max_connections: 100 }") { server in
            let quiet = try TCPConnection(to: server.endpoint)
            #expect(try await quiet.waitForClose(timeout: 6), "a connection that never sent anything")
            let used = try TCPConnection(to: server.endpoint)
            try used.send(RawQuery("www.example.test.").bytes)
            #expect(try await used.receive() != nil)
            #expect(try await used.waitForClose(timeout: 6), "a connection quiet after one answer")
            #expect(server.isRunning)
        }
    }

    @Test("the default idle timeout (10 s) keeps a connection for a few seconds")
    func defaultIdleKeepsConnection() async throws {
        let endpoint = try await sharedCarousel()
        let connection = try TCPConnection(to: endpoint)
        #expect(try await !connection.waitForClose(timeout: 2))
        let query = RawQuery("www.example.test.")
        try connection.send(query.bytes)
        let message = try RawMessage(try #require(try await connection.receive()))
        #expect(message.id == query.id)
    }

    @Test("max_connections: a connection over the cap replaces the oldest idle one; a freed slot is reused")
    func connectionCap() async throws {
        try await withCarousel(config: "tcp: { idle_timeout: 10s, max_connections: 2 }") { server in
            // The readiness probe's own connection may still count for a moment: retry until two are served.
            var open: [TCPConnection] = []
            for _ in 0..<20 where open.count < 2 {
                let connection = try TCPConnection(to: server.endpoint)
                try? connection.send(RawQuery("www.example.test.").bytes)
                if try await connection.receive(timeout: 1) != nil {
                    open.append(connection)
                } else {
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            try #require(open.count == 2, "two connections within the cap are served\n\(server.log)")
            let third = try TCPConnection(to: server.endpoint)
            try? third.send(RawQuery("www.example.test.").bytes)
            #expect(try await third.receive(timeout: 2) != nil, "the third connection is answered")
            #expect(try await open[0].waitForClose(timeout: 3), "in place of the oldest idle one, which is closed")
            open.removeFirst()
            open.removeFirst()  // closes the second
            var served = false
            for _ in 0..<20 where !served {
                try await Task.sleep(for: .milliseconds(100))
                if let again = try? TCPConnection(to: server.endpoint) {
                    try? again.send(RawQuery("www.example.test.").bytes)
                    served = try await again.receive(timeout: 1) != nil
                }
            }
            #expect(served, "a slot freed by a closed connection is reused\n\(server.log)")
            #expect(try await UDP.exchange(RawQuery("www.example.test.").bytes, with: server.endpoint) != nil)
        }
    }

    @Test(
        "garbage or a response over TCP gets no answer; the server lives on",
        arguments: ["garbage", "response", "empty"])
    func tcpGarbage(kind: String) async throws {
        let endpoint = try await sharedCarousel()
        var response = RawQuery("www.example.test.")
        response.qr = true
        let message: [UInt8] =
            switch kind {
            case "garbage": [1, 2, 3, 4, 5]
            case "response": response.bytes
            default: []
            }
        let connection = try TCPConnection(to: endpoint)
        try connection.send(message)
        #expect(try await connection.receive(timeout: 1.5) == nil)
        let reply = try await TCPConnection.exchange(RawQuery("www.example.test.").bytes, with: endpoint)
        #expect(reply != nil)
    }

    @Test("IPv6 listener on [::1], UDP and TCP, beside 127.0.0.1")
    func ipv6() async throws {
        try await withCarousel(hosts: ["127.0.0.1", "::1"]) { server in
            let v6 = server.endpoints[1]
            for transport in ["+notcp", "+tcp"] {
                let response = try await Dig.query(v6, transport, "www.example.test", "AAAA")
                #expect(response.status == "NOERROR" && response.aa, "\(response)")
                #expect(response.answer == [DigRecord("www.example.test. 300 IN AAAA 2001:db8::1")], "\(response)")
            }
            let v4 = try await Dig.query(server.endpoints[0], "www.example.test", "AAAA")
            #expect(v4.answer.count == 1, "\(v4)")
        }
    }

    @Test("a wildcard listener (0.0.0.0) answers UDP from the address it was asked on")
    func wildcardSource() async throws {
        try await withCarousel(hosts: ["0.0.0.0"]) { server in
            // Every 127.x.y.z is local; without IP_PKTINFO the reply would leave from 127.0.0.1,
            // and the connected client socket (like a resolver) would never see it.
            for host in ["127.0.0.77", "127.3.2.1", "127.0.0.1"] {
                let endpoint = Endpoint(host: host, port: server.endpoint.port)
                let reply = try #require(
                    try await UDP.exchange(RawQuery("www.example.test.").bytes, with: endpoint),
                    "no reply from \(host)")
                #expect(try RawMessage(reply).ancount == 2)
                let response = try await Dig.query(endpoint, "www.example.test", "A")
                #expect(response.status == "NOERROR" && response.answer.count == 2, "\(response)")
            }
        }
    }

    @Test("--threads 2: every socket answers")
    func twoThreads() async throws {
        try await withCarousel(threads: 2) { server in
            for _ in 0..<20 {
                let reply = try #require(
                    try await UDP.exchange(RawQuery("www.example.test.").bytes, with: server.endpoint))
                #expect(try RawMessage(reply).ancount == 2)
            }
        }
    }
}
