import Balancer
import DNSZone

/// Settings that shape answers, fixed for the life of one snapshot.
public struct ResponderOptions: Sendable, Equatable {
    /// The largest UDP payload we send, whatever the client offers (RFC 6891 §6.2.5; 1232 is the
    /// DNS Flag Day 2020 value that avoids IP fragmentation).
    public var maxUDPPayload: UInt16 = 1232
    /// Answer to CH TXT `version.bind`/`version.server`; nil refuses it.
    public var version: String? = nil {
        didSet { versionTXT = version.map(Self.txtRData) }
    }
    /// Answer to CH TXT `id.server`/`hostname.bind`; nil refuses it.
    public var identity: String? = nil {
        didSet { identityTXT = identity.map(Self.txtRData) }
    }
    /// The two answers as TXT rdata, made when they are set: answering allocates nothing.
    public private(set) var versionTXT: [UInt8]? = nil
    public private(set) var identityTXT: [UInt8]? = nil
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
        self.versionTXT = version.map(Self.txtRData)
        self.identityTXT = identity.map(Self.txtRData)
    }

    /// `text` as TXT rdata: character-strings of up to 255 bytes (RFC 1035 §3.3.14).
    static func txtRData(_ text: String) -> [UInt8] {
        var rdata: [UInt8] = []
        var bytes = Array(text.utf8)[...]
        repeat {
            let chunk = bytes.prefix(255)
            rdata.append(UInt8(chunk.count))
            rdata += chunk
            bytes = bytes.dropFirst(chunk.count)
        } while !bytes.isEmpty
        return rdata
    }
}

/// Everything the query path reads, immutable: built off the query path and swapped whole
///. A query runs start to finish on one snapshot.
public final class Snapshot: Sendable {
    public let catalog: Catalog
    public let options: ResponderOptions
    /// How pools attach to the catalog's address sets.
    public let plan: BalancePlan
    /// How each zone of the catalog is signed (same indices as `catalog.zones`; nil: unsigned).
    /// Empty when no zone is.
    public let signing: [ZoneSigning?]

    public init(catalog: Catalog, options: ResponderOptions, plan: BalancePlan = .empty, signing: [ZoneSigning?] = []) {
        self.catalog = catalog
        self.options = options
        self.plan = plan
        self.signing = signing.contains { $0 != nil } ? signing : []
    }
}

public enum Transport: Sendable {
    case udp, tcp
}
