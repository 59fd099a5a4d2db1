import Balancer
import DNSWire
import Responder

/// Per-thread query statistics: plain integers touched only by their own UDP worker or event loop
/// (no atomics, no locks on the query path); the metrics endpoint sums them by asking each.
public struct QueryCounters: Sendable {
    public static let qtypes: [RRType] = [.a, .aaaa, .cname, .mx, .ns, .soa, .txt, .srv, .ptr, .caa, .ds, .any]
    public static let rcodes: [UInt16] = [0, 1, 2, 3, 4, 5, 16]
    /// Upper bounds of the response size buckets, bytes.
    public static let sizeBuckets = [64, 128, 256, 512, 1232, 4096, 65535]

    /// [transport][qtype bucket (last = other)][rcode bucket (last = other)]
    public internal(set) var queries = [Int](repeating: 0, count: 2 * (qtypes.count + 1) * (rcodes.count + 1))
    public internal(set) var sizes = [Int](repeating: 0, count: 2 * sizeBuckets.count)
    public internal(set) var sizeSum = [Int](repeating: 0, count: 2)
    public internal(set) var truncated = [Int](repeating: 0, count: 2)
    public internal(set) var dropped = [Int](repeating: 0, count: 2)
    /// UDP responses that response rate limiting sent truncated (slip) or dropped.
    public internal(set) var rrlSlipped = 0
    public internal(set) var rrlDropped = 0
    /// Queries with a COOKIE option: a valid server cookie of ours, or one to learn.
    public internal(set) var cookiesValid = 0
    public internal(set) var cookiesLearning = 0
    /// Queries with an ECS option: [family (IPv4, IPv6)][the answer used it (no, yes)].
    public internal(set) var clientSubnets = [Int](repeating: 0, count: 4)
    /// Answers per pool member (by answer counter id), copied from the thread's `AnswerCounts`
    /// when the counters are read.
    public internal(set) var answers = AnswerTotals()

    @inline(__always)
    mutating func record(_ o: QueryOutcome, _ transport: Transport) {
        let t = transport == .udp ? 0 : 1
        if o.length == 0 {
            dropped[t] &+= 1
            return
        }
        var q = QueryCounters.qtypes.count
        for i in 0..<QueryCounters.qtypes.count where QueryCounters.qtypes[i].rawValue == o.qtype { q = i; break }
        var r = QueryCounters.rcodes.count
        for i in 0..<QueryCounters.rcodes.count where QueryCounters.rcodes[i] == o.rcode { r = i; break }
        queries[(t * (QueryCounters.qtypes.count + 1) + q) * (QueryCounters.rcodes.count + 1) + r] &+= 1
        var b = 0
        while b < QueryCounters.sizeBuckets.count - 1 && o.length > QueryCounters.sizeBuckets[b] { b += 1 }
        sizes[t * QueryCounters.sizeBuckets.count + b] &+= 1
        sizeSum[t] &+= o.length
        if o.truncated { truncated[t] &+= 1 }
        if let family = o.clientSubnet {
            clientSubnets[(family == .ipv4 ? 0 : 2) + (o.usedClientSubnet ? 1 : 0)] &+= 1
        }
        switch o.cookie {
        case .none: break
        case .valid: cookiesValid &+= 1
        case .learning: cookiesLearning &+= 1
        }
    }

    mutating func add(_ o: QueryCounters) {
        for i in queries.indices { queries[i] &+= o.queries[i] }
        for i in sizes.indices { sizes[i] &+= o.sizes[i] }
        for i in 0..<2 {
            sizeSum[i] &+= o.sizeSum[i]
            truncated[i] &+= o.truncated[i]
            dropped[i] &+= o.dropped[i]
        }
        rrlSlipped &+= o.rrlSlipped
        rrlDropped &+= o.rrlDropped
        cookiesValid &+= o.cookiesValid
        cookiesLearning &+= o.cookiesLearning
        for i in clientSubnets.indices { clientSubnets[i] &+= o.clientSubnets[i] }
        answers.add(o.answers)
    }
}
