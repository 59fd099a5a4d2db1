/// How one address is probed. Equal checks on the same address are one probe target, however
/// many pools share it (DESIGN §6: health is keyed by (address, check)).
public struct CheckConfig: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case tcp, http, https, dns, exec, none
    }

    public var type: Kind = .tcp
    public var port: Int = 80
    /// HTTP(S): request path, Host header (and SNI), accepted status codes, body substring.
    public var path: String = "/"
    public var host: String? = nil
    public var expect: [Int] = [200]
    public var body: String? = nil
    /// HTTPS: skip certificate verification.
    public var insecure: Bool = false
    /// DNS: the name and type asked, and the accepted rcodes (numbers; NOERROR = 0).
    public var query: String? = nil
    public var qtype: String = "A"
    public var rcodes: [Int] = [0]
    /// exec: the program and its arguments (no shell); the address and port come in the
    /// environment as CAROUSEL_ADDRESS and CAROUSEL_PORT.
    public var command: [String] = []
    public var interval: Duration = .seconds(5)
    public var timeout: Duration = .seconds(2)
    public var rise: Int = 2
    public var fall: Int = 3

    public init() {}

    static func defaultPort(_ kind: Kind) -> Int {
        switch kind {
        case .https: 443
        case .dns: 53
        default: 80
        }
    }
}

/// A balanced name: the A/AAAA records of its owner(s) in the zone files are the members.
public struct PoolConfig: Sendable, Hashable {
    public enum Order: String, Sendable, Hashable, CaseIterable {
        case rotate, shuffle, weighted, fixed
    }

    public enum AllDown: String, Sendable, Hashable, CaseIterable {
        case serveAll = "serve_all"
        case servfail
        case nodata
        case fallback
    }

    /// An owner name, or `*.suffix` for every owner below suffix.
    public var name: String
    public var ttl: Int
    public var maxAnswers: Int? = nil
    public var order: Order = .rotate
    /// Address → weight, for `order: weighted` (others weigh 1).
    public var weights: [String: Int] = [:]
    public var allDown: AllDown = .serveAll
    public var fallback: [String] = []
    public var check: CheckConfig
    /// Where the pool is defined, for messages that point back to it.
    public var line: Int

    public init(name: String, ttl: Int, check: CheckConfig, line: Int) {
        self.name = name
        self.ttl = ttl
        self.check = check
        self.line = line
    }
}
