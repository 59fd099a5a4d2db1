import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif
import Responder

/// One UDP socket per event loop, all bound to the same address with SO_REUSEPORT so the kernel
/// spreads queries across cores; reads are batched (recvmmsg) and the replies of one batch are
/// flushed together (sendmmsg).
final class UDPQueryHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    let context: LoopContext
    let stats: ServerStats
    let limiter: RateLimiter
    var pending = false

    init(context: LoopContext, stats: ServerStats, limiter: RateLimiter) {
        self.context = context
        self.stats = stats
        self.limiter = limiter
    }

    func channelRead(context ctx: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        if let hub = context.transfers, envelope.data.withUnsafeReadableBytes({ hub.intercepts($0) }) {
            hub.handle(envelope.data, remote: envelope.remoteAddress, channel: ctx.channel, tcp: false)
            return
        }
        guard var (reply, outcome) = context.respond(to: envelope.data, over: .udp, allocator: ctx.channel.allocator, framed: false) else {
            stats.dropped.wrappingIncrement(ordering: .relaxed)
            return
        }
        // Read field by field: a copy of the whole options would retain its strings per query.
        if context.snapshot.options.rrlLimit > 0 {
            switch limit(outcome, envelope.remoteAddress, context.snapshot) {
            case .pass:
                break
            case .drop:
                context.counters.rrlDropped &+= 1
                return
            case .slip:
                context.counters.rrlSlipped &+= 1
                UDPQueryHandler.truncate(&reply, questionEnd: outcome.questionEnd)
            }
        }
        ctx.write(wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: reply)), promise: nil)
        pending = true
    }

    /// Response rate limiting (`RateLimiter`): the client's prefix and the answer's key.
    @inline(__always)
    func limit(_ outcome: Outcome, _ address: SocketAddress, _ snapshot: Snapshot) -> RateLimiter.Verdict {
        let v4Bits = snapshot.options.rrlIPv4Prefix, v6Bits = snapshot.options.rrlIPv6Prefix
        let client: UInt64
        switch address {
        case .v4(let a):
            var ip = a.address.sin_addr
            client = withUnsafeBytes(of: &ip) {
                RateLimiter.prefixKey($0, v4Bits: v4Bits, v6Bits: v6Bits)
            }
        case .v6(let a):
            var ip = a.address.sin6_addr
            client = withUnsafeBytes(of: &ip) {
                RateLimiter.prefixKey($0, v4Bits: v4Bits, v6Bits: v6Bits)
            }
        case .unixDomainSocket:
            return .pass
        }
        return limiter.check(
            client: client, answer: outcome.answerKey, now: RateLimiter.now(), limit: snapshot.options.rrlLimit,
            slip: snapshot.options.rrlSlip)
    }

    /// A slipped response: header and question only, TC=1, so the client asks again over TCP.
    static func truncate(_ reply: inout ByteBuffer, questionEnd: Int) {
        let start = reply.readerIndex
        let flags = reply.getInteger(at: start + 2, as: UInt16.self) ?? 0
        reply.setInteger(flags | 0x0200, at: start + 2)
        for field in [6, 8, 10] { reply.setInteger(UInt16(0), at: start + field) }
        reply.moveWriterIndex(to: start + min(questionEnd, reply.readableBytes))
    }

    func channelReadComplete(context ctx: ChannelHandlerContext) {
        if pending {
            pending = false
            ctx.flush()
        }
    }

    func errorCaught(context ctx: ChannelHandlerContext, error: Error) {
        // ICMP errors and the like surface here; a UDP server keeps going.
    }
}

enum UDPListener {
    /// Messages read per recvmmsg call, and the largest query accepted (bigger ones are cut and
    /// then fail to decode, which drops or FORMERRs them).
    static let batch = 32
    static let maxQuery = 4096

    static func bind(
        _ address: SocketAddress, context: LoopContext, stats: ServerStats, limiter: RateLimiter
    ) async throws -> Channel {
        try await DatagramBootstrap(group: context.eventLoop)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(ChannelOptions.Types.SocketOption(level: .socket, name: .init(rawValue: SO_REUSEPORT)), value: 1)
            .channelOption(.datagramVectorReadMessageCount, value: batch)
            .channelOption(.maxMessagesPerRead, value: 4)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: batch * maxQuery))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        UDPQueryHandler(context: context, stats: stats, limiter: limiter))
                }
            }
            .bind(to: address)
            .get()
    }
}
