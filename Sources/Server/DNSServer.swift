import CarouselConfig
import Health
import Logging
import NIOCore
import NIOPosix
import Responder

/// The listeners: UDP (one socket per event loop, SO_REUSEPORT) and TCP on every configured
/// address, all answering from the snapshot last published. Owns the event loops.
public final class DNSServer: Sendable {
    public let group: MultiThreadedEventLoopGroup
    let contexts: [ObjectIdentifier: LoopContext]
    let loops: [LoopContext]
    public let stats = ServerStats()
    /// Response rate limiting's table, shared by the UDP sockets of every loop.
    let limiter = RateLimiter()
    let logger: Logger
    /// Zone transfers, NOTIFY and TSIG-signed queries (off the fast path).
    public let transfers: TransferHub

    public init(threads: Int? = nil, snapshot: Snapshot, logger: Logger) {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads ?? System.coreCount)
        self.group = group
        let loops = group.makeIterator().map { LoopContext(eventLoop: $0, snapshot: snapshot) }
        self.loops = loops
        self.contexts = Dictionary(uniqueKeysWithValues: loops.map { (ObjectIdentifier($0.eventLoop), $0) })
        self.logger = logger
        let transfers = TransferHub(logger: logger)
        self.transfers = transfers
        for loop in loops { loop.transfers = transfers }
    }

    /// Binds every address; returns the listeners, so the caller can close them.
    public func bind(_ addresses: [ListenAddress], tcp: TCPSettings) async throws -> Listeners {
        var channels: [Channel] = []
        do {
            for listen in addresses {
                let address = try SocketAddress.makeAddressResolvingHost(listen.host, port: listen.port)
                for loop in loops {
                    channels.append(
                        try await UDPListener.bind(address, context: loop, stats: stats, limiter: limiter))
                }
                channels.append(
                    try await TCPListener.bind(address, group: group, contexts: contexts, stats: stats, settings: tcp))
                logger.info("listening", metadata: ["address": "\(listen)", "transports": "udp,tcp", "loops": "\(loops.count)"])
            }
        } catch {
            for c in channels { try? await c.close() }
            throw ServerError(message: "cannot listen: \(error)")
        }
        return Listeners(channels: channels)
    }

    /// Makes `snapshot` current on every loop. Each loop switches between two queries, so every
    /// query runs on exactly one snapshot.
    public func publish(_ snapshot: Snapshot) {
        for loop in loops {
            loop.eventLoop.execute { loop.snapshot = snapshot }
        }
    }

    /// Makes the prober's latest view current on every loop, the same way.
    public func publish(_ health: HealthView) {
        for loop in loops {
            loop.eventLoop.execute { loop.health = health }
        }
    }

    /// The query counters of every loop, summed (each read on its own loop).
    func queryCounters() async -> QueryCounters {
        var total = QueryCounters()
        for loop in loops {
            if let c = try? await loop.eventLoop.submit({ loop.counters }).get() { total.add(c) }
        }
        return total
    }

    public func shutdown() async throws {
        try await group.shutdownGracefully()
    }
}

/// The bound sockets of a server.
public struct Listeners: Sendable {
    let channels: [Channel]

    /// Stops accepting: closes every listening socket.
    public func close() async {
        for c in channels { try? await c.close() }
    }
}

public struct ServerError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
