import ArgumentParser
import DNSSEC
import DNSWire
import Foundation

/// `carousel dnssec keygen` and `carousel dnssec ds`: keys in BIND's format, DS records for the
/// parent.
struct DNSSECCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dnssec", abstract: "DNSSEC keys: make one, print the DS records for the parent.",
        subcommands: [KeyGen.self, DSRecords.self])

    struct KeyGen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "keygen",
            abstract: "Write a key pair as dnssec-keygen does (K<zone>.+<alg>+<tag>.key and .private, mode 0600).",
            discussion: """
                A CSK (flags 257) by default: one key that signs the whole zone. --zsk makes a \
                zone-signing key (256) for a KSK/ZSK split. The key is published and active now; \
                dnssec-settime changes its timing.
                """)

        @Argument(help: "The zone, e.g. example.com.") var zone: String
        @Option(name: .long, help: "The key directory (created if missing).") var dir: String
        @Option(name: .long, help: "ecdsap256sha256 (13, the default) or ed25519 (15).")
        var algorithm: String = "ecdsap256sha256"
        @Flag(name: .long, help: "A zone-signing key (flags 256) instead of a CSK.") var zsk = false

        func run() async throws {
            guard let name = try? DNSName(zone.hasSuffix(".") ? zone : zone + ".") else {
                throw CommandError("\(zone) is not a domain name")
            }
            guard let alg = DNSSECAlgorithm(name: algorithm) else {
                throw CommandError("--algorithm \(algorithm): expected ecdsap256sha256 or ed25519")
            }
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let key = DNSSECKey.generate(zone: name, algorithm: alg, flags: zsk ? 256 : 257)
            do {
                let path = try KeyFiles.write(key, directory: dir)
                print(path)
            } catch {
                throw CommandError("\(error)")
            }
        }
    }

    struct DSRecords: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ds",
            abstract: "Print the DS records (SHA-256) of a signed zone's key-signing keys, as dnssec-dsfromkey does.")

        @Argument(help: "The zone, as in the config's dnssec: entry.") var zone: String
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let config = try options.resolve()
            guard let name = try? DNSName(zone.hasSuffix(".") ? zone : zone + "."),
                let d = config.dnssec.first(where: { $0.zone == name })
            else {
                throw CommandError("\(zone) has no dnssec: entry in \(options.configPath ?? "the config")")
            }
            switch ZoneKeys.load(d) {
            case .failure(let p): throw CommandError(p.description)
            case .success(let keys):
                let now = Int64(Date().timeIntervalSince1970)
                // The keys that sign the DNSKEY RRset (KSKs and CSKs), published now or to come.
                let sep = keys.keys.filter { $0.isKeySigning && ($0.timing.delete.map { $0 > now } ?? true) }
                for k in sep.isEmpty ? keys.keys : sep { print(k.dsRecord) }
            }
        }
    }
}
