import Atomics
import NIOCore
import NIOPosix
import Responder

/// The limits of the TCP listener (config `tcp:`), as the event loops use them.
public struct TCPSettings: Sendable, Equatable {
    /// A connection with no message in progress is closed after this long without a query.
    public var idleTimeout: TimeAmount
    /// A message whose first byte arrived must be complete within this long (slowloris).
    public var messageTimeout: TimeAmount
    /// Open connections, all loops together; when full, a loop closes its oldest idle one.
    public var maxConnections: Int
    /// Queries answered on one connection before it is closed; 0: no cap.
    public var maxQueries: Int

    public init(idleTimeout: Duration, messageTimeout: Duration, maxConnections: Int, maxQueries: Int) {
        self.idleTimeout = TimeAmount(idleTimeout)
        self.messageTimeout = TimeAmount(messageTimeout)
        self.maxConnections = maxConnections
        self.maxQueries = maxQueries
    }

    /// How often a connection looks at its clock: a timeout fires at most a quarter late.
    var tick: TimeAmount {
        let quarter = min(idleTimeout, messageTimeout).nanoseconds / 4
        return .nanoseconds(max(50_000_000, min(1_000_000_000, quarter)))
    }
}

/// The TCP connections of one event loop, for closing the oldest idle one when the server is
/// full. Touched only on its loop.
final class TCPConnections {
    var open: [ObjectIdentifier: TCPConnectionHandler] = [:]

    /// The connection, other than `except`, with no message in progress that has waited longest.
    func oldestIdle(except: TCPConnectionHandler) -> TCPConnectionHandler? {
        var best: TCPConnectionHandler?
        for c in open.values where c !== except && c.isIdle {
            if best == nil || c.lastActivity < best!.lastActivity { best = c }
        }
        return best
    }
}

/// One TCP connection (RFC 7766): 2-byte length-prefixed messages (RFC 1035 §4.2.2), answered
/// in arrival order (pipelining, §6.2.1.1), with the limits of `TCPSettings` — each closure
/// counted in `ServerStats`.
final class TCPConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Reason { case idle, slow, queryCap, evicted }

    let context: LoopContext
    let stats: ServerStats
    let settings: TCPSettings
    /// Bytes of a message not complete yet.
    var buffer: ByteBuffer?
    /// When the last query was answered (or the connection opened).
    var lastActivity = NIODeadline.now()
    /// When the first byte of the message in progress arrived.
    var partialSince: NIODeadline?
    var queries = 0
    var pending = false
    var counted = false
    var closing = false
    var timer: RepeatedTask?
    var channelContext: ChannelHandlerContext?
    /// Messages handed to the transfer lane and not answered yet; a client that half-closes
    /// meanwhile gets its answers before the connection closes.
    var intercepted = 0
    var closeWhenAnswered = false
    /// The peer's address, which server cookies are bound to.
    var client = ClientAddress.unknown

    init(context: LoopContext, stats: ServerStats, settings: TCPSettings) {
        self.context = context
        self.stats = stats
        self.settings = settings
    }

    var isIdle: Bool { partialSince == nil && !closing }

    func channelActive(context ctx: ChannelHandlerContext) {
        channelContext = ctx
        client = ClientAddress(peer: ctx.channel.remoteAddress)
        let open = stats.tcpOpen.wrappingIncrementThenLoad(ordering: .relaxed)
        counted = true
        context.connections.open[ObjectIdentifier(self)] = self
        if open > settings.maxConnections {
            // Full: make room by closing this loop's oldest idle connection, else refuse.
            if let victim = context.connections.oldestIdle(except: self) {
                victim.close(.evicted)
            } else {
                stats.tcpRefused.wrappingIncrement(ordering: .relaxed)
                closing = true
                ctx.close(promise: nil)
                return
            }
        }
        let bound = NIOLoopBound(self, eventLoop: ctx.eventLoop)
        timer = ctx.eventLoop.scheduleRepeatedTask(initialDelay: settings.tick, delay: settings.tick) { _ in
            bound.value.checkClock()
        }
        ctx.fireChannelActive()
    }

    func channelInactive(context ctx: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.connections.open[ObjectIdentifier(self)] = nil
        channelContext = nil
        if counted {
            counted = false
            stats.tcpOpen.wrappingDecrement(ordering: .relaxed)
        }
        ctx.fireChannelInactive()
    }

    /// Closes a connection whose timeout passed.
    func checkClock() {
        guard !closing else { return }
        let now = NIODeadline.now()
        if let since = partialSince {
            if now - since >= settings.messageTimeout { close(.slow) }
        } else if now - lastActivity >= settings.idleTimeout {
            close(.idle)
        }
    }

    func close(_ reason: Reason) {
        guard !closing, let ctx = channelContext else { return }
        closing = true
        switch reason {
        case .idle: stats.tcpIdleClosed.wrappingIncrement(ordering: .relaxed)
        case .slow: stats.tcpSlowClosed.wrappingIncrement(ordering: .relaxed)
        case .queryCap: stats.tcpQueryCapClosed.wrappingIncrement(ordering: .relaxed)
        case .evicted: stats.tcpEvicted.wrappingIncrement(ordering: .relaxed)
        }
        if reason == .queryCap || reason == .idle {
            // Answers already written go out first.
            ctx.writeAndFlush(wrapOutboundOut(ctx.channel.allocator.buffer(capacity: 0))).whenComplete { _ in
                ctx.close(promise: nil)
            }
        } else {
            ctx.close(promise: nil)
        }
    }

    func channelRead(context ctx: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        var incoming = unwrapInboundIn(data)
        if buffer == nil || buffer!.readableBytes == 0 {
            buffer = incoming
        } else {
            buffer!.writeBuffer(&incoming)
        }
        var answered = false
        while let length = buffer!.getInteger(at: buffer!.readerIndex, as: UInt16.self),
            buffer!.readableBytes >= 2 + Int(length)
        {
            buffer!.moveReaderIndex(forwardBy: 2)
            let message = buffer!.readSlice(length: Int(length))!
            if let hub = context.transfers, message.withUnsafeReadableBytes({ hub.intercepts($0) }) {
                intercepted += 1
                queries += 1
                let handler = NIOLoopBound(self, eventLoop: ctx.eventLoop)
                let channel = ctx.channel
                hub.handle(message, remote: channel.remoteAddress, channel: channel, tcp: true) {
                    handler.value.answered(channel)
                }
                continue
            }
            guard let (reply, _) = context.respond(
                to: message, over: .tcp, allocator: ctx.channel.allocator, framed: true, client: client)
            else {
                // A message we would drop on UDP (a response, or garbage): end this conversation.
                stats.dropped.wrappingIncrement(ordering: .relaxed)
                closing = true
                ctx.close(promise: nil)
                return
            }
            ctx.write(wrapOutboundOut(reply), promise: nil)
            pending = true
            answered = true
            queries += 1
            if settings.maxQueries > 0 && queries >= settings.maxQueries {
                ctx.flush()
                pending = false
                close(.queryCap)
                return
            }
        }
        let now = NIODeadline.now()
        if answered { lastActivity = now }
        if buffer!.readableBytes == 0 {
            buffer = nil
            partialSince = nil
        } else {
            if answered || partialSince == nil { partialSince = now }
            buffer!.discardReadBytes()
        }
    }

    func channelReadComplete(context ctx: ChannelHandlerContext) {
        if pending {
            pending = false
            ctx.flush()
        }
    }

    /// A client that does not read its answers stops being read (its pipelined queries wait in
    /// the kernel); the idle timeout ends it if it never reads again.
    func channelWritabilityChanged(context ctx: ChannelHandlerContext) {
        ctx.channel.setOption(.autoRead, value: ctx.channel.isWritable).whenFailure { _ in }
        ctx.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context ctx: ChannelHandlerContext, event: Any) {
        if let e = event as? ChannelEvent, e == .inputClosed, intercepted > 0 {
            closing = true
            closeWhenAnswered = true
        } else if let e = event as? ChannelEvent, e == .inputClosed {
            // The client is done sending: let the answers already written go out, then close.
            closing = true
            ctx.writeAndFlush(wrapOutboundOut(ctx.channel.allocator.buffer(capacity: 0))).whenComplete { _ in
                ctx.close(promise: nil)
            }
        } else {
            ctx.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context ctx: ChannelHandlerContext, error: Error) {
        closing = true
        ctx.close(promise: nil)
    }

    /// The transfer lane wrote its answer (on this loop).
    func answered(_ channel: Channel) {
        intercepted -= 1
        lastActivity = .now()
        if intercepted == 0 && closeWhenAnswered {
            channel.writeAndFlush(channel.allocator.buffer(capacity: 0)).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

enum TCPListener {
    static func bind(
        _ address: SocketAddress, group: EventLoopGroup, contexts: [ObjectIdentifier: LoopContext],
        stats: ServerStats, settings: TCPSettings
    ) async throws -> Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 1024)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let ctx = contexts[ObjectIdentifier(channel.eventLoop)]!
                    try channel.pipeline.syncOperations.addHandler(
                        TCPConnectionHandler(context: ctx, stats: stats, settings: settings))
                }
            }
            .bind(to: address)
            .get()
    }
}

/// Counters shared by all loops; relaxed atomics, never locks.
public final class ServerStats: Sendable {
    public let tcpOpen = ManagedAtomic<Int>(0)
    /// Connections closed at once: the server was full and this loop had no idle one to close.
    public let tcpRefused = ManagedAtomic<Int>(0)
    /// Idle connections closed to make room for a new one.
    public let tcpEvicted = ManagedAtomic<Int>(0)
    public let tcpIdleClosed = ManagedAtomic<Int>(0)
    /// Closed because a message stayed incomplete past `tcp.message_timeout`.
    public let tcpSlowClosed = ManagedAtomic<Int>(0)
    public let tcpQueryCapClosed = ManagedAtomic<Int>(0)
    public let dropped = ManagedAtomic<Int>(0)
    public init() {}

}
