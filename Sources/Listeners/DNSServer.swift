import Balancer
import DNSWire
import Health
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Responder

/// The listeners: UDP (one ``UDPWorker`` thread and socket per event loop, SO_REUSEPORT) and TCP
/// (on the event loops) on every configured address, all answering from the snapshot last
/// published. Owns the event loops.
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
    /// What the UDP workers start with, and the workers to post changes to.
    /// The counts of workers already stopped.
    /// What stopped workers counted: their query counters, and their answer counts.
    private let retired = NIOLockedValueBox(
        (counters: QueryCounters(), answers: [AnswerCounts](), signing: [SigningCounters]()))
    private let current: NIOLockedValueBox<Published>

    struct Published {
        var snapshot: Snapshot
        var health: HealthView = .empty
        var workers: [UDPWorker] = []
        /// The snapshot before `snapshot`, held until the next publish so that its last
        /// reference (a big zone takes a while to free) goes on the publisher's thread, not on
        /// a query thread: workers and loops have long switched away from it by then.
        var previous: Snapshot?
    }

    public init(threads: Int? = nil, snapshot: Snapshot, logger: Logger) {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads ?? System.coreCount)
        self.group = group
        let loops = group.makeIterator().map { LoopContext(eventLoop: $0, snapshot: snapshot) }
        self.loops = loops
        self.contexts = Dictionary(uniqueKeysWithValues: loops.map { (ObjectIdentifier($0.eventLoop), $0) })
        self.logger = logger
        self.current = NIOLockedValueBox(Published(snapshot: snapshot))
        let transfers = TransferHub(logger: logger)
        self.transfers = transfers
        for loop in loops { loop.transfers = transfers }
    }

    /// Binds every address (and DNS over TLS on `tls`'s); returns the listeners, so the caller
    /// can close them.
    public func bind(
        _ addresses: [HostPort], tcp: TCPSettings, tls: (listen: [HostPort], context: TLSServerContext)? = nil
    ) async throws -> Listeners {
        var channels: [Channel] = []
        var workers: [UDPWorker] = []
        do {
            for listen in addresses {
                let address = try SocketAddress.makeAddressResolvingHost(listen.host, port: listen.port)
                for _ in loops {
                    let socket = try UDPSocket(binding: address)
                    workers.append(
                        try current.withLockedValue { now in
                            let worker = try UDPWorker(
                                socket: socket, label: "carousel-udp-\(workers.count)", snapshot: now.snapshot,
                                health: now.health, stats: stats, limiter: limiter, transfers: transfers)
                            now.workers.append(worker)
                            return worker
                        })
                }
                channels.append(
                    try await TCPListener.bind(address, group: group, contexts: contexts, stats: stats, settings: tcp))
                logger.info(
                    "listening", metadata: ["address": "\(listen)", "transports": "udp,tcp", "loops": "\(loops.count)"])
            }
            for listen in tls?.listen ?? [] {
                let address = try SocketAddress.makeAddressResolvingHost(listen.host, port: listen.port)
                channels.append(
                    try await TCPListener.bind(
                        address, tls: tls!.context, group: group, contexts: contexts, stats: stats, settings: tcp))
                logger.info("listening", metadata: ["address": "\(listen)", "transports": "tls"])
            }
        } catch {
            for c in channels { try? await c.close() }
            forget(workers)
            throw ServerError(message: "cannot listen: \(error)")
        }
        for w in workers { w.start() }
        return Listeners(channels: channels, workers: workers, server: self)
    }

    /// Makes `snapshot` current on every loop. Each loop switches between two queries, so every
    /// query runs on exactly one snapshot.
    public func publish(_ snapshot: Snapshot) {
        let (workers, retired) = current.withLockedValue { now in
            let retired = now.previous
            now.previous = now.snapshot
            now.snapshot = snapshot
            return (now.workers, retired)
        }
        for w in workers { w.post(snapshot) }
        withExtendedLifetime(retired) {}  // freed here, outside the lock, if nobody else holds it
        for loop in loops {
            loop.eventLoop.execute { loop.snapshot = snapshot }
        }
    }

    /// Makes the prober's latest view current on every loop, the same way.
    public func publish(_ health: HealthView) {
        let workers = current.withLockedValue { now in
            now.health = health
            return now.workers
        }
        for w in workers { w.post(health) }
        for loop in loops {
            loop.eventLoop.execute { loop.health = health }
        }
    }

    /// The query counters of every loop, summed (each read on its own loop), with every query
    /// thread's answer counts (read from here: ``AnswerCounts``).
    public func queryCounters() async -> QueryCounters {
        var total = QueryCounters()
        for loop in loops {
            if let c = try? await loop.eventLoop.submit({ loop.counters }).get() { total.add(c) }
            loop.scratch.answers.add(to: &total.answers)
        }
        for w in current.withLockedValue({ $0.workers }) {
            total.add(await w.counters())
            w.answerCounts.add(to: &total.answers)
        }
        let (counters, counts) = retired.withLockedValue { ($0.counters, $0.answers) }
        total.add(counters)
        for c in counts { c.add(to: &total.answers) }
        return total
    }

    /// Every query thread's answer counts, summed, read from here without asking the threads
    /// (nothing runs on a query thread for it: the status page and its 10 s samples cost the
    /// query path nothing).
    public func answerTotals() -> AnswerTotals {
        var total = AnswerTotals()
        for loop in loops { loop.scratch.answers.add(to: &total) }
        for w in current.withLockedValue({ $0.workers }) { w.answerCounts.add(to: &total) }
        for c in retired.withLockedValue({ $0.answers }) { c.add(to: &total) }
        return total
    }

    /// Every query thread's signing counts, summed (DNSSEC: signature cache hits and misses,
    /// signatures made per algorithm, cache entries), read without asking the threads.
    public func signingTotals() -> SigningTotals {
        var total = SigningTotals()
        for loop in loops { total.add(loop.scratch.signing.counters) }
        for w in current.withLockedValue({ $0.workers }) { total.add(w.signingCounters) }
        for c in retired.withLockedValue({ $0.signing }) { total.add(c) }
        return total
    }

    /// Drops stopped workers from the publishing list, keeping their counts.
    func forget(_ gone: [UDPWorker], counters: QueryCounters? = nil) {
        let ids = Set(gone.map(ObjectIdentifier.init))
        current.withLockedValue { $0.workers.removeAll { ids.contains(ObjectIdentifier($0)) } }
        retired.withLockedValue {
            if let counters { $0.counters.add(counters) }
            $0.answers += gone.map(\.answerCounts)
            $0.signing += gone.map(\.signingCounters)
        }
    }

    public func shutdown() async throws {
        try await group.shutdownGracefully()
    }
}

/// The bound sockets of a server.
public struct Listeners: Sendable {
    let channels: [Channel]
    let workers: [UDPWorker]
    let server: DNSServer

    /// Stops accepting: closes every listening socket and stops the UDP workers.
    public func close() async {
        for c in channels { try? await c.close() }
        var counts = QueryCounters()
        for w in workers {
            await w.stop()
            counts.add(await w.counters())
        }
        server.forget(workers, counters: counts)
    }
}

public struct ServerError: Error, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
