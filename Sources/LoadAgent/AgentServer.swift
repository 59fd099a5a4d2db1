import Foundation
import Health
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Prober

/// `carousel agent`: samples the machine every `interval` and answers every TCP connection on
/// `listen` with the current ``AgentReply`` line, then closes it (HAProxy's agent-check protocol:
/// one line, read by Carousel's `agent:` and by HAProxy's `agent-check`).
public final class AgentServer: Sendable {
    public struct Settings: Sendable {
        public var host: String
        public var port: Int
        public var interval: Duration
        public var basis: AgentReply.Basis
        public var drainFile: String?
        /// A shell command: the agent says `down` while it exits non-zero.
        public var check: String?

        public init(
            host: String, port: Int, interval: Duration = .seconds(2), basis: AgentReply.Basis = .both,
            drainFile: String? = nil, check: String? = nil
        ) {
            self.host = host
            self.port = port
            self.interval = interval
            self.basis = basis
            self.drainFile = drainFile
            self.check = check
        }
    }

    let settings: Settings
    let logger: Logger
    let current: NIOLockedValueBox<AgentReply>

    public init(settings: Settings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        self.current = NIOLockedValueBox(AgentReply(percent: 100))
    }

    /// The line every connection gets now.
    public var reply: AgentReply { current.withLockedValue { $0 } }

    /// Takes a first sample (over a quarter of a second), then listens and samples every
    /// interval until cancelled. `bound` is called with the port actually bound (for port 0).
    public func run(bound: @Sendable (Int) -> Void = { _ in }) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var sampler = LoadSampler(settings: settings, group: group)
        let first = await sampler.first()
        current.withLockedValue { $0 = first }
        let box = current
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { child in
                    child.eventLoop.makeCompletedFuture {
                        try child.pipeline.syncOperations.addHandler(
                            OneLine { Array(box.withLockedValue { $0.line }.utf8) })
                    }
                }
                .bind(host: settings.host, port: settings.port).get()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        let port = channel.localAddress?.port ?? settings.port
        bound(port)
        logger.info("agent listening on \(settings.host):\(port), sampling every \(settings.interval): \(reply.line)")
        var last = reply
        while !Task.isCancelled {
            do { try await Task.sleep(for: settings.interval) } catch { break }
            let next = await sampler.next()
            current.withLockedValue { $0 = next }
            if next.draining != last.draining || next.failure != last.failure {
                logger.notice("agent now says: \(next.line.dropLast())")
            }
            last = next
        }
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

/// Reads the load for ``AgentServer``: `/proc/stat` twice per interval span, `/proc/meminfo`,
/// the drain file and the check command (run as an `exec` check runs: its own process group,
/// killed whole at the timeout).
public struct LoadSampler: Sendable {
    let settings: AgentServer.Settings
    let group: any EventLoopGroup
    var previous: CPUTimes?

    public init(settings: AgentServer.Settings, group: any EventLoopGroup) {
        self.settings = settings
        self.group = group
    }

    /// The first reply: CPU busy over a quarter of a second.
    public mutating func first() async -> AgentReply {
        previous = Self.cpu()
        try? await Task.sleep(for: .milliseconds(250))
        return sample(failure: await runCheck())
    }

    /// The next reply: CPU busy since the previous sample.
    public mutating func next() async -> AgentReply {
        sample(failure: await runCheck())
    }

    /// The check command's verdict: nil when it exits 0 within the interval, else why not.
    func runCheck() async -> String? {
        guard let command = settings.check else { return nil }
        return await Self.runCheck(command, timeout: settings.interval, on: group)
    }

    static func runCheck(_ command: String, timeout: Duration, on group: any EventLoopGroup) async -> String? {
        let check = Check(
            kind: .exec(command: ["/bin/sh", "-c", command]), port: 0,
            timing: Timing(interval: timeout, timeout: timeout))
        let result = await Probe.run(TargetKey(address: "127.0.0.1", check: check), on: group)
        return result.ok ? nil : "check: \(result.reason)"
    }

    mutating func sample(failure: String?) -> AgentReply {
        let now = Self.cpu()
        let busy = now.flatMap { n in previous.map { n.busy(since: $0) } } ?? 0
        previous = now
        let memory = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)).flatMap(MemoryUse.used) ?? 0
        let draining = settings.drainFile.map { FileManager.default.fileExists(atPath: $0) } ?? false
        return AgentReply(
            percent: AgentReply.percent(cpu: busy, memory: memory, by: settings.basis), draining: draining,
            failure: failure)
    }

    static func cpu() -> CPUTimes? {
        (try? String(contentsOfFile: "/proc/stat", encoding: .utf8)).flatMap(CPUTimes.init(procStat:))
    }
}

/// Writes one line when the connection is up, then shuts down its sending side (a full close
/// would reset a connection whose peer sent bytes we have not read, and the line with it); the
/// peer's close ends the connection. (A write from the child channel's initializer goes nowhere:
/// the channel is not active yet.)
public final class OneLine: ChannelInboundHandler, Sendable {
    public typealias InboundIn = ByteBuffer
    let line: @Sendable () -> [UInt8]

    public init(_ line: @escaping @Sendable () -> [UInt8]) { self.line = line }

    public func channelActive(context: ChannelHandlerContext) {
        let bytes = line()
        var buffer = context.channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        context.writeAndFlush(NIOAny(buffer), promise: nil)
        context.close(mode: .output, promise: nil)
        context.fireChannelActive()
    }

    /// The peer's bytes (HAProxy sends none by default) are read and dropped; its close ends it.
    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}
