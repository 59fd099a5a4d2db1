import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A backend's agent for tests: answers every connection with `reply` (settable while it runs)
/// and closes it; `silent` makes it accept and say nothing until the peer gives up.
final class TestAgent: @unchecked Sendable {
    let host: String
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var channel: (any Channel)?
    private let current: NIOLockedValueBox<[UInt8]>
    private(set) var port = 0

    init(host: String, reply: String) {
        self.host = host
        current = NIOLockedValueBox(Array(reply.utf8))
    }

    var reply: String {
        get { String(decoding: current.withLockedValue { $0 }, as: UTF8.self) }
        set { current.withLockedValue { $0 = Array(newValue.utf8) } }
    }

    func start(port wanted: Int = 0) async throws -> Self {
        let box = current
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(Reply { box.withLockedValue { $0 } })
                }
            }
            .bind(host: host, port: wanted).get()
        port = channel?.localAddress?.port ?? 0
        return self
    }

    /// Stops listening (connections are then refused); ``start(port:)`` again to come back.
    func stop() async {
        try? await channel?.close()
        channel = nil
    }

    func shutdown() async {
        await stop()
        try? await group.shutdownGracefully()
    }
}

/// Writes the reply once the connection is up (not from the initializer: the channel is not
/// active there yet), then closes.
private final class Reply: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let bytes: @Sendable () -> [UInt8]

    init(_ bytes: @escaping @Sendable () -> [UInt8]) { self.bytes = bytes }

    func channelActive(context: ChannelHandlerContext) {
        let bytes = bytes()
        var buffer = context.channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        context.writeAndFlush(NIOAny(buffer), promise: nil)
        context.close(mode: .output, promise: nil)
    }
}
