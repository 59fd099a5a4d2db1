import Health
import NIOCore
import NIOPosix

/// An agent probe on the prober's event loop, for when the tcp engine is not running (it takes
/// agents itself otherwise): connect, read until the first CR or LF, the agent's close or
/// ``TCPProbeEngine/replyLimit`` bytes, within the timeout.
enum AgentCheckProbe {
    static func run(to socketAddress: SocketAddress, timeout: Duration, on loop: any EventLoop) async -> ProbeResult {
        await ProbeAttempt.run(on: loop, timeout: timeout) { attempt in
            ClientBootstrap(group: loop)
                .connectTimeout(.nanoseconds(timeout.nanoseconds))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(LineReader(attempt: attempt))
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

    final class LineReader: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let attempt: ProbeAttempt
        var reply: [UInt8] = []

        init(attempt: ProbeAttempt) { self.attempt = attempt }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            reply += buffer.readableBytesView.prefix(TCPProbeEngine.replyLimit - reply.count)
            if let end = reply.firstIndex(where: { $0 == 0x0A || $0 == 0x0D }) {
                reply.removeSubrange((end + 1)...)
                done()
            } else if reply.count >= TCPProbeEngine.replyLimit {
                done()
            }
        }

        func channelInactive(context: ChannelHandlerContext) { done() }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            if reply.isEmpty { attempt.fail(error) } else { done() }
        }

        private func done() {
            attempt.finish(ProbeResult(ok: true, reason: "replied", reply: reply))
        }
    }
}
