import Foundation
import Health
import Logging
import NIOCore
import NIOPosix

@testable import Prober

/// A UDP responder that answers every query with the given rcode (and, with `wrongID`, an id
/// that does not match), recording the queries it saw.
final class TestDNSServer: @unchecked Sendable {
    let rcode: UInt8
    let wrongID: Bool
    private let lock = NSLock()
    private var seen: [[UInt8]] = []
    private var channel: (any Channel)?
    private(set) var port = 0

    init(rcode: UInt8, wrongID: Bool = false) {
        self.rcode = rcode
        self.wrongID = wrongID
    }

    @discardableResult
    func start(host: String) async throws -> Self {
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Handler(server: self))
                }
            }
            .bind(host: host, port: 0)
            .get()
        self.channel = channel
        port = channel.localAddress?.port ?? 0
        return self
    }

    func stop() async { try? await channel?.close() }

    var queries: [[UInt8]] { lock.withLock { seen } }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>
        let server: TestDNSServer
        init(server: TestDNSServer) { self.server = server }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            guard var query = envelope.data.getBytes(at: 0, length: envelope.data.readableBytes), query.count >= 12
            else { return }
            server.lock.withLock { server.seen.append(query) }
            if server.wrongID { query[1] ^= 0xFF }
            query[2] |= 0x84  // QR, AA
            query[3] = (query[3] & 0xF0) | server.rcode
            let reply = AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: ByteBuffer(bytes: query))
            context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
        }
    }
}

/// Collects log lines so tests can read what an operator would see.
final class LogRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [(Logger.Level, String)] = []

    func append(_ level: Logger.Level, _ line: String) { lock.withLock { lines.append((level, line)) } }
    var messages: [(level: Logger.Level, text: String)] { lock.withLock { lines.map { (level: $0.0, text: $0.1) } } }
    var transitions: [String] { messages.map(\.text).filter { $0.contains(" → ") } }

    var logger: Logger {
        var logger = Logger(label: "health-test") { _ in Handler(recorder: self) }
        logger.logLevel = .info
        return logger
    }

    struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { recorder.append(event.level, "\(event.message)") }
    }
}

/// Counts and keeps the views the prober publishes.
final class ViewLog: @unchecked Sendable {
    private let lock = NSLock()
    private var views: [HealthView] = []
    func append(_ v: HealthView) { lock.withLock { views.append(v) } }
    var all: [HealthView] { lock.withLock { views } }
    var count: Int { lock.withLock { views.count } }
}

/// Polls `condition` until it holds or `limit` passes; returns whether it held.
func eventually(within limit: Duration, _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}

/// Runs `prober.run()` around `body` and stops it afterwards, as the server's task group would.
func withRunning<T: Sendable>(_ prober: Prober, _ body: () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await prober.run() }
        defer { group.cancelAll() }
        return try await body()
    }
}

/// A temporary directory removed when the test ends.
struct TempDir: ~Copyable {
    let path: String
    init() throws {
        path =
            FileManager.default.temporaryDirectory.appendingPathComponent("carousel-health-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A wall clock advanced by hand, for the rise/fall machine.
struct ManualClock {
    var now = Date(timeIntervalSince1970: 1_700_000_000)
    mutating func advance(_ seconds: Double) -> Date {
        now += seconds
        return now
    }
}
