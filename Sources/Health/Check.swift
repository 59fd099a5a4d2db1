import DNSWire

/// How one address is probed: a kind with what that kind needs, the port, and how often and how
/// patiently. Pools that share an address and an equal check share one probe target (health is
/// keyed by address and check). Built by the config module from `check:` and `defaults.check`;
/// the prober runs it.
public struct Check: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// A TCP connect.
        case tcp
        /// An HTTP GET; `insecure` skips certificate verification for https.
        case http(HTTPProbe)
        case https(HTTPProbe, insecure: Bool)
        /// A DNS query whose rcode must be one of the accepted ones.
        case dns(DNSProbe)
        /// A program run with CAROUSEL_ADDRESS and CAROUSEL_PORT set; exit 0 means up.
        case exec(command: [String])
        /// Not checked: always up.
        case none
        /// The backend's own agent (HAProxy's agent-check protocol): a TCP connect, one line read.
        /// Not a check of up and down: see ``AgentCheck``.
        case agent

        /// The kind's name as the config writes it (`type:`).
        public var name: String {
            switch self {
            case .tcp: "tcp"
            case .http: "http"
            case .https: "https"
            case .dns: "dns"
            case .exec: "exec"
            case .none: "none"
            case .agent: "agent"
            }
        }
    }

    public var kind: Kind
    public var port: Int
    public var timing: Timing

    public init(kind: Kind = .tcp, port: Int = 80, timing: Timing = Timing()) {
        self.kind = kind
        self.port = port
        self.timing = timing
    }

    /// The port a kind uses unless one is given.
    public static func defaultPort(_ kind: String) -> Int {
        switch kind {
        case "https": 443
        case "dns": 53
        default: 80
        }
    }

    public var isChecked: Bool { kind != .none }
}

/// A pool's `agent:`: where each member's agent listens and how often it is asked. Its targets are
/// `(address, Check(kind: .agent, port:, timing:))`, probed beside the pool's check.
public struct AgentCheck: Sendable, Hashable {
    public var port: Int
    public var interval: Duration
    public var timeout: Duration

    public init(port: Int, interval: Duration = .seconds(2), timeout: Duration = .seconds(1)) {
        self.port = port
        self.interval = interval
        self.timeout = timeout
    }

    /// The probe target's check for a member's agent.
    public var check: Check {
        Check(kind: .agent, port: port, timing: Timing(interval: interval, timeout: timeout, rise: 1, fall: 1))
    }
}

/// What an HTTP(S) check asks and accepts.
public struct HTTPProbe: Sendable, Hashable {
    public var path: String
    /// The Host header, and the TLS server name for https unless it is an address.
    public var host: String?
    public var expect: [Int]
    /// A substring the first 4 KiB of the body must hold.
    public var body: String?

    public init(path: String = "/", host: String? = nil, expect: [Int] = [200], body: String? = nil) {
        self.path = path
        self.host = host
        self.expect = expect
        self.body = body
    }
}

/// What a DNS check asks and accepts.
public struct DNSProbe: Sendable, Hashable {
    /// The name asked (the root when nil) and its type (a mnemonic, `A` by default).
    public var query: String?
    public var qtype: String
    /// Accepted rcodes (numbers; NOERROR is 0).
    public var rcodes: [Int]

    public init(query: String? = nil, qtype: String = "A", rcodes: [Int] = [0]) {
        self.query = query
        self.qtype = qtype
        self.rcodes = rcodes
    }
}

/// How often a check runs and how many results in a row change a state.
public struct Timing: Sendable, Hashable {
    public var interval: Duration
    public var timeout: Duration
    /// Consecutive successes to come back up, failures to go down.
    public var rise: Int
    public var fall: Int

    public init(interval: Duration = .seconds(5), timeout: Duration = .seconds(2), rise: Int = 2, fall: Int = 3) {
        self.interval = interval
        self.timeout = timeout
        self.rise = rise
        self.fall = fall
    }
}

extension Check {
    /// What is probed, as stable text for logs and the state file:
    /// `http:8080/healthz host=www.example.com expect=200 body="ok"`. Timing is left out: it
    /// changes how often we look, not what we look at, so a saved state stays valid when only the
    /// timing changes.
    public var fingerprint: String {
        switch kind {
        case .none:
            return "none"
        case .tcp:
            return "tcp:\(port)"
        case .agent:
            return "agent:\(port)"
        case .http(let h), .https(let h, _):
            var s = "\(kind.name):\(port)\(h.path)"
            if let host = h.host { s += " host=\(host)" }
            s += " expect=" + h.expect.map(String.init).joined(separator: ",")
            if let body = h.body { s += " body=\(quoted(body))" }
            if case .https(_, insecure: true) = kind { s += " insecure" }
            return s
        case .dns(let d):
            return "dns:\(port) \(d.query ?? ".") \(d.qtype) rcodes=" + d.rcodes.map(String.init).joined(separator: ",")
        case .exec(let command):
            return "exec:\(port) " + command.map(shellWord).joined(separator: " ")
        }
    }
}

/// `"ok"` with `"` and `\` escaped, so a body with spaces stays one readable token.
public func quoted(_ s: String) -> String {
    var out = "\""
    for c in s {
        if c == "\"" || c == "\\" { out.append("\\") }
        out.append(c)
    }
    return out + "\""
}

/// A command word as a shell would need it to read it back: bare when safe, else single-quoted.
func shellWord(_ s: String) -> String {
    let safe =
        !s.isEmpty
        && s.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || "/._-=:,+@%".utf8.contains(b)
        }
    guard !safe else { return s }
    var out = "'"
    for c in s {
        if c == "'" { out += "'\\''" } else { out.append(c) }
    }
    return out + "'"
}
