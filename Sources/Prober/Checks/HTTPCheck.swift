import DNSWire
import Health
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// `http` and `https` checks: one `GET path HTTP/1.1` with `Connection: close`. Up when the
/// status is one of `expect` and, if `body` is set, the first 4 KiB of the body contain it.
/// Redirects are never followed (a 302 is just a status), and at most 4 KiB of body is read:
/// a health endpoint that streams forever must not hold the probe.
enum HTTPCheck {
    static let bodyLimit = 4096

    /// `tls`: nil for http; for https, whether certificate verification is skipped.
    static func run(
        target: TargetKey, _ probe: HTTPProbe, tls insecure: Bool?, to socketAddress: SocketAddress,
        on loop: any EventLoop
    ) async -> ProbeResult {
        let timeout = target.check.timing.timeout
        let tls: NIOSSLContext?
        switch insecure.map({ TLSContexts.shared(insecure: $0) }) {
        case nil: tls = nil
        case .success(let context): tls = context
        case .failure(let error): return .failure("TLS setup: \(error)")
        }
        let host = probe.host ?? (target.address.contains(":") ? "[\(target.address)]" : target.address)
        // SNI carries names only (RFC 6066 §3); without one, NIOSSL checks the certificate
        // against the address we connected to.
        let sni = probe.host.flatMap { IPAddress($0) != nil ? nil : $0.split(separator: ":").first.map(String.init) }
        let request = HTTPProbeHandler.Request(
            path: probe.path, host: host, expect: Set(probe.expect), body: probe.body)
        return await ProbeAttempt.run(on: loop, timeout: timeout) { attempt in
            ClientBootstrap(group: loop)
                .connectTimeout(.nanoseconds(timeout.nanoseconds))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        if let tls {
                            try sync.addHandler(NIOSSLClientHandler(context: tls, serverHostname: sni))
                        }
                        try sync.addHandler(HTTPRequestEncoder())
                        try sync.addHandler(
                            ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)))
                        try sync.addHandler(HTTPProbeHandler(request: request, attempt: attempt))
                    }
                }
                .connect(to: socketAddress)
                .whenComplete { result in
                    switch result {
                    case .success(let channel): attempt.attach(channel)
                    case .failure(let error): attempt.fail(error)
                    }
                }
        }
    }
}

/// Sends the request when the connection is up and turns the response into a verdict.
final class HTTPProbeHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    struct Request: Sendable {
        var path: String
        var host: String
        var expect: Set<Int>
        var body: String?
    }

    let request: Request
    let attempt: ProbeAttempt
    private var status: Int?
    private var body: [UInt8] = []

    init(request: Request, attempt: ProbeAttempt) {
        self.request = request
        self.attempt = attempt
    }

    func channelActive(context: ChannelHandlerContext) {
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: request.path)
        head.headers.add(name: "Host", value: request.host)
        head.headers.add(name: "User-Agent", value: "carousel-health")
        head.headers.add(name: "Accept", value: "*/*")
        head.headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !attempt.isDone else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            let code = Int(head.status.code)
            status = code
            if !request.expect.contains(code) {
                attempt.finish(.failure("HTTP \(code)"))
            } else if request.body == nil {
                attempt.finish(.success("HTTP \(code)"))
            }
        case .body(var chunk):
            let room = HTTPCheck.bodyLimit - body.count
            body += chunk.readBytes(length: min(room, chunk.readableBytes)) ?? []
            if body.count >= HTTPCheck.bodyLimit { judgeBody() }
        case .end:
            judgeBody()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if status != nil { judgeBody() } else { attempt.finish(.failure("connection closed before a response")) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A server that closes without TLS close_notify after its response has still answered.
        if status != nil, case NIOSSLError.uncleanShutdown = error {
            judgeBody()
        } else {
            attempt.fail(error)
        }
    }

    private func judgeBody() {
        guard let status, !attempt.isDone else { return }
        guard let wanted = request.body else { return attempt.finish(.success("HTTP \(status)")) }
        if contains(body, Array(wanted.utf8)) {
            attempt.finish(.success("HTTP \(status), body has \(quoted(wanted))"))
        } else {
            attempt.finish(.failure("body lacks \(quoted(wanted))"))
        }
    }
}

/// Whether `haystack` contains `needle` as a contiguous run of bytes (the body may end inside a
/// multi-byte character, so it is searched as bytes, not decoded).
func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty else { return true }
    guard haystack.count >= needle.count else { return false }
    for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
        if haystack[start..<(start + needle.count)].elementsEqual(needle) { return true }
    }
    return false
}

/// The two TLS client contexts, built once: loading the system trust store per probe would cost
/// more than the probe.
enum TLSContexts {
    static let verifying = make(insecure: false)
    static let insecure = make(insecure: true)

    static func shared(insecure: Bool) -> Result<NIOSSLContext, any Error> {
        insecure ? TLSContexts.insecure : verifying
    }

    private static func make(insecure: Bool) -> Result<NIOSSLContext, any Error> {
        var config = TLSConfiguration.makeClientConfiguration()
        if insecure { config.certificateVerification = .none }
        return Result { try NIOSSLContext(configuration: config) }
    }
}
