import DNSWire
import Health
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// `dns` check: one UDP query for `query` (default: the root) and `qtype`, class IN, without
/// recursion desired (the targets are authoritative servers). Up when a reply with our id comes
/// back with an rcode in `rcodes`. The socket is connected, so an ICMP port unreachable fails
/// the probe at once instead of at the timeout, and replies from other sources are dropped.
enum DNSCheck {
    static func run(target: TargetKey, _ probe: DNSProbe, to socketAddress: SocketAddress, on loop: any EventLoop)
        async -> ProbeResult
    {
        let name: DNSName
        do {
            name = try DNSName(probe.query ?? ".")
        } catch {
            return .failure("bad query name \(quoted(probe.query ?? "."))")
        }
        guard let qtype = RRType(text: probe.qtype) else { return .failure("bad qtype \(probe.qtype)") }
        let id = UInt16.random(in: 0...UInt16.max)
        let query = makeQuery(id: id, name: name, type: qtype)
        let rcodes = Set(probe.rcodes)
        return await ProbeAttempt.run(on: loop, timeout: target.check.timing.timeout) { attempt in
            DatagramBootstrap(group: loop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            DNSReplyHandler(id: id, rcodes: rcodes, attempt: attempt))
                    }
                }
                .connect(to: socketAddress)
                .whenComplete { result in
                    switch result {
                    case .success(let channel):
                        attempt.attach(channel)
                        var buffer = channel.allocator.buffer(capacity: query.count)
                        buffer.writeBytes(query)
                        channel.writeAndFlush(buffer).whenFailure { attempt.fail($0) }
                    case .failure(let error):
                        attempt.fail(error)
                    }
                }
        }
    }

    /// RFC 1035 §4.1: a 12-byte header (id, flags 0, one question) and the question.
    static func makeQuery(id: UInt16, name: DNSName, type: RRType) -> [UInt8] {
        var q: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
        q += name.wire
        q += [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xFF), 0, 1]
        return q
    }
}

/// Waits for the reply to our query; anything else (wrong id, not a response, too short) is
/// ignored, as a resolver would.
final class DNSReplyHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    let id: UInt16
    let rcodes: Set<Int>
    let attempt: ProbeAttempt

    init(id: UInt16, rcodes: Set<Int>, attempt: ProbeAttempt) {
        self.id = id
        self.rcodes = rcodes
        self.attempt = attempt
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = unwrapInboundIn(data).data
        guard let verdict = DNSCheckReply.judge(reply.readableBytesView, id: id, rcodes: rcodes) else { return }
        attempt.finish(verdict.up ? .success(verdict.text) : .failure(verdict.text))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let e = error as? IOError, e.errnoCode == ECONNREFUSED {
            attempt.finish(.failure("port unreachable"))
        } else {
            attempt.fail(error)
        }
    }
}
