import Foundation
import Health
import NIOCore
import NIOPosix
import Testing

@testable import Prober

/// tcp, http, https and dns checks against real servers on loopback. Every test has its own
/// 127.42.x.y address so the suite can run in parallel.
@Suite struct NetworkCheckTests {
    let group = MultiThreadedEventLoopGroup.singleton

    func key(_ address: String, _ type: CheckFields.Kind, port: Int, _ edit: (inout CheckFields) -> Void = { _ in })
        -> TargetKey
    {
        var c = CheckFields()
        c.type = type
        c.port = port
        c.timeout = .seconds(2)  // generous: only the timeout tests measure time
        edit(&c)
        return TargetKey(address: address, check: c.check)
    }

    // MARK: tcp

    @Test func tcpUpWhenAListenerAccepts() async throws {
        let server = try await TestHTTPServer(host: "127.42.1.1") { _ in .status(200) }.start()
        let r = await Probe.run(key("127.42.1.1", .tcp, port: server.port), on: group)
        #expect(r.ok && r.reason == "connected")
        #expect(r.latency > .zero && r.latency < .seconds(5))
        await server.stop()
    }

    @Test func tcpDownWhenRefused() async throws {
        let r = await Probe.run(key("127.42.1.2", .tcp, port: 9), on: group)
        #expect(!r.ok && r.reason == "connect refused")
    }

    @Test func tcpTimesOutWhenSynsAreDropped() async throws {
        let backlog = try FullBacklog(host: "127.42.1.3")
        try await Task.sleep(for: .milliseconds(50))
        let r = await Probe.run(
            key("127.42.1.3", .tcp, port: backlog.port) { $0.timeout = .milliseconds(300) }, on: group)
        #expect(!r.ok && r.reason == "timeout after 300ms")
        // Without the deadline the kernel would retry the SYN for about two minutes.
        #expect(r.latency >= .milliseconds(290) && r.latency < .seconds(5))
        withExtendedLifetime(backlog) {}
    }

    @Test func tcpOverIPv6() async throws {
        let server = try await TestHTTPServer(host: "::1") { _ in .status(200) }.start()
        let r = await Probe.run(key("0::1", .tcp, port: server.port), on: group)
        #expect(r.ok)
        await server.stop()
    }

    // MARK: http

    @Test func httpUpOn200() async throws {
        let server = try await TestHTTPServer(host: "127.42.2.1") { _ in .status(200, body: "fine") }.start()
        let r = await Probe.run(key("127.42.2.1", .http, port: server.port) { $0.path = "/healthz" }, on: group)
        #expect(r.ok && r.reason == "HTTP 200")
        #expect(server.requests.map(\.path) == ["/healthz"])
        #expect(server.requests.first?.host == "127.42.2.1")
        await server.stop()
    }

    @Test func httpDownOn503() async throws {
        let server = try await TestHTTPServer(host: "127.42.2.2") { _ in .status(503) }.start()
        let r = await Probe.run(key("127.42.2.2", .http, port: server.port), on: group)
        #expect(!r.ok && r.reason == "HTTP 503")
        await server.stop()
    }

    @Test func httpAcceptsTheListedStatuses() async throws {
        let server = try await TestHTTPServer(host: "127.42.2.3") { _ in .status(204) }.start()
        #expect(!(await Probe.run(key("127.42.2.3", .http, port: server.port), on: group)).ok)
        #expect(await Probe.run(key("127.42.2.3", .http, port: server.port) { $0.expect = [200, 204] }, on: group).ok)
        await server.stop()
    }

    @Test func httpBodySubstring() async throws {
        let server = try await TestHTTPServer(host: "127.42.2.4") { path in
            path == "/good" ? .status(200, body: "status: ok\n") : .status(200, body: "status: degraded\n")
        }.start()
        let good = await Probe.run(
            key("127.42.2.4", .http, port: server.port) {
                $0.path = "/good"; $0.body = "ok"
            }, on: group)
        #expect(good.ok)
        let bad = await Probe.run(
            key("127.42.2.4", .http, port: server.port) {
                $0.path = "/bad"; $0.body = "ok"
            }, on: group)
        #expect(!bad.ok && bad.reason == #"body lacks "ok""#)
        await server.stop()
    }

    @Test func httpReadsOnlyTheFirst4KiBOfTheBody() async throws {
        let server = try await TestHTTPServer(host: "127.42.2.5") { _ in
            .status(200, body: String(repeating: "x", count: 100_000) + "ok")
        }.start()
        let r = await Probe.run(key("127.42.2.5", .http, port: server.port) { $0.body = "ok" }, on: group)
        #expect(!r.ok && r.reason == #"body lacks "ok""#)
        await server.stop()
    }

    @Test func httpSendsTheConfiguredHostHeader() async throws {
        let server = try await TestHTTPServer(host: "127.42.2.6") { _ in .status(200) }.start()
        let r = await Probe.run(key("127.42.2.6", .http, port: server.port) { $0.host = "www.example.com" }, on: group)
        #expect(r.ok)
        #expect(server.requests.map(\.host) == ["www.example.com"])
        await server.stop()
    }

    @Test func httpNeverFollowsRedirects() async throws {
        let server = try await TestHTTPServer(host: "127.42.2.7") { path in
            path == "/" ? .status(302, headers: [("Location", "/elsewhere")]) : .status(200)
        }.start()
        let r = await Probe.run(key("127.42.2.7", .http, port: server.port), on: group)
        #expect(!r.ok && r.reason == "HTTP 302")
        #expect(await Probe.run(key("127.42.2.7", .http, port: server.port) { $0.expect = [302] }, on: group).ok)
        #expect(server.requests.map(\.path) == ["/", "/"])
        await server.stop()
    }

    @Test func httpTimesOutOnAServerThatNeverAnswers() async throws {
        let server = try await TestHTTPServer(host: "127.42.2.8") { _ in .silence }.start()
        let started = ContinuousClock.now
        let r = await Probe.run(
            key("127.42.2.8", .http, port: server.port) { $0.timeout = .milliseconds(300) }, on: group)
        let elapsed = ContinuousClock.now - started
        #expect(!r.ok && r.reason == "timeout after 300ms")
        #expect(elapsed >= .milliseconds(290) && elapsed < .seconds(5))
        #expect(await eventually(within: .seconds(1)) { server.requests.count == 1 })  // it was accepted
        await server.stop()
    }

    @Test func httpDownWhenRefused() async throws {
        let r = await Probe.run(key("127.42.2.9", .http, port: 8080), on: group)
        #expect(!r.ok && r.reason == "connect refused")
    }

    @Test func httpOverIPv6SendsABracketedHost() async throws {
        let server = try await TestHTTPServer(host: "::1") { _ in .status(200) }.start()
        #expect(await Probe.run(key("::1", .http, port: server.port), on: group).ok)
        #expect(server.requests.map(\.host) == ["[::1]"])
        await server.stop()
    }

    // MARK: https

    @Test func httpsWithASelfSignedCertificateNeedsInsecure() async throws {
        let server = try await TestHTTPServer(host: "127.42.3.1", tls: try await SelfSigned.serverContext()) { _ in
            .status(200, body: "ok")
        }.start()
        let verified = await Probe.run(
            key("127.42.3.1", .https, port: server.port) { $0.host = "localhost" }, on: group)
        #expect(!verified.ok)
        #expect(verified.reason == "TLS: certificate verify failed")
        let insecure = await Probe.run(
            key("127.42.3.1", .https, port: server.port) {
                $0.host = "localhost"; $0.insecure = true; $0.body = "ok"
            },
            on: group)
        #expect(insecure.ok, "\(insecure.reason)")
        #expect(server.requests.map(\.host) == ["localhost"])
        await server.stop()
    }

    @Test func httpsToAnAddressWithoutHost() async throws {
        let server = try await TestHTTPServer(host: "127.42.3.2", tls: try await SelfSigned.serverContext()) { _ in
            .status(200)
        }.start()
        let verified = await Probe.run(key("127.42.3.2", .https, port: server.port), on: group)
        #expect(!verified.ok && verified.reason == "TLS: certificate verify failed")
        #expect(await Probe.run(key("127.42.3.2", .https, port: server.port) { $0.insecure = true }, on: group).ok)
        await server.stop()
    }

    @Test func httpsAgainstPlainHTTPFails() async throws {
        let server = try await TestHTTPServer(host: "127.42.3.3") { _ in .status(200) }.start()
        let r = await Probe.run(key("127.42.3.3", .https, port: server.port) { $0.insecure = true }, on: group)
        #expect(!r.ok && r.reason == "TLS: wrong version number")
        await server.stop()
    }

    // MARK: dns

    @Test func dnsUpOnNoErrorDownOnRefused() async throws {
        let good = try await TestDNSServer(rcode: 0).start(host: "127.42.4.1")
        let refusing = try await TestDNSServer(rcode: 5).start(host: "127.42.4.2")
        let up = await Probe.run(key("127.42.4.1", .dns, port: good.port), on: group)
        #expect(up.ok && up.reason == "rcode NOERROR")
        let down = await Probe.run(key("127.42.4.2", .dns, port: refusing.port), on: group)
        #expect(!down.ok && down.reason == "rcode REFUSED")
        #expect(await Probe.run(key("127.42.4.2", .dns, port: refusing.port) { $0.rcodes = [0, 5] }, on: group).ok)
        await good.stop()
        await refusing.stop()
    }

    @Test func dnsAsksTheConfiguredQuestion() async throws {
        let server = try await TestDNSServer(rcode: 0).start(host: "127.42.4.3")
        let r = await Probe.run(
            key("127.42.4.3", .dns, port: server.port) {
                $0.query = "www.example.com"; $0.qtype = "AAAA"
            }, on: group)
        #expect(r.ok)
        let expected: [UInt8] =
            [3] + Array("www".utf8) + [7] + Array("example".utf8) + [3] + Array("com".utf8) + [0, 0, 28, 0, 1]
        let q = try #require(server.queries.first)
        #expect(Array(q[2..<12]) == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0])
        #expect(Array(q[12...]) == expected)
        let root = try await TestDNSServer(rcode: 0).start(host: "127.42.4.6")
        #expect(await Probe.run(key("127.42.4.6", .dns, port: root.port), on: group).ok)
        #expect(root.queries.first.map { Array($0[12...]) } == [0, 0, 1, 0, 1])
        await server.stop()
        await root.stop()
    }

    @Test func dnsOverIPv6() async throws {
        let server = try await TestDNSServer(rcode: 3).start(host: "::1")
        let r = await Probe.run(key("::1", .dns, port: server.port) { $0.rcodes = [0, 3] }, on: group)
        #expect(r.ok && r.reason == "rcode NXDOMAIN")
        await server.stop()
    }

    @Test func dnsIgnoresAReplyWithTheWrongID() async throws {
        let server = try await TestDNSServer(rcode: 0, wrongID: true).start(host: "127.42.4.4")
        let r = await Probe.run(
            key("127.42.4.4", .dns, port: server.port) { $0.timeout = .milliseconds(200) }, on: group)
        #expect(!r.ok && r.reason == "timeout after 200ms")
        await server.stop()
    }

    @Test func dnsDownAtOnceWhenThePortIsClosed() async throws {
        // The ICMP error ends the probe: it does not wait for the 5 s timeout.
        let r = await Probe.run(key("127.42.4.5", .dns, port: 53) { $0.timeout = .seconds(5) }, on: group)
        #expect(!r.ok && r.reason == "port unreachable")
        #expect(r.latency < .seconds(8))
    }
}
