import DNSWire
import Responder

/// Per-event-loop query statistics: plain integers touched only on their own loop (no atomics,
/// no locks on the query path); the metrics endpoint sums them by visiting each loop.
struct QueryCounters: Sendable {
    static let qtypes: [RRType] = [.a, .aaaa, .cname, .mx, .ns, .soa, .txt, .srv, .ptr, .caa, .ds, .any]
    static let rcodes: [UInt16] = [0, 1, 2, 3, 4, 5, 16]
    /// Upper bounds of the response size buckets, bytes.
    static let sizeBuckets = [64, 128, 256, 512, 1232, 4096, 65535]

    /// [transport][qtype bucket (last = other)][rcode bucket (last = other)]
    var queries = [Int](repeating: 0, count: 2 * (qtypes.count + 1) * (rcodes.count + 1))
    var sizes = [Int](repeating: 0, count: 2 * sizeBuckets.count)
    var sizeSum = [Int](repeating: 0, count: 2)
    var truncated = [Int](repeating: 0, count: 2)
    var dropped = [Int](repeating: 0, count: 2)
    /// UDP responses that response rate limiting sent truncated (slip) or dropped.
    var rrlSlipped = 0
    var rrlDropped = 0
    /// Queries with a COOKIE option: a valid server cookie of ours, or one to learn.
    var cookiesValid = 0
    var cookiesLearning = 0

    @inline(__always)
    mutating func record(_ o: Outcome, _ transport: Transport) {
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
    }

    /// Prometheus text exposition of these counters.
    func prometheusText() -> String {
        let transports = ["udp", "tcp"]
        var s = "# HELP carousel_queries_total DNS queries answered, by transport, qtype and rcode.\n"
        s += "# TYPE carousel_queries_total counter\n"
        let nq = QueryCounters.qtypes.count + 1, nr = QueryCounters.rcodes.count + 1
        for t in 0..<2 {
            for q in 0..<nq {
                for r in 0..<nr {
                    let v = queries[(t * nq + q) * nr + r]
                    guard v > 0 else { continue }
                    let qt = q < QueryCounters.qtypes.count ? QueryCounters.qtypes[q].description : "other"
                    let rc = r < QueryCounters.rcodes.count ? (RCode(rawValue: QueryCounters.rcodes[r])?.description ?? "\(QueryCounters.rcodes[r])") : "other"
                    s += "carousel_queries_total{transport=\"\(transports[t])\",qtype=\"\(qt)\",rcode=\"\(rc)\"} \(v)\n"
                }
            }
        }
        s += "# HELP carousel_queries_dropped_total Messages dropped without an answer (responses, garbage).\n"
        s += "# TYPE carousel_queries_dropped_total counter\n"
        for t in 0..<2 { s += "carousel_queries_dropped_total{transport=\"\(transports[t])\"} \(dropped[t])\n" }
        s += "# HELP carousel_responses_truncated_total Responses sent with TC=1.\n"
        s += "# TYPE carousel_responses_truncated_total counter\n"
        for t in 0..<2 { s += "carousel_responses_truncated_total{transport=\"\(transports[t])\"} \(truncated[t])\n" }
        s += "# HELP carousel_rrl_limited_total UDP responses over the rate limit: sent truncated (slip) or dropped.\n"
        s += "# TYPE carousel_rrl_limited_total counter\n"
        s += "carousel_rrl_limited_total{action=\"slip\"} \(rrlSlipped)\n"
        s += "carousel_rrl_limited_total{action=\"drop\"} \(rrlDropped)\n"
        s += "# HELP carousel_cookies_total Queries with a DNS cookie: a valid server cookie (exempt from rate limiting), or a client cookie alone or a server cookie not valid here (sent a new one).\n"
        s += "# TYPE carousel_cookies_total counter\n"
        s += "carousel_cookies_total{result=\"valid\"} \(cookiesValid)\n"
        s += "carousel_cookies_total{result=\"new\"} \(cookiesLearning)\n"
        s += "# HELP carousel_response_size_bytes Size of DNS responses.\n"
        s += "# TYPE carousel_response_size_bytes histogram\n"
        for t in 0..<2 {
            var cumulative = 0
            for (b, bound) in QueryCounters.sizeBuckets.enumerated() {
                cumulative += sizes[t * QueryCounters.sizeBuckets.count + b]
                s += "carousel_response_size_bytes_bucket{transport=\"\(transports[t])\",le=\"\(bound)\"} \(cumulative)\n"
            }
            s += "carousel_response_size_bytes_bucket{transport=\"\(transports[t])\",le=\"+Inf\"} \(cumulative)\n"
            s += "carousel_response_size_bytes_sum{transport=\"\(transports[t])\"} \(sizeSum[t])\n"
            s += "carousel_response_size_bytes_count{transport=\"\(transports[t])\"} \(cumulative)\n"
        }
        return s
    }
}
