import DNSWire

/// What happened to one query, for metrics, logs and rate limiting.
public struct QueryOutcome: Sendable, Equatable {
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
    public var cookie: DNSCookies.Status = .none
    /// The family of the query's ECS option, if it had one, and whether the answer depended on it
    /// (a sticky pool's, with a scope above 0).
    public var clientSubnet: ClientSubnet.Family? = nil
    public var usedClientSubnet = false
    /// The `SigningGate` said RRL will drop or slip this answer, and a signature it needed was not
    /// made: the answer was cut to TC=1 unsigned.
    public var signaturesWithheld = false

    public static let dropped = QueryOutcome(length: 0, rcode: 0, qtype: 0, truncated: false)
}
