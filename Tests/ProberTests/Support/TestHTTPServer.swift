import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A tiny HTTP(S) backend on its own loopback address: it answers every request with what
/// `reply` says and records the requests it saw. `stop()` closes the listening socket and every
/// connection, like a killed process; `start()` binds the same address and port again.
final class TestHTTPServer: @unchecked Sendable {
    enum Reply: Sendable {
        case status(Int, body: String = "", headers: [(String, String)] = [])
        /// Accept the request and never answer it.
        case silence
    }

    struct Seen: Sendable {
        var path: String
        var host: String?
    }

    let host: String
    private(set) var port: Int = 0
    let reply: @Sendable (String) -> Reply
    let tls: NIOSSLContext?
    private let lock = NSLock()
    private var seen: [Seen] = []
    private var server: (any Channel)?
    private var connections: [ObjectIdentifier: any Channel] = [:]

    init(host: String, tls: NIOSSLContext? = nil, reply: @escaping @Sendable (String) -> Reply) {
        self.host = host
        self.tls = tls
        self.reply = reply
    }

    /// Starts on an ephemeral port the first time, on the same port afterwards.
    @discardableResult
    func start() async throws -> Self {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    self.track(channel)
                    if let tls = self.tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Responder(server: self))
                }
            }
            .bind(host: host, port: port)
            .get()
        lock.withLock {
            server = channel
            port = channel.localAddress?.port ?? 0
        }
        return self
    }

    func stop() async {
        let (server, connections) = lock.withLock { (self.server, Array(self.connections.values)) }
        try? await server?.close()
        for c in connections { try? await c.close() }
        lock.withLock {
            self.server = nil
            self.connections = [:]
        }
    }

    var requests: [Seen] { lock.withLock { seen } }

    private func track(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        lock.withLock { connections[id] = channel }
        channel.closeFuture.whenComplete { _ in self.lock.withLock { _ = self.connections.removeValue(forKey: id) } }
    }

    fileprivate func record(_ head: HTTPRequestHead) -> Reply {
        lock.withLock { seen.append(Seen(path: head.uri, host: head.headers.first(name: "Host"))) }
        return reply(head.uri)
    }

    private final class Responder: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let server: TestHTTPServer
        var pending: Reply?

        init(server: TestHTTPServer) { self.server = server }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): pending = server.record(head)
            case .body: break
            case .end:
                guard case .status(let code, let body, let extra) = pending else { return }
                var headers = HTTPHeaders([("Content-Length", String(body.utf8.count)), ("Connection", "close")])
                for (k, v) in extra { headers.add(name: k, value: v) }
                let head = HTTPResponseHead(
                    version: .http1_1, status: HTTPResponseStatus(statusCode: code), headers: headers)
                context.write(wrapOutboundOut(.head(head)), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)  // the prober closes
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}

/// A self-signed certificate for `localhost` made with the `openssl` command, in a temp dir.
/// An EC key, and an asynchronous wait for `openssl`: generating an RSA key while blocking a
/// thread of the cooperative pool (two threads here) stalls every other test.
enum SelfSigned {
    static func serverContext() async throws -> NIOSSLContext {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("carousel-health-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let cert = dir.appendingPathComponent("cert.pem").path
        let key = dir.appendingPathComponent("key.pem").path
        let status = try await run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-subj", "/CN=localhost", "-days", "1", "-addext", "subjectAltName=DNS:localhost",
                "-keyout", key, "-out", cert,
            ])
        guard status == 0 else { throw TestError("openssl req failed with status \(status)") }
        let config = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        return try NIOSSLContext(configuration: config)
    }

    private static func run(_ program: String, _ arguments: [String]) async throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let (exits, exited) = AsyncStream.makeStream(of: Int32.self, bufferingPolicy: .bufferingNewest(1))
        process.terminationHandler = { p in
            exited.yield(p.terminationStatus)
            exited.finish()
        }
        try process.run()
        for await status in exits { return status }
        throw TestError("\(program) vanished")
    }
}

struct TestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
