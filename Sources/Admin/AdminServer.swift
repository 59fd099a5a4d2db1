import Foundation
import Listeners
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Runtime

/// A request as the router sees it: method, path, query parameters, headers, body.
public struct AdminRequest: Sendable {
    public var method: HTTPMethod
    public var path: String
    public var query: [String: String]
    public var headers: HTTPHeaders
    public var body: [UInt8]

    /// A parameter from the query string, a form or a JSON object body.
    public func parameter(_ name: String) -> String? {
        if let v = query[name] { return v }
        if let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any], let v = object[name] {
            if let b = v as? Bool { return b ? "true" : "false" }
            return "\(v)"
        }
        return AdminRequest.form(String(decoding: body, as: UTF8.self))[name]
    }

    static func form(_ s: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in s.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            if kv.count == 2 { out[kv[0]] = kv[1] } else if kv.count == 1 { out[kv[0]] = "" }
        }
        return out
    }
}

public struct AdminResponse: Sendable {
    public var status: HTTPResponseStatus
    public var contentType: String
    public var body: [UInt8]

    public init(status: HTTPResponseStatus, contentType: String, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    public static func text(_ status: HTTPResponseStatus, _ s: String) -> AdminResponse {
        AdminResponse(status: status, contentType: "text/plain; charset=utf-8", body: Array((s + "\n").utf8))
    }
}

/// The admin HTTP listener: HTTP/1.1, one request per connection, bodies up to 64 KiB. Runs as a
/// structured service (`run()`), one child task per connection.
public struct AdminServer: Sendable {
    public typealias Handler = @Sendable (AdminRequest) async -> AdminResponse
    static let maxBody = 65536

    let channel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
    let handler: Handler
    let logger: Logger

    /// Binds now (so a bad address fails at start); serves when `run()` is called.
    public static func bind(host: String, port: Int, group: EventLoopGroup, logger: Logger, handler: @escaping Handler)
        async throws -> AdminServer
    {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: child)
                }
            }
        logger.info("admin listening", metadata: ["address": "\(host):\(port)"])
        return AdminServer(channel: channel, handler: handler, logger: logger)
    }

    /// The port bound (for port 0).
    public var port: Int? { channel.channel.localAddress?.port }

    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            try await channel.executeThenClose { inbound in
                for try await connection in inbound {
                    group.addTask { await serve(connection) }
                }
            }
        }
    }

    func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        try? await connection.executeThenClose { inbound, _ in
            var head: HTTPRequestHead?
            var body: [UInt8] = []
            for try await part in inbound {
                switch part {
                case .head(let h):
                    head = h
                    body = []
                case .body(var b):
                    guard body.count + b.readableBytes <= AdminServer.maxBody else {
                        try await write(.text(.payloadTooLarge, "request body too large"), connection.channel)
                        return
                    }
                    body += b.readBytes(length: b.readableBytes) ?? []
                case .end:
                    guard let h = head else { return }
                    let (path, query) = AdminServer.split(h.uri)
                    let request = AdminRequest(
                        method: h.method, path: path, query: query, headers: h.headers, body: body)
                    let response = await handler(request)
                    try await write(response, connection.channel)
                    return
                }
            }
        }
    }

    /// Writes the response and returns once the socket took all of it: the connection is closed
    /// right after, and a close drops what is still queued (a `/status` of thousands of members
    /// is megabytes, far more than the socket buffer). So the parts go straight to the channel and
    /// the last write's promise is awaited, not only the outbound writer's hand-over.
    func write(_ r: AdminResponse, _ channel: any Channel) async throws {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: r.contentType)
        headers.add(name: "Content-Length", value: "\(r.body.count)")
        headers.add(name: "Connection", value: "close")
        headers.add(name: "Cache-Control", value: "no-store")
        let head = HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: r.status, headers: headers))
        channel.write(head, promise: nil)
        channel.write(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: r.body))), promise: nil)
        try await channel.writeAndFlush(HTTPServerResponsePart.end(nil)).get()
    }

    static func split(_ uri: String) -> (String, [String: String]) {
        guard let q = uri.firstIndex(of: "?") else { return (uri, [:]) }
        return (String(uri[..<q]), AdminRequest.form(String(uri[uri.index(after: q)...])))
    }
}

extension CarouselRuntime {
    /// Binds the admin HTTP listener when the config names one. Not on loopback, it refuses to
    /// start without a token (config `admin_token` or `CAROUSEL_ADMIN_TOKEN`).
    public func bindAdmin(metrics: MetricsExporter, environmentToken: String?) async throws -> AdminServer? {
        guard let admin = config.admin else { return nil }
        let token = config.adminToken ?? environmentToken
        if !admin.isLoopback && (token ?? "").isEmpty {
            throw ServerError(
                message: "admin: \(admin) is not a loopback address: set admin_token (or CAROUSEL_ADMIN_TOKEN)")
        }
        let router = AdminRouter(runtime: self, metrics: metrics, token: (token ?? "").isEmpty ? nil : token)
        do {
            return try await AdminServer.bind(host: admin.host, port: admin.port, group: server.group, logger: logger) {
                await router.handle($0)
            }
        } catch {
            throw ServerError(message: "admin: cannot listen on \(admin): \(error)")
        }
    }
}
