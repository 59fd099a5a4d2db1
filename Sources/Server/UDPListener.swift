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
    var pending = false

    init(context: LoopContext, stats: ServerStats) {
        self.context = context
        self.stats = stats
    }

    func channelRead(context ctx: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        if let hub = context.transfers, envelope.data.withUnsafeReadableBytes({ hub.intercepts($0) }) {
            hub.handle(envelope.data, remote: envelope.remoteAddress, channel: ctx.channel, tcp: false)
            return
        }
        guard let (reply, _) = context.respond(to: envelope.data, over: .udp, allocator: ctx.channel.allocator, framed: false) else {
            stats.dropped.wrappingIncrement(ordering: .relaxed)
            return
        }
        ctx.write(wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: reply)), promise: nil)
        pending = true
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

    static func bind(_ address: SocketAddress, context: LoopContext, stats: ServerStats) async throws -> Channel {
        try await DatagramBootstrap(group: context.eventLoop)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(ChannelOptions.Types.SocketOption(level: .socket, name: .init(rawValue: SO_REUSEPORT)), value: 1)
            .channelOption(.datagramVectorReadMessageCount, value: batch)
            .channelOption(.maxMessagesPerRead, value: 4)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: batch * maxQuery))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UDPQueryHandler(context: context, stats: stats))
                }
            }
            .bind(to: address)
            .get()
    }
}
