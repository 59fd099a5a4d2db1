import Balancer
import DNSZone

/// Settings that shape answers, fixed for the life of one snapshot.
public struct ResponderOptions: Sendable, Equatable {
    /// The largest UDP payload we send, whatever the client offers (RFC 6891 §6.2.5; 1232 is the
    /// DNS Flag Day 2020 value that avoids IP fragmentation).
    public var maxUDPPayload: UInt16 = 1232
    /// Answer to CH TXT `version.bind`/`version.server`; nil refuses it.
    public var version: String? = nil
    /// Answer to CH TXT `id.server`/`hostname.bind`; nil refuses it.
    public var identity: String? = nil
    /// Response rate limiting on UDP (`RateLimiter`): responses per second per client prefix
    /// and answer (0: off), the slip, and the prefix lengths.
    public var rrlLimit = 0
    public var rrlSlip = 2
    public var rrlIPv4Prefix = 24
    public var rrlIPv6Prefix = 56
    /// Sent to a query that asks for it (RFC 5001); nil: none.
    public var nsid: [UInt8]? = nil
    /// DNS Cookies (RFC 7873, RFC 9018): answer a COOKIE option with a server cookie made with
    /// this secret (two little-endian words of its 16 bytes); nil: ignore cookies.
    public var cookieSecret: CookieSecret? = nil
    /// The secret before a rollover: its cookies stay valid (and are replaced by new ones).
    public var cookiePreviousSecret: CookieSecret? = nil

    public init(maxUDPPayload: UInt16 = 1232, version: String? = nil, identity: String? = nil) {
        self.maxUDPPayload = maxUDPPayload
        self.version = version
        self.identity = identity
    }
}

/// Everything the query path reads, immutable: built off the query path and swapped whole
/// (DESIGN §4). A query runs start to finish on one snapshot.
public final class Snapshot: Sendable {
    public let catalog: Catalog
    public let options: ResponderOptions
    /// How pools attach to the catalog's address sets.
    public let plan: BalancePlan

    public init(catalog: Catalog, options: ResponderOptions, plan: BalancePlan = .empty) {
        self.catalog = catalog
        self.options = options
        self.plan = plan
    }
}

public enum Transport: Sendable {
    case udp, tcp
}

/// What happened to one query, for metrics and logs.
/// The 128-bit key of the server cookies.
public struct CookieSecret: Sendable, Equatable {
    public var k0: UInt64
    public var k1: UInt64

    public init(k0: UInt64, k1: UInt64) {
        self.k0 = k0
        self.k1 = k1
    }

    /// From its 16 bytes as written (hex in the config, as RFC 9018's test vectors and other
    /// servers write it): two little-endian words, as SipHash takes its key. Nil for another length.
    public init?(_ bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        var k0: UInt64 = 0
        var k1: UInt64 = 0
        for i in (0..<8).reversed() {
            k0 = k0 << 8 | UInt64(bytes[i])
            k1 = k1 << 8 | UInt64(bytes[8 + i])
        }
        self.init(k0: k0, k1: k1)
    }

    /// Random, for a server without a configured secret: cookies last as long as the process.
    public static func random() -> CookieSecret {
        var g = SystemRandomNumberGenerator()
        return CookieSecret(k0: g.next(), k1: g.next())
    }
}

public struct Outcome: Sendable, Equatable {
    /// Bytes of the response in the output buffer; 0 means drop silently.
    public var length: Int
    public var rcode: UInt16
    public var qtype: UInt16
    public var truncated: Bool
    /// Which answer this is, for response rate limiting: the RRset answered, the zone of a
    /// negative answer, the cut of a referral; 0 for errors (REFUSED, FORMERR, …).
    public var answerKey: UInt64 = 0
    /// The end of the question in the response (12 without one), where a truncated copy ends.
    public var questionEnd: Int = 12
    /// What the query's COOKIE option showed; `.valid` exempts it from rate limiting.
    public var cookie: DNSCookies.Verdict = .none

    public static let dropped = Outcome(length: 0, rcode: 0, qtype: 0, truncated: false)
}
