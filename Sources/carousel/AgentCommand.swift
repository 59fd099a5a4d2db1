import ArgumentParser
import LoadAgent
import Logging
import NIOPosix

/// `carousel agent`: run on each backend; answers Carousel's `agent:` (and HAProxy's
/// `agent-check`) with a weight from this machine's load.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Report this machine's load to Carousel (and HAProxy) over the agent-check protocol.",
        discussion: """
            Answers every TCP connection with one line and closes it: the weight, 100% − max(CPU busy, \
            memory used) over the last interval (--by picks one), clamped to 1–100%; `drain` while \
            --drain-file exists, else `ready`; `down #reason` while --check fails, else `up`. \
            Example line: `63% ready up`.
            """)

    @Option(help: "Address and port to listen on.")
    var listen = "0.0.0.0:9999"

    @Option(help: "How often to sample the load (and run --check): 2s, 500ms.")
    var interval = "2s"

    @Option(help: "What the weight follows: cpu, memory or both (the higher).")
    var by = "both"

    @Option(help: "Say `drain` while this file exists.")
    var drainFile: String?

    @Option(help: "A shell command; say `down` while it exits non-zero.")
    var check: String?

    @Flag(help: "Print the line the agent would send now and exit.")
    var once = false

    func run() async throws {
        guard let basis = AgentReply.Basis(rawValue: by) else {
            throw ValidationError("--by must be cpu, memory or both, not \(by)")
        }
        guard let duration = Self.duration(interval), duration >= .milliseconds(100) else {
            throw ValidationError("--interval: \"\(interval)\" is not a duration of at least 100ms (2s, 500ms)")
        }
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
            (0...65535).contains(port)
        else {
            throw ValidationError("--listen: \"\(listen)\" is not ADDRESS:PORT")
        }
        var host = String(listen[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let settings = AgentServer.Settings(
            host: host, port: port, interval: duration, basis: basis, drainFile: drainFile, check: check)
        if once {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            var sampler = LoadSampler(settings: settings, group: group)
            print(await sampler.first().line, terminator: "")
            try await group.shutdownGracefully()
            return
        }
        let logger = Logger(label: "carousel.agent")
        try await AgentServer(settings: settings, logger: logger).run()
    }

    /// `2s`, `500ms`, `1.5s`.
    static func duration(_ text: String) -> Duration? {
        if text.hasSuffix("ms"), let v = Double(text.dropLast(2)) { return .milliseconds(v) }
        if text.hasSuffix("s"), let v = Double(text.dropLast()) { return .milliseconds(v * 1000) }
        return nil
    }
}
