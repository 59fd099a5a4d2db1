import ArgumentParser
import CarouselConfig
import DNSZone
@preconcurrency import Dispatch
import Foundation
import Logging
import Responder
import Server

/// `carousel serve` (the default command): load the zones, listen, answer until SIGTERM/SIGINT;
/// SIGHUP reloads the zone files, keeping the last good version of any that fail.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the zones (the default command).")

    @OptionGroup var options: ConfigOptions

    @Option(name: .long, help: "ADDRESS:PORT to answer on, UDP and TCP (repeatable; overrides `listen`).")
    var listen: [String] = []

    @Option(name: .long, help: "Event loops (default: one per core).")
    var threads: Int?

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func run() async throws {
        var config: Config
        do {
            config = try options.resolve()
            if !listen.isEmpty {
                config.listen = try listen.map { s in
                    guard let a = ListenAddress(s) else { throw CommandError("--listen \(s): expected ADDRESS:PORT") }
                    return a
                }
            }
            if let threads { config.threads = threads }
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
        guard let level = Logger.Level(rawValue: logLevel) else {
            printError("--log-level \(logLevel): expected one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
            throw ExitCode(1)
        }
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "carousel")
        let responderOptions = ResponderOptions(
            maxUDPPayload: UInt16(config.maxUDPPayload), version: config.chaosVersion, identity: config.chaosIdentity)

        var loaded = loadZones(config, previous: [:], logger: logger)
        let server = DNSServer(threads: config.threads, snapshot: Snapshot(catalog: Catalog(zones: loaded), options: responderOptions), logger: logger)
        let listeners: Listeners
        do {
            listeners = try await server.bind(config.listen, tcpIdleTimeout: config.tcpIdleTimeout, tcpMaxConnections: config.tcpMaxConnections)
        } catch {
            printError("\(error)")
            try? await server.shutdown()
            throw ExitCode(1)
        }
        logger.info("ready", metadata: ["zones": "\(loaded.count)"])

        for await signal in Signals.stream([SIGTERM, SIGINT, SIGHUP]) {
            if signal == SIGHUP {
                logger.info("reloading zones (SIGHUP)")
                loaded = loadZones(config, previous: Dictionary(loaded.map { ($0.file, $0) }, uniquingKeysWith: { a, _ in a }), logger: logger)
                server.publish(Snapshot(catalog: Catalog(zones: loaded), options: responderOptions))
                continue
            }
            logger.info("stopping", metadata: ["signal": "\(signal)"])
            break
        }
        await listeners.close()
        try? await server.shutdown()
    }

    /// Loads the zones; a file that fails keeps its previous version (if any) serving.
    func loadZones(_ config: Config, previous: [String: Zone], logger: Logger) -> [Zone] {
        let set = ZoneSet.load(paths: config.zones)
        for w in set.warnings { logger.warning("\(w)") }
        var zones = set.zones
        let good = Set(zones.map(\.file))
        for e in set.errors {
            logger.error("\(e)")
            if !good.contains(e.file), let old = previous[e.file], !zones.contains(where: { $0.file == old.file }) {
                logger.warning("\(e.file): keeping the last good version (serial \(old.serial))")
                zones.append(old)
            }
        }
        for z in set.zones {
            logger.info("zone loaded", metadata: ["zone": "\(z.origin)", "serial": "\(z.serial)", "records": "\(z.recordCount)", "file": "\(z.file)"])
        }
        return zones
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
