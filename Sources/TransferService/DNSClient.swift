import NIOCore
import NIOPosix
import NIOSSL

/// One DNS exchange as a client, off the query path: a UDP query and its reply (NOTIFY, SOA
/// checks), or a TCP query and a stream of framed messages (AXFR, IXFR). Every exchange has a
/// deadline: the channel is closed when it passes.
public enum DNSClient {
    struct Timeout: Error, CustomStringConvertible {
        var what: String
        var description: String { "timeout: \(what)" }
    }

    struct Closed: Error, CustomStringConvertible {
        var description: String { "connection closed before the answer was complete" }
    }

    /// Sends `query` over UDP and returns the first reply with the same id.
    /// `from` is the local address to send from (any when nil).
    public static func udp(
        _ query: [UInt8], to address: SocketAddress, from: String? = nil, timeout: TimeAmount, group: EventLoopGroup
    )
        async throws -> [UInt8]
    {
        let bindHost = from ?? (address.protocol == .inet6 ? "::" : "0.0.0.0")
        let channel = try await DatagramBootstrap(group: group)
            .bind(host: bindHost, port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(
                        wrappingChannelSynchronously: channel)
                }
            }
        let deadline = channel.channel.eventLoop.scheduleTask(in: timeout) { channel.channel.close(promise: nil) }
        defer { deadline.cancel() }
        return try await channel.executeThenClose { inbound, outbound in
            var buffer = ByteBufferAllocator().buffer(capacity: query.count)
            buffer.writeBytes(query)
            try await outbound.write(AddressedEnvelope(remoteAddress: address, data: buffer))
            for try await envelope in inbound {
                let bytes = Array(envelope.data.readableBytesView)
                if bytes.count >= 12, bytes[0] == query[0], bytes[1] == query[1] { return bytes }
            }
            throw Timeout(what: "no reply from \(address) within \(timeout.nanoseconds / 1_000_000) ms")
        }
    }

    /// Sends `query` over TCP (over TLS with `tls`) and hands every framed reply to `onMessage`
    /// until it returns true.
    static func tcp(
        _ query: [UInt8], to address: SocketAddress, from: String? = nil, timeout: TimeAmount,
        group: EventLoopGroup, tls: XoTClient? = nil, onMessage: @escaping ([UInt8]) throws -> Bool
    ) async throws {
        guard let tls else {
            return try await exchange(query, to: address, from: from, timeout: timeout, group: group, onMessage)
        }
        let rejected = PinBox()
        do {
            try await exchange(
                query, to: address, from: from, timeout: timeout, group: group,
                tls: { try tls.handlers(rejected: rejected, handshake: $0) }, onMessage)
        } catch {
            throw tls.explain(error, rejected: rejected)
        }
    }

    static func exchange(
        _ query: [UInt8], to address: SocketAddress, from: String?, timeout: TimeAmount, group: EventLoopGroup,
        tls: (@Sendable (EventLoopPromise<Void>) throws -> [ChannelHandler])? = nil,
        _ onMessage: @escaping ([UInt8]) throws -> Bool
    ) async throws {
        var bootstrap = ClientBootstrap(group: group).connectTimeout(timeout)
        if let from { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: from, port: 0)) }
        let (channel, handshake) =
            try await bootstrap
            .connect(to: address) { channel in
                channel.eventLoop.makeCompletedFuture {
                    var handshake: EventLoopFuture<Void>?
                    if let tls {
                        let promise = channel.eventLoop.makePromise(of: Void.self)
                        try channel.pipeline.syncOperations.addHandlers(try tls(promise))
                        handshake = promise.futureResult
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(ReplyFrameDecoder()))
                    return (
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel), handshake
                    )
                }
            }
        let deadline = channel.channel.eventLoop.scheduleTask(in: timeout) { channel.channel.close(promise: nil) }
        defer { deadline.cancel() }
        try await channel.executeThenClose { inbound, outbound in
            // Over TLS, nothing is written before the primary is authenticated.
            try await handshake?.get()
            var buffer = ByteBufferAllocator().buffer(capacity: query.count + 2)
            buffer.writeInteger(UInt16(query.count))
            buffer.writeBytes(query)
            try await outbound.write(buffer)
            for try await message in inbound {
                if try onMessage(Array(message.readableBytesView)) { return }
            }
            throw Closed()
        }
    }
}

/// Splits a TCP stream of replies at their 2-byte length prefixes (RFC 1035 §4.2.2).
struct ReplyFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self),
            buffer.readableBytes >= 2 + Int(length)
        else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 2)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
