import Balancer
import DNSSEC
import DNSWire
import Health
import Transfer
import Yams

/// `carousel.yaml`: what to serve and how, read into the domain modules' own values (pools,
/// checks, transfer zones, keys). The keys are a contract that operators' scripts rely on: extend
/// them, never rename them. This module only reads the file and checks what the file alone can
/// tell (types, ranges, unknown keys, names that refer to each other); what needs the zones as
/// well is `Loading.Validator`'s. It must not open sockets or load zones.
public struct Config: Sendable, Equatable {
    /// Addresses to answer on, UDP and TCP on each.
    public var listen: [HostPort] = [HostPort(host: "127.0.0.1", port: 5353)]
    /// Directories of `*.zone` files, or single zone files, relative to the config file.
    public var zones: [String] = ["zones"]
    /// The largest UDP response we send (RFC 6891 §6.2.5).
    public var maxUDPPayload: Int = 1232
    /// CH TXT `version.bind` and `id.server` answers; nil refuses them.
    public var chaosVersion: String? = nil
    public var chaosIdentity: String? = nil
    /// Sent to queries that ask for it (EDNS NSID, RFC 5001): which server of a set answered.
    public var nsid: String? = nil
    /// DNS Cookies (RFC 7873): answer COOKIE options with RFC 9018 server cookies.
    public var cookies = true
    /// The 16-byte server cookie secret (32 hex digits), the same on every server of an anycast
    /// set; nil: a random one per process.
    public var cookieSecret: [UInt8]? = nil
    /// The secret before a rollover (RFC 9018 §5): cookies made with it stay valid while clients
    /// learn new ones. Set it to the old `cookie_secret` for an hour, then remove it.
    public var cookiePreviousSecret: [UInt8]? = nil
    /// A TCP connection with no query in progress is closed after this long.
    public var tcpIdleTimeout: Duration = .seconds(10)
    /// Open TCP connections; when full, the oldest idle one is closed for a new one.
    public var tcpMaxConnections: Int = 1000
    /// Once the first byte of a message (its length prefix) arrives, the whole message must
    /// follow within this long (slowloris).
    public var tcpMessageTimeout: Duration = .seconds(3)
    /// Queries answered on one connection before it is closed; 0 means no cap.
    public var tcpMaxQueries: Int = 0
    /// Response rate limiting on UDP.
    public var rrl = RRLConfig()
    /// The most records one zone may have; a bigger zone is refused with an error.
    public var maxZoneRecords: Int = 10_000_000
    /// Event loops (threads); nil means one per core.
    public var threads: Int? = nil
    /// Health and drain state, saved so that a restart is not blind.
    public var stateFile: String? = nil
    /// TTL cap and check applied to every pool unless it says otherwise.
    public var defaultTTL: Int = 30
    public var defaultCheck = Check()
    public var pools: [Pool] = []
    /// The admin HTTP listener (status, metrics, drain, reload); off when nil.
    public var admin: HostPort? = nil
    /// Bearer token for mutating admin requests (also `CAROUSEL_ADMIN_TOKEN`); required when the
    /// admin listener is not on loopback.
    public var adminToken: String? = nil
    /// Drop privileges to this user and group after binding (port 53 as root).
    public var user: String? = nil
    public var group: String? = nil
    /// Zone transfers: keys, zones served as a primary, zones pulled as a secondary.
    public var tsigKeys: [TSIGKey] = []
    public var transfers: [PrimaryZone] = []
    public var secondaries: [SecondaryZone] = []
    /// Zones signed online (DNSSEC), each with its key directory.
    public var dnssec: [DNSSECZone] = []
    /// The instances this one shares health with; nil: it decides alone.
    public var fleet: FleetSettings? = nil
    /// `catalog:`: a catalog zone (RFC 9432) of the `transfers:` zones, for secondaries.
    public var catalog: CatalogSettings? = nil
    /// `updates:`: zones that take dynamic updates (RFC 2136), signed.
    public var updates: [UpdatePolicy] = []
    /// `tls:`: DNS over TLS listeners (queries and zone transfers); nil: none.
    public var tls: TLSSettings? = nil
    /// Where each pool, transfer and secondary is defined (same order as those lists), for
    /// messages that point back to it.
    public var lines = Lines()

    public struct Lines: Sendable, Equatable {
        public var pools: [Int] = []
        public var transfers: [Int] = []
        public var secondaries: [Int] = []
        public var dnssec: [Int] = []
        public var fleet = 0
        public var catalog = 0
        public var tls = 0
        public var updates: [Int] = []
        public init() {}
    }

    public init() {}

    /// A config file bigger than this is refused before YAML parsing (a runaway generator, or
    /// the wrong file).
    public static let maxFileSize = 1 << 20

    /// Reads and checks a config file's text; `file` names it in errors. Paths in it are taken
    /// relative to `baseDirectory`.
    public static func parse(_ text: String, file: String, baseDirectory: String? = nil) -> Result<Config, Problems> {
        var r = YAMLReader(file: file)
        if text.utf8.count > maxFileSize {
            return .failure(
                Problems([
                    Problem(
                        file: file, line: 1,
                        message: "the config is \(text.utf8.count) bytes; the limit is \(maxFileSize)")
                ]))
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let YamlError.scanner(_, problem, mark, _), let YamlError.parser(_, problem, mark, _),
            let YamlError.composer(_, problem, mark, _)
        {
            return .failure(Problems([Problem(file: file, line: mark.line, message: "YAML: \(problem)")]))
        } catch {
            return .failure(Problems([Problem(file: file, line: 1, message: "YAML: \(error)")]))
        }
        var c = Config()
        guard let root else { return .success(c) }  // An empty file means all defaults.
        let entries = r.mapping(root, "", known: Set(Config.keys.keys))
        // Defaults and keys first: pools and transfers build on them wherever they appear.
        var defaultCheck = CheckFields()
        for (key, v) in entries where key == "defaults" {
            for (k, dv) in r.mapping(v, key, known: ["ttl", "check"]) {
                if k == "ttl" {
                    if let n = r.int(dv, "defaults.ttl", range: 0...86400) { c.defaultTTL = n }
                } else {
                    defaultCheck = r.check(dv, "defaults.check", base: CheckFields())
                }
            }
        }
        c.defaultCheck = defaultCheck.check
        for (key, v) in entries where key == "tsig_keys" {
            c.tsigKeys = r.tsigKeys(v).map(\.0)
        }
        let context = KeyContext(baseDirectory: baseDirectory, defaultCheck: defaultCheck)
        for (key, v) in entries {
            Config.keys[key]?(&r, key, v, &c, context)
        }
        r.checkStoredFiles(c)
        return r.errors.isEmpty ? .success(c) : .failure(Problems(r.errors.sorted { $0.line < $1.line }))
    }

    static func resolve(_ path: String, against base: String?) -> String {
        guard let base, !path.hasPrefix("/") else { return path }
        return base + "/" + path
    }

    /// What the reader of one top-level key gets besides its node: where relative paths start, and
    /// the `defaults.check` pools inherit.
    struct KeyContext {
        let baseDirectory: String?
        let defaultCheck: CheckFields
    }

    typealias KeyReader = @Sendable (inout YAMLReader, String, Node, inout Config, KeyContext) -> Void

    /// Every top-level key of `carousel.yaml` (the contract scripts rely on) and how it is read:
    /// one table, so a key is known exactly when it is read. `defaults` and `tsig_keys` are read
    /// before the others (pools and transfers build on them), so their readers here do nothing.
    static let keys: [String: KeyReader] = [
        "defaults": { _, _, _, _, _ in },
        "tsig_keys": { _, _, _, _, _ in },
        "listen": { r, key, v, c, _ in
            guard let list = r.strings(v, key) else { return }
            var out: [HostPort] = []
            for s in list {
                if let a = HostPort(s) { out.append(a) } else { r.fail(v, key, "\"\(s)\" is not ADDRESS:PORT") }
            }
            if out.isEmpty { r.fail(v, key, "needs at least one address") } else { c.listen = out }
        },
        "zones": { r, key, v, c, x in
            if let z = r.strings(v, key) { c.zones = z.map { resolve($0, against: x.baseDirectory) } }
        },
        "max_udp_payload": { r, key, v, c, _ in
            if let n = r.int(v, key, range: 512...65535) { c.maxUDPPayload = n }
        },
        "threads": { r, key, v, c, _ in
            if let n = r.int(v, key, range: 1...256) { c.threads = n }
        },
        "chaos": { r, key, v, c, _ in
            for (k, cv) in r.mapping(v, key, known: ["version", "identity"]) {
                let s = r.string(cv, "chaos.\(k)")
                if k == "version" { c.chaosVersion = s } else { c.chaosIdentity = s }
            }
        },
        "nsid": { r, key, v, c, _ in
            guard let t = r.string(v, key) else { return }
            if t.isEmpty || t.utf8.count > 512 { r.fail(v, key, "expected 1 to 512 bytes of text") } else { c.nsid = t }
        },
        "cookies": { r, key, v, c, _ in
            if let b = r.bool(v, key) { c.cookies = b }
        },
        "cookie_secret": { r, key, v, c, _ in c.cookieSecret = r.cookieSecret(v, key) ?? c.cookieSecret },
        "cookie_secret_previous": { r, key, v, c, _ in
            c.cookiePreviousSecret = r.cookieSecret(v, key) ?? c.cookiePreviousSecret
        },
        "tcp": { r, key, v, c, _ in
            let keys: Set = ["idle_timeout", "max_connections", "message_timeout", "max_queries"]
            for (k, tv) in r.mapping(v, key, known: keys) {
                switch k {
                case "idle_timeout":
                    if let d = r.duration(tv, "tcp.idle_timeout", range: .milliseconds(100)...(.seconds(3600))) {
                        c.tcpIdleTimeout = d
                    }
                case "message_timeout":
                    if let d = r.duration(tv, "tcp.message_timeout", range: .milliseconds(100)...(.seconds(600))) {
                        c.tcpMessageTimeout = d
                    }
                case "max_queries":
                    if let n = r.int(tv, "tcp.max_queries", range: 0...1_000_000_000) { c.tcpMaxQueries = n }
                default:
                    if let n = r.int(tv, "tcp.max_connections", range: 1...1_000_000) { c.tcpMaxConnections = n }
                }
            }
        },
        "rrl": { r, _, v, c, _ in c.rrl = r.rrl(v) },
        "limits": { r, key, v, c, _ in
            for (k, lv) in r.mapping(v, key, known: ["zone_records"]) where k == "zone_records" {
                if let n = r.int(lv, "limits.zone_records", range: 1...100_000_000) { c.maxZoneRecords = n }
            }
        },
        "admin": { r, key, v, c, _ in
            guard let s = r.string(v, key) else { return }
            if let a = HostPort(s) { c.admin = a } else { r.fail(v, key, "\"\(s)\" is not ADDRESS:PORT") }
        },
        "admin_token": { r, key, v, c, _ in c.adminToken = r.string(v, key) },
        "user": { r, key, v, c, _ in c.user = r.string(v, key) },
        "group": { r, key, v, c, _ in c.group = r.string(v, key) },
        "state_file": { r, key, v, c, x in
            if let s = r.string(v, key) { c.stateFile = resolve(s, against: x.baseDirectory) }
        },
        "pools": { r, _, v, c, x in
            let pools = r.pools(v, defaults: (c.defaultTTL, x.defaultCheck))
            c.pools = pools.map(\.0)
            c.lines.pools = pools.map(\.line)
        },
        "transfers": { r, _, v, c, _ in
            let zones = r.transfers(v, keys: c.tsigKeys)
            c.transfers = zones.map(\.0)
            c.lines.transfers = zones.map(\.line)
        },
        "dnssec": { r, _, v, c, x in
            let zones = r.dnssecZones(v, baseDirectory: x.baseDirectory)
            c.dnssec = zones.map(\.0)
            c.lines.dnssec = zones.map(\.line)
        },
        "fleet": { r, _, v, c, _ in
            if let (fleet, line) = r.fleet(v, keys: c.tsigKeys) {
                c.fleet = fleet
                c.lines.fleet = line
            }
        },
        "catalog": { r, _, v, c, _ in
            if let (catalog, line) = r.catalog(v, keys: c.tsigKeys) {
                c.catalog = catalog
                c.lines.catalog = line
            }
        },
        "updates": { r, _, v, c, x in
            let zones = r.updates(v, keys: c.tsigKeys, baseDirectory: x.baseDirectory)
            c.updates = zones.map(\.0)
            c.lines.updates = zones.map(\.line)
        },
        "tls": { r, _, v, c, x in
            if let (tls, line) = r.tlsSettings(v, baseDirectory: x.baseDirectory) {
                c.tls = tls
                c.lines.tls = line
            }
        },
        "secondaries": { r, _, v, c, x in
            let zones = r.secondaries(v, keys: c.tsigKeys, baseDirectory: x.baseDirectory)
            c.secondaries = zones.map(\.0)
            c.lines.secondaries = zones.map(\.line)
        },
    ]
}

/// Response rate limiting (the RRL of BIND, NSD and Knot): UDP responses per second to one
/// client prefix for one answer. Over the limit, every `slip`-th response goes out truncated
/// (TC=1, so a real client retries over TCP) and the others are dropped.
public struct RRLConfig: Sendable, Equatable {
    /// 0 turns rate limiting off.
    public var responsesPerSecond = 200
    /// 0: never slip (drop all); 1: every limited response is a TC=1 one; N: every Nth.
    public var slip = 2
    public var ipv4Prefix = 24
    public var ipv6Prefix = 56

    public init() {}
    public var enabled: Bool { responsesPerSecond > 0 }
}

extension YAMLReader {
    /// A DNS Cookie secret: 32 hex digits (16 bytes); nil, reported, for anything else.
    mutating func cookieSecret(_ v: Node, _ key: String) -> [UInt8]? {
        guard let t = string(v, key) else { return nil }
        let digits = Array(t.utf8)
        let bytes = stride(from: 0, to: digits.count - 1, by: 2).compactMap {
            UInt8(String(decoding: digits[$0...($0 + 1)], as: UTF8.self), radix: 16)
        }
        guard digits.count == 32 && bytes.count == 16 && t.allSatisfy(\.isHexDigit) else {
            fail(v, key, "expected 32 hex digits (16 bytes)")
            return nil
        }
        return bytes
    }

    /// `rrl: { responses_per_second: 200, slip: 2, ipv4_prefix: 24, ipv6_prefix: 56 }`, or
    /// `rrl: off`.
    mutating func rrl(_ node: Node) -> RRLConfig {
        var c = RRLConfig()
        if let scalar = node.scalar, ["off", "false", "no"].contains(scalar.string) {
            c.responsesPerSecond = 0
            return c
        }
        let keys: Set = ["responses_per_second", "slip", "ipv4_prefix", "ipv6_prefix"]
        for (k, v) in mapping(node, "rrl", known: keys) {
            switch k {
            case "responses_per_second":
                if let n = int(v, "rrl.responses_per_second", range: 0...1_000_000) { c.responsesPerSecond = n }
            case "slip":
                if let n = int(v, "rrl.slip", range: 0...10) { c.slip = n }
            case "ipv4_prefix":
                if let n = int(v, "rrl.ipv4_prefix", range: 8...32) { c.ipv4Prefix = n }
            default:
                if let n = int(v, "rrl.ipv6_prefix", range: 16...128) { c.ipv6Prefix = n }
            }
        }
        return c
    }
}
