import Atomics
import NIOCore
import NIOSSL
import NIOTLS
import Responder

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
    /// When the last query was answered (or the connection opened), on the loop's clock.
    var lastActivity: NIODeadline
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
    /// Behind a TLS handler (DNS over TLS); `dot`: the client and we agreed on ALPN "dot", which
    /// zone transfers need (RFC 9103 §7.1). Queries are answered either way (RFC 7858).
    let tls: Bool
    var dot = false

    init(context: LoopContext, stats: ServerStats, settings: TCPSettings, tls: Bool = false) {
        self.context = context
        self.stats = stats
        self.settings = settings
        self.tls = tls
        self.lastActivity = context.eventLoop.now
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
        let now = context.eventLoop.now
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
            let channel = ctx.channel
            ctx.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0))).whenComplete { _ in
                channel.close(promise: nil)
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
                hub.handle(message, remote: channel.remoteAddress, channel: channel, tcp: true, xfr: !tls || dot) {
                    handler.value.answered(channel)
                }
                continue
            }
            guard
                let (reply, _) = context.respond(
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
        let now = context.eventLoop.now
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
        if let e = event as? TLSUserEvent, case .handshakeCompleted(let negotiated) = e {
            dot = negotiated == TLSCredentials.alpn
            ctx.fireUserInboundEventTriggered(event)
        } else if let e = event as? ChannelEvent, e == .inputClosed, intercepted > 0 {
            closing = true
            closeWhenAnswered = true
        } else if let e = event as? ChannelEvent, e == .inputClosed {
            // The client is done sending: let the answers already written go out, then close.
            closing = true
            let channel = ctx.channel
            ctx.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0))).whenComplete { _ in
                channel.close(promise: nil)
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
        lastActivity = context.eventLoop.now
        if intercepted == 0 && closeWhenAnswered {
            channel.writeAndFlush(channel.allocator.buffer(capacity: 0)).whenComplete { _ in channel.close(promise: nil)
            }
        }
    }
}
