import Yams

/// `carousel.yaml`: what to serve and how. The keys are a contract that operators' scripts rely
/// on (DESIGN, "The contract with the outside"): extend them, never rename them. This module only
/// reads and checks the file; it must not open sockets or load zones.
public struct Config: Sendable, Equatable {
    /// Addresses to answer on, UDP and TCP on each.
    public var listen: [ListenAddress] = [ListenAddress(host: "127.0.0.1", port: 5353)]
    /// Directories of `*.zone` files, or single zone files, relative to the config file.
    public var zones: [String] = ["zones"]
    /// The largest UDP response we send (RFC 6891 §6.2.5).
    public var maxUDPPayload: Int = 1232
    /// CH TXT `version.bind` and `id.server` answers; nil refuses them.
    public var chaosVersion: String? = nil
    public var chaosIdentity: String? = nil
    public var tcpIdleTimeout: Duration = .seconds(10)
    public var tcpMaxConnections: Int = 1000
    /// Event loops (threads); nil means one per core.
    public var threads: Int? = nil
    /// Health and drain state, saved so that a restart is not blind.
    public var stateFile: String? = nil
    /// TTL cap and check applied to every pool unless it says otherwise.
    public var defaultTTL: Int = 30
    public var defaultCheck = CheckConfig()
    public var pools: [PoolConfig] = []
    /// The admin HTTP listener (status, metrics, drain, reload); off when nil.
    public var admin: ListenAddress? = nil
    /// Bearer token for mutating admin requests (also `CAROUSEL_ADMIN_TOKEN`); required when the
    /// admin listener is not on loopback.
    public var adminToken: String? = nil
    /// Drop privileges to this user and group after binding (port 53 as root).
    public var user: String? = nil
    public var group: String? = nil
    /// Zone transfers: keys, zones served as a primary, zones pulled as a secondary.
    public var tsigKeys: [TSIGKeyConfig] = []
    public var transfers: [TransferConfig] = []
    public var secondaries: [SecondaryConfig] = []

    public init() {}

    /// Reads and checks a config file's text; `file` names it in errors. Paths in it are taken
    /// relative to `baseDirectory`.
    public static func parse(_ text: String, file: String, baseDirectory: String? = nil) -> Result<Config, ConfigErrors> {
        var r = YAMLReader(file: file)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let YamlError.scanner(_, problem, mark, _), let YamlError.parser(_, problem, mark, _),
            let YamlError.composer(_, problem, mark, _)
        {
            return .failure(ConfigErrors([ConfigError(file: file, line: mark.line, message: "YAML: \(problem)")]))
        } catch {
            return .failure(ConfigErrors([ConfigError(file: file, line: 1, message: "YAML: \(error)")]))
        }
        var c = Config()
        guard let root else { return .success(c) }  // An empty file means all defaults.
        let known: Set = [
            "listen", "zones", "max_udp_payload", "chaos", "tcp", "threads", "state_file", "defaults", "pools",
            "admin", "admin_token", "user", "group", "tsig_keys", "transfers", "secondaries",
        ]
        let entries = r.mapping(root, "", known: known)
        // Defaults first: pools build on them wherever they appear in the file.
        for (key, v) in entries where key == "defaults" {
            for (k, dv) in r.mapping(v, key, known: ["ttl", "check"]) {
                if k == "ttl" {
                    if let n = r.int(dv, "defaults.ttl", range: 0...86400) { c.defaultTTL = n }
                } else {
                    c.defaultCheck = r.check(dv, "defaults.check", base: CheckConfig())
                }
            }
        }
        for (key, v) in entries {
            switch key {
            case "listen":
                guard let list = r.strings(v, key) else { break }
                var out: [ListenAddress] = []
                for s in list {
                    if let a = ListenAddress(s) { out.append(a) } else { r.fail(v, key, "\"\(s)\" is not ADDRESS:PORT") }
                }
                if out.isEmpty { r.fail(v, key, "needs at least one address") } else { c.listen = out }
            case "zones":
                if let z = r.strings(v, key) { c.zones = z.map { resolve($0, against: baseDirectory) } }
            case "max_udp_payload":
                if let n = r.int(v, key, range: 512...65535) { c.maxUDPPayload = n }
            case "threads":
                if let n = r.int(v, key, range: 1...256) { c.threads = n }
            case "chaos":
                for (k, cv) in r.mapping(v, key, known: ["version", "identity"]) {
                    let s = r.string(cv, "chaos.\(k)")
                    if k == "version" { c.chaosVersion = s } else { c.chaosIdentity = s }
                }
            case "tcp":
                for (k, tv) in r.mapping(v, key, known: ["idle_timeout", "max_connections"]) {
                    if k == "idle_timeout" {
                        if let d = r.duration(tv, "tcp.idle_timeout", range: .milliseconds(100)...(.seconds(3600))) {
                            c.tcpIdleTimeout = d
                        }
                    } else if let n = r.int(tv, "tcp.max_connections", range: 1...1_000_000) {
                        c.tcpMaxConnections = n
                    }
                }
            case "admin":
                if let s = r.string(v, key) {
                    if let a = ListenAddress(s) { c.admin = a } else { r.fail(v, key, "\"\(s)\" is not ADDRESS:PORT") }
                }
            case "admin_token": c.adminToken = r.string(v, key)
            case "user": c.user = r.string(v, key)
            case "group": c.group = r.string(v, key)
            case "state_file":
                if let s = r.string(v, key) { c.stateFile = resolve(s, against: baseDirectory) }
            case "pools":
                c.pools = r.pools(v, defaults: (c.defaultTTL, c.defaultCheck))
            case "tsig_keys": c.tsigKeys = r.tsigKeys(v)
            case "transfers": c.transfers = r.transfers(v)
            case "secondaries": c.secondaries = r.secondaries(v)
            default:
                break
            }
        }
        r.checkTransfers(c)
        return r.errors.isEmpty ? .success(c) : .failure(ConfigErrors(r.errors.sorted { $0.line < $1.line }))
    }

    static func resolve(_ path: String, against base: String?) -> String {
        guard let base, !path.hasPrefix("/") else { return path }
        return base + "/" + path
    }
}

/// `127.0.0.1:5353`, `[::1]:5353` or `localhost:53`.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init?(_ text: String) {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { return nil }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        }
        guard !hostPart.isEmpty, let port = Int(portPart), (0...65535).contains(port) else { return nil }
        self.host = String(hostPart)
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
