import Atomics
import NIOCore
import NIOPosix
import Responder

/// RFC 1035 §4.2.2 / RFC 7766 §8: each message on a TCP stream is preceded by its 2-byte length.
struct DNSFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self),
            buffer.readableBytes >= 2 + Int(length)
        else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 2)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// Answers every framed query on a connection, in arrival order (pipelined queries are fine:
/// RFC 7766 §6.2.1.1), closes the connection after `idle` without a complete query, and counts
/// open connections against the cap.
final class TCPQueryHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let context: LoopContext
    let stats: ServerStats
    let maxConnections: Int
    var pending = false
    var counted = false
    /// Messages handed to the transfer lane and not answered yet; a client that half-closes
    /// meanwhile gets its answers before the connection closes.
    var intercepted = 0
    var closeWhenAnswered = false

    init(context: LoopContext, stats: ServerStats, maxConnections: Int) {
        self.context = context
        self.stats = stats
        self.maxConnections = maxConnections
    }

    func channelActive(context ctx: ChannelHandlerContext) {
        let open = stats.tcpOpen.wrappingIncrementThenLoad(ordering: .relaxed)
        counted = true
        if open > maxConnections {
            stats.tcpRefused.wrappingIncrement(ordering: .relaxed)
            ctx.close(promise: nil)
            return
        }
        ctx.fireChannelActive()
    }

    func channelInactive(context ctx: ChannelHandlerContext) {
        if counted {
            counted = false
            stats.tcpOpen.wrappingDecrement(ordering: .relaxed)
        }
        ctx.fireChannelInactive()
    }

    func channelRead(context ctx: ChannelHandlerContext, data: NIOAny) {
        let message = unwrapInboundIn(data)
        if let hub = context.transfers, message.withUnsafeReadableBytes({ hub.intercepts($0) }) {
            intercepted += 1
            let handler = NIOLoopBound(self, eventLoop: ctx.eventLoop)
            let channel = ctx.channel
            hub.handle(message, remote: channel.remoteAddress, channel: channel, tcp: true) {
                handler.value.answered(channel)
            }
            return
        }
        guard let (reply, _) = context.respond(to: message, over: .tcp, allocator: ctx.channel.allocator, framed: true) else {
            // A message we would drop on UDP (a response, or garbage): end this conversation.
            stats.dropped.wrappingIncrement(ordering: .relaxed)
            ctx.close(promise: nil)
            return
        }
        ctx.write(wrapOutboundOut(reply), promise: nil)
        pending = true
    }

    func channelReadComplete(context ctx: ChannelHandlerContext) {
        if pending {
            pending = false
            ctx.flush()
        }
    }

    func userInboundEventTriggered(context ctx: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            ctx.close(promise: nil)
        } else if let e = event as? ChannelEvent, e == .inputClosed, intercepted > 0 {
            closeWhenAnswered = true
        } else if let e = event as? ChannelEvent, e == .inputClosed {
            // The client is done sending: let the answers already written go out, then close.
            ctx.writeAndFlush(wrapOutboundOut(ctx.channel.allocator.buffer(capacity: 0))).whenComplete { _ in
                ctx.close(promise: nil)
            }
        } else {
            ctx.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context ctx: ChannelHandlerContext, error: Error) {
        ctx.close(promise: nil)
    }

    /// The transfer lane wrote its answer (on this loop).
    func answered(_ channel: Channel) {
        intercepted -= 1
        if intercepted == 0 && closeWhenAnswered {
            channel.writeAndFlush(channel.allocator.buffer(capacity: 0)).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

enum TCPListener {
    static func bind(
        _ address: SocketAddress, group: EventLoopGroup, contexts: [ObjectIdentifier: LoopContext],
        stats: ServerStats, idleTimeout: TimeAmount, maxConnections: Int
    ) async throws -> Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 1024)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let ctx = contexts[ObjectIdentifier(channel.eventLoop)]!
                    let ops = channel.pipeline.syncOperations
                    try ops.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                    try ops.addHandler(ByteToMessageHandler(DNSFrameDecoder()))
                    try ops.addHandler(TCPQueryHandler(context: ctx, stats: stats, maxConnections: maxConnections))
                }
            }
            .bind(to: address)
            .get()
    }
}

/// Counters shared by all loops; relaxed atomics, never locks.
public final class ServerStats: Sendable {
    public let tcpOpen = ManagedAtomic<Int>(0)
    public let tcpRefused = ManagedAtomic<Int>(0)
    public let dropped = ManagedAtomic<Int>(0)
    public init() {}
}
