import Balancer
import CoreMetrics
import Health
import Listeners
import Prober
import Prometheus
import Responder
import Runtime
import TransferService

/// `GET /metrics`: the Prometheus text format. Reload, transfer and connection metrics go through
/// swift-metrics into a swift-prometheus registry; the query counters, kept per thread without
/// locks, and the per-target series, kept by the prober, are written beside them at scrape time
/// (the registry's cost per new label set grows with the set count: 10,000 targets took ~20 s).
public final class MetricsExporter: Sendable {
    public let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    /// `carousel_tcp_connections_open` and `carousel_tcp_connections_refused` (made per render:
    /// the descriptor type is not Sendable).
    static var tcpOpen: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "carousel", subsystem: "tcp", metricName: "connections", unitName: "open",
            helpText: "TCP connections open now.")
    }
    static var tcpRefused: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "carousel", subsystem: "tcp", metricName: "connections", unitName: "refused",
            helpText: "TCP connections closed at once because the cap was reached.")
    }

    func render(_ runtime: CarouselRuntime) async -> String {
        let server = runtime.server
        registry.makeGauge(descriptor: Self.tcpOpen).set(Int64(server.stats.tcpOpen.load(ordering: .relaxed)))
        registry.makeGauge(descriptor: Self.tcpRefused).set(Int64(server.stats.tcpRefused.load(ordering: .relaxed)))
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        let counters = await server.queryCounters()
        let targets = await runtime.prober.status()
        return MetricsExporter.withHelp(String(decoding: bytes, as: UTF8.self)) + MetricsExporter.targetText(targets)
            + MetricsExporter.memberText(await runtime.snapshot.plan, await runtime.healthView(), counters.answers)
            + QueryCountersText.text(counters) + ServerStatsText.text(server.stats)
            + MetricsExporter.signingText(server.signingTotals())
            + (await runtime.fleet.metrics().map(MetricsExporter.fleetText) ?? "")
    }

    /// The help text of the series counted through swift-metrics (whose API has no place for it).
    static let help: [String: String] = [
        "carousel_notify_total": "NOTIFY messages sent to secondaries, by result (answered or unanswered).",
        "carousel_reload_failures_total": "Config or zone file loads that failed; the last good version stays.",
        "carousel_reloads_total": "Snapshots rebuilt after a reload or an edit, since start.",
        "carousel_secondary_refreshes_total": "Refresh rounds of zones pulled from a primary, by result.",
        "carousel_transfers_total": "Zone transfers answered (AXFR, IXFR, a fleet's included), by type and rcode.",
        "carousel_zone_published_serial": "The serial published to secondaries, by zone.",
    ]

    /// The registry's text with a `# HELP` line before each `# TYPE` line that has none (promtool
    /// asks for one).
    static func withHelp(_ text: String) -> String {
        var out: [Substring] = []
        var previous: Substring = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# TYPE "), !previous.hasPrefix("# HELP ") {
                let name = line.dropFirst(7).prefix { $0 != " " }
                out.append("# HELP \(name) \(help[String(name)] ?? "Carousel's \(name).")")
            }
            out.append(line)
            previous = line
        }
        return out.joined(separator: "\n")
    }

    /// A fleet: whether this instance is alone, the members it hears, its exchanges with them.
    static func fleetText(_ f: FleetMetrics) -> String {
        func metric(_ name: String, _ type: String, _ help: String, _ lines: [(String, Int)]) -> String {
            "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n" + lines.map { "\(name)\($0.0) \($0.1)\n" }.joined()
        }
        return metric(
            "carousel_fleet_alone", "gauge", "1 while no fleet peer is heard (serving from own probes), else 0.",
            [("", f.alone ? 1 : 0)])
            + metric(
                "carousel_fleet_master", "gauge",
                "1 while this instance is the fleet's master (it publishes the publish_health zones' versions), else 0.",
                [("", f.master ? 1 : 0)])
            + metric(
                "carousel_fleet_members_fresh", "gauge", "Fleet members heard within stale_after, this one included.",
                [("", f.fresh)])
            + metric(
                "carousel_fleet_exchanges_total", "counter",
                "Signed exchanges with fleet peers (SOA, IXFR), by result.",
                [("{result=\"ok\"}", f.exchangesOK), ("{result=\"failed\"}", f.exchangesFailed)])
    }

    /// DNSSEC: the signature caches of the query threads, and the signatures they made.
    static func signingText(_ t: SigningTotals) -> String {
        func metric(_ name: String, _ type: String, _ help: String, _ lines: [(String, Int)]) -> String {
            "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n" + lines.map { "\(name)\($0.0) \($0.1)\n" }.joined()
        }
        return metric(
            "carousel_dnssec_signature_cache_hits_total", "counter",
            "Signed RRsets answered from a query thread's signature cache.", [("", t.hits)])
            + metric(
                "carousel_dnssec_signature_cache_misses_total", "counter", "Signed RRsets that needed a new signature.",
                [("", t.misses)])
            + metric(
                "carousel_dnssec_signature_cache_entries", "gauge", "Signatures held in the query threads' caches now.",
                [("", t.cached)])
            + metric(
                "carousel_dnssec_signatures_total", "counter", "Signatures made on the query path, by algorithm.",
                [("{algorithm=\"ECDSAP256SHA256\"}", t.ecdsa), ("{algorithm=\"ED25519\"}", t.ed25519)])
            + metric(
                "carousel_dnssec_rrl_unsigned_total", "counter",
                "Signatures not made because response rate limiting was about to drop or slip the answer.",
                [("", t.limited)])
            + metric(
                "carousel_dnssec_signing_failures_total", "counter", "Signatures the crypto library failed to make.",
                [("", t.failures)])
    }

    /// Per pool member: its effective weight now, and the answers that held it and put it first.
    static func memberText(_ plan: BalancePlan, _ view: HealthView, _ totals: AnswerTotals) -> String {
        var weights: [Int32: Double] = [:]
        for set in plan.sets {
            for m in set.targets.indices {
                let w = set.isUsable(m, view) ? set.effectiveWeight(m, view) : 0
                weights[set.counters[m]] = max(weights[set.counters[m]] ?? 0, w)
            }
        }
        var weight =
            "# HELP carousel_member_weight A pool member's weight in answers now: configured × agent × slow start, 0 while out.\n# TYPE carousel_member_weight gauge\n"
        var answers =
            "# HELP carousel_member_answers_total Answers of a pool that held the member.\n# TYPE carousel_member_answers_total counter\n"
        var firsts =
            "# HELP carousel_member_first_answers_total Answers of a pool that put the member first.\n# TYPE carousel_member_first_answers_total counter\n"
        for id in weights.keys.sorted() {
            let key = plan.counterKeys[Int(id)]
            let labels = "pool=\"\(escaped(key.pool))\",address=\"\(escaped(key.address))\""
            weight += "carousel_member_weight{\(labels)} \(weights[id]!)\n"
            answers += "carousel_member_answers_total{\(labels)} \(totals.answers(id))\n"
            firsts += "carousel_member_first_answers_total{\(labels)} \(totals.firsts(id))\n"
        }
        return weight + answers + firsts
    }

    /// Per-target series: state, drain, probe durations (histogram) and state transitions.
    static func targetText(_ targets: [TargetStatus]) -> String {
        var up =
            "# HELP carousel_target_up Probe target state: 1 up, 0 down, -1 unknown.\n# TYPE carousel_target_up gauge\n"
        var drained =
            "# HELP carousel_target_drained 1 while the address is drained.\n# TYPE carousel_target_drained gauge\n"
        var durations =
            "# HELP carousel_probe_duration_seconds How long each probe took.\n# TYPE carousel_probe_duration_seconds histogram\n"
        var transitions =
            "# HELP carousel_target_transitions_total State changes of a target, by the state entered.\n# TYPE carousel_target_transitions_total counter\n"
        for t in targets {
            let labels = "address=\"\(escaped(t.address))\",check=\"\(escaped(t.fingerprint))\""
            up += "carousel_target_up{\(labels)} \(t.state == .up ? 1 : t.state == .down ? 0 : -1)\n"
            drained += "carousel_target_drained{\(labels)} \(t.drained ? 1 : 0)\n"
            var cumulative = 0
            for (b, n) in t.stats.buckets.enumerated() {
                cumulative += n
                let le = b < ProbeStats.bounds.count ? "\(ProbeStats.bounds[b])" : "+Inf"
                durations += "carousel_probe_duration_seconds_bucket{\(labels),le=\"\(le)\"} \(cumulative)\n"
            }
            durations += "carousel_probe_duration_seconds_sum{\(labels)} \(t.stats.sum)\n"
            durations += "carousel_probe_duration_seconds_count{\(labels)} \(t.stats.count)\n"
            for (state, n) in [("up", t.stats.toUp), ("down", t.stats.toDown), ("unknown", t.stats.toUnknown)]
            where n > 0 {
                transitions += "carousel_target_transitions_total{\(labels),to=\"\(state)\"} \(n)\n"
            }
        }
        return up + drained + durations + transitions
    }

    /// A label value in the text format: backslash, quote and newline escaped.
    static func escaped(_ value: String) -> String {
        var out = ""
        for c in value {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }
}
