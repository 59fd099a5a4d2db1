import Admin
import ArgumentParser
import CarouselConfig
import DNSWire
@preconcurrency import Dispatch
import Foundation
import Logging
import Metrics
import Prometheus
import Runtime

/// `carousel serve` (the default command): load the zones, listen, answer until SIGTERM/SIGINT;
/// SIGHUP reloads the zone files, keeping the last good version of any that fail.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the zones (the default command).")

    @OptionGroup var options: ConfigOptions

    @Option(name: .long, help: "ADDRESS:PORT to answer on, UDP and TCP (repeatable; overrides `listen`).")
    var listen: [String] = []

    @Option(
        name: .long,
        help:
            "This instance's id among fleet.members (also CAROUSEL_FLEET_SELF; default: fleet.self, or the member whose address is local)."
    )
    var fleetSelf: String?

    @Option(name: .long, help: "Event loops (default: one per core).")
    var threads: Int?

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Option(name: .long, help: "text (one line per event) or json (one JSON object per line).")
    var logFormat: String = "text"

    func run() async throws {
        errorsAsJSON = logFormat == "json"
        var config: Config
        do {
            config = try options.resolve()
            if !listen.isEmpty {
                config.listen = try listen.map { s in
                    guard let a = HostPort(s) else { throw CommandError("--listen \(s): expected ADDRESS:PORT") }
                    return a
                }
            }
            if let threads { config.threads = threads }
            if let id = fleetSelf ?? ProcessInfo.processInfo.environment["CAROUSEL_FLEET_SELF"] {
                guard let fleet = config.fleet, fleet.members.contains(where: { $0.id == id }) else {
                    throw CommandError(
                        "--fleet-self \(id): not a member of fleet.members (\(config.fleet?.members.map(\.id).joined(separator: ", ") ?? "no fleet is configured"))"
                    )
                }
                config.fleet?.selfID = id
            }
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
        guard let level = Logger.Level(rawValue: logLevel) else {
            printError(
                "--log-level \(logLevel): expected one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))"
            )
            throw ExitCode(1)
        }
        guard logFormat == "text" || logFormat == "json" else {
            printError("--log-format \(logFormat): expected text or json")
            throw ExitCode(1)
        }
        let json = logFormat == "json"
        LoggingSystem.bootstrap { label in
            if json {
                var h = JSONLogHandler(label: label)
                h.logLevel = level
                return h
            }
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "carousel")
        let listenOverride = config.listen, threadsOverride = config.threads, zonesOverride = options.zones
        let listenGiven = !listen.isEmpty, threadsGiven = threads != nil
        let fleetSelfOverride = config.fleet?.selfID
        let runtime = CarouselRuntime(
            config: config, configPath: options.configPath,
            overrides: { c in
                if listenGiven { c.listen = listenOverride }
                if threadsGiven { c.threads = threadsOverride }
                if !zonesOverride.isEmpty { c.zones = zonesOverride }
                if let id = fleetSelfOverride, c.fleet?.members.contains(where: { $0.id == id }) == true {
                    c.fleet?.selfID = id
                }
            }, logger: logger)
        let signals = Signals.stream([SIGTERM, SIGINT, SIGHUP])
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let failure: Error? = await withThrowingTaskGroup(of: Void.self) { group in
            // The prober runs first, so the first probe round happens before the first answer.
            group.addTask { try await runtime.prober.run() }
            let admin: AdminServer?
            do {
                try await runtime.start()
                admin = try await runtime.bindAdmin(
                    metrics: MetricsExporter(registry: registry),
                    environmentToken: ProcessInfo.processInfo.environment["CAROUSEL_ADMIN_TOKEN"])
                // Every socket is bound: now give up root if asked to (every thread, see Main).
                try Privileges.drop(user: config.user, group: config.group, logger: logger)
            } catch {
                group.cancelAll()
                return error
            }
            if let admin { group.addTask { try await admin.run() } }
            // The status page's history: answers per member every 10 s, state changes as they come.
            group.addTask { await runtime.history.follow() }
            group.addTask { await runtime.sampleAnswers() }
            group.addTask {
                // Edits to zone files and the config are picked up without a signal.
                while !Task.isCancelled {
                    try await Task.sleep(for: .milliseconds(500))
                    await runtime.poll()
                }
            }
            for await signal in signals {
                if signal == SIGHUP {
                    await runtime.reload()
                    continue
                }
                logger.info("stopping", metadata: ["signal": "\(signal == SIGTERM ? "SIGTERM" : "SIGINT")"])
                break
            }
            group.cancelAll()
            return nil
        }
        if let failure {
            printError("\(failure)")
            await runtime.stop()
            throw ExitCode(1)
        }
        await runtime.stop()
    }
}

/// POSIX signals as an async sequence (Dispatch sources; the default actions are disabled).
enum Signals {
    static func stream(_ signals: [Int32]) -> AsyncStream<Int32> {
        AsyncStream { continuation in
            let queue = DispatchQueue(label: "carousel.signals")
            let sources = signals.map { sig in
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
                source.setEventHandler { continuation.yield(sig) }
                source.resume()
                return source
            }
            continuation.onTermination = { _ in sources.forEach { $0.cancel() } }
        }
    }
}
