import Atomics
import NIOCore
import NIOPosix
import NIOSSL
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

enum TCPListener {
    /// DNS over TCP on `address`; with `tls`, DNS over TLS: NIOSSL's handler first, then the same
    /// connection handler (RFC 7766 framing and limits), told that it is on TLS.
    static func bind(
        _ address: SocketAddress, tls: TLSServerContext? = nil, group: EventLoopGroup,
        contexts: [ObjectIdentifier: LoopContext], stats: ServerStats, settings: TCPSettings
    ) async throws -> Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 1024)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let ctx = contexts[ObjectIdentifier(channel.eventLoop)]!
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.context))
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        TCPConnectionHandler(context: ctx, stats: stats, settings: settings, tls: tls != nil))
                }
            }
            .bind(to: address)
            .get()
    }
}
