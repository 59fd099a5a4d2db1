import DNSWire
import Listeners

/// The query counters in the Prometheus text format (written beside the swift-prometheus
/// registry's output: they are kept per thread, without locks, and summed at scrape time).
enum QueryCountersText {
    static func text(_ c: QueryCounters) -> String {
        let transports = ["udp", "tcp"]
        var s = "# HELP carousel_queries_total DNS queries answered, by transport, qtype and rcode.\n"
        s += "# TYPE carousel_queries_total counter\n"
        let nq = QueryCounters.qtypes.count + 1, nr = QueryCounters.rcodes.count + 1
        for t in 0..<2 {
            for q in 0..<nq {
                for r in 0..<nr {
                    let v = c.queries[(t * nq + q) * nr + r]
                    guard v > 0 else { continue }
                    let qt = q < QueryCounters.qtypes.count ? QueryCounters.qtypes[q].description : "other"
                    let rc =
                        r < QueryCounters.rcodes.count
                        ? (RCode(rawValue: QueryCounters.rcodes[r])?.description ?? "\(QueryCounters.rcodes[r])")
                        : "other"
                    s += "carousel_queries_total{transport=\"\(transports[t])\",qtype=\"\(qt)\",rcode=\"\(rc)\"} \(v)\n"
                }
            }
        }
        s += "# HELP carousel_queries_dropped_total Messages dropped without an answer (responses, garbage).\n"
        s += "# TYPE carousel_queries_dropped_total counter\n"
        for t in 0..<2 { s += "carousel_queries_dropped_total{transport=\"\(transports[t])\"} \(c.dropped[t])\n" }
        s += "# HELP carousel_responses_truncated_total Responses sent with TC=1.\n"
        s += "# TYPE carousel_responses_truncated_total counter\n"
        for t in 0..<2 { s += "carousel_responses_truncated_total{transport=\"\(transports[t])\"} \(c.truncated[t])\n" }
        s += "# HELP carousel_rrl_limited_total UDP responses over the rate limit: sent truncated (slip) or dropped.\n"
        s += "# TYPE carousel_rrl_limited_total counter\n"
        s += "carousel_rrl_limited_total{action=\"slip\"} \(c.rrlSlipped)\n"
        s += "carousel_rrl_limited_total{action=\"drop\"} \(c.rrlDropped)\n"
        s +=
            "# HELP carousel_cookies_total Queries with a DNS cookie: a valid server cookie (exempt from rate limiting), or a client cookie alone or a server cookie not valid here (sent a new one).\n"
        s += "# TYPE carousel_cookies_total counter\n"
        s += "carousel_cookies_total{result=\"valid\"} \(c.cookiesValid)\n"
        s += "carousel_cookies_total{result=\"new\"} \(c.cookiesLearning)\n"
        s +=
            "# HELP carousel_ecs_queries_total Queries with an EDNS Client Subnet option, by family and whether the answer used it (a sticky pool's).\n"
        s += "# TYPE carousel_ecs_queries_total counter\n"
        for (i, (family, used)) in [("ipv4", "false"), ("ipv4", "true"), ("ipv6", "false"), ("ipv6", "true")]
            .enumerated()
        {
            s += "carousel_ecs_queries_total{family=\"\(family)\",used=\"\(used)\"} \(c.clientSubnets[i])\n"
        }
        s += "# HELP carousel_response_size_bytes Size of DNS responses.\n"
        s += "# TYPE carousel_response_size_bytes histogram\n"
        for t in 0..<2 {
            var cumulative = 0
            for (b, bound) in QueryCounters.sizeBuckets.enumerated() {
                cumulative += c.sizes[t * QueryCounters.sizeBuckets.count + b]
                s +=
                    "carousel_response_size_bytes_bucket{transport=\"\(transports[t])\",le=\"\(bound)\"} \(cumulative)\n"
            }
            s += "carousel_response_size_bytes_bucket{transport=\"\(transports[t])\",le=\"+Inf\"} \(cumulative)\n"
            s += "carousel_response_size_bytes_sum{transport=\"\(transports[t])\"} \(c.sizeSum[t])\n"
            s += "carousel_response_size_bytes_count{transport=\"\(transports[t])\"} \(cumulative)\n"
        }
        return s
    }
}
