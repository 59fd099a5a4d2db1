import CoreMetrics
import Health
import Prometheus

/// `GET /metrics`: the Prometheus text format. Probe, reload and connection metrics go through
/// swift-metrics into a swift-prometheus registry; the query counters, kept per event loop
/// without locks, are summed at scrape time and written beside them.
public final class MetricsExporter: Sendable {
    public let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    func render(_ runtime: CarouselRuntime) async -> String {
        let server = runtime.server
        registry.makeGauge(name: "carousel_tcp_connections_open", help: "TCP connections open now.")
            .set(Int64(server.stats.tcpOpen.load(ordering: .relaxed)))
        registry.makeGauge(name: "carousel_tcp_connections_refused", help: "TCP connections closed at once because the cap was reached.")
            .set(Int64(server.stats.tcpRefused.load(ordering: .relaxed)))
        for t in await runtime.prober.status() {
            let value: Int64 = t.state == .up ? 1 : t.state == .down ? 0 : -1
            registry.makeGauge(
                name: "carousel_target_up", labels: [("address", t.address), ("check", t.fingerprint)],
                help: "Probe target state: 1 up, 0 down, -1 unknown."
            ).set(value)
            registry.makeGauge(
                name: "carousel_target_drained", labels: [("address", t.address), ("check", t.fingerprint)],
                help: "1 while the address is drained."
            ).set(Int64(t.drained ? 1 : 0))
        }
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        return String(decoding: bytes, as: UTF8.self) + (await server.queryCounters()).prometheusText()
            + server.stats.prometheusText()
    }
}
