import DNSWire
import Foundation
import NIOHTTP1
import Runtime

/// The admin API's routes. Reads are open; mutating requests need the bearer token whenever one
/// is configured (and one must be when the listener is not on loopback).
public struct AdminRouter: Sendable {
    let runtime: CarouselRuntime
    let metrics: MetricsExporter
    let token: String?

    public init(runtime: CarouselRuntime, metrics: MetricsExporter, token: String?) {
        self.runtime = runtime
        self.metrics = metrics
        self.token = token
    }

    public func handle(_ r: AdminRequest) async -> AdminResponse {
        switch (r.method, r.path) {
        case (.GET, "/status"):
            let report = await runtime.statusReport()
            let data = (try? StatusReport.encoder().encode(report)) ?? Data()
            return AdminResponse(status: .ok, contentType: "application/json", body: Array(data))
        case (.GET, "/"):
            let report = await runtime.statusReport()
            var charts: [String: AnswerHistory.Chart] = [:]
            let live = await runtime.liveAnswers()
            for p in report.pools { charts[p.name] = await runtime.history.chart(pool: p.name, live: live) }
            return AdminResponse(
                status: .ok, contentType: "text/html; charset=utf-8",
                body: Array(StatusPage.render(report, charts: charts).utf8))
        case (.GET, "/explain"):
            guard let name = r.parameter("name"), let client = r.parameter("client") else {
                return .text(
                    .badRequest, "name and client are required: /explain?name=www.example.com&client=192.0.2.7")
            }
            switch await runtime.explain(name: name, client: client, type: r.parameter("type") ?? "A") {
            case .success(let e):
                let data = (try? StatusReport.encoder().encode(e)) ?? Data()
                return AdminResponse(status: .ok, contentType: "application/json", body: Array(data))
            case .failure(let problem):
                return .text(HTTPResponseStatus(statusCode: problem.status), problem.message)
            }
        case (.GET, "/ready"):
            // 200 when fit to serve, 503 with the reasons otherwise (one a line), for keepalived's
            // track_script, anycast health checks and load balancers.
            let reasons = await runtime.notReady()
            return reasons.isEmpty ? .text(.ok, "ready") : .text(.serviceUnavailable, reasons.joined(separator: "\n"))
        case (.GET, "/metrics"):
            return AdminResponse(
                status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8",
                body: Array(await metrics.render(runtime).utf8))
        case (.POST, "/drain"), (.POST, "/undrain"), (.POST, "/reload"):
            if let denied = authorize(r) { return denied }
            return await mutate(r)
        case (.POST, "/zones/sync"):
            if let denied = authorize(r) { return denied }
            guard let zone = r.parameter("zone"), let name = try? DNSName(zone.hasSuffix(".") ? zone : zone + ".")
            else {
                return .text(.badRequest, "zone is required (a zone of updates:)")
            }
            let result = await runtime.syncZone(name)
            return .text(HTTPResponseStatus(statusCode: result.status), result.message)
        case (_, "/status"), (_, "/"), (_, "/metrics"), (_, "/explain"), (_, "/ready"), (_, "/drain"), (_, "/undrain"),
            (_, "/reload"), (_, "/zones/sync"):
            return .text(.methodNotAllowed, "\(r.method) is not allowed on \(r.path)")
        default:
            return .text(
                .notFound,
                "no such endpoint: \(r.path) (try /, /status, /ready, /metrics, /explain, POST /drain, /undrain, /reload, /zones/sync)"
            )
        }
    }

    func authorize(_ r: AdminRequest) -> AdminResponse? {
        guard let token else { return nil }
        let given = r.headers.first(name: "Authorization") ?? ""
        guard given == "Bearer \(token)" else {
            return .text(.unauthorized, given.isEmpty ? "a bearer token is required" : "wrong token")
        }
        return nil
    }

    func mutate(_ r: AdminRequest) async -> AdminResponse {
        if r.path == "/reload" {
            await runtime.reload()
            let errors = await runtime.statusReport().errors
            return .text(.ok, errors.isEmpty ? "reloaded" : "reloaded; problems:\n" + errors.joined(separator: "\n"))
        }
        guard let address = r.parameter("address"), !address.isEmpty else {
            return .text(.badRequest, "address is required")
        }
        let pool = r.parameter("pool").flatMap { $0.isEmpty ? nil : $0 }
        let force = ["1", "true", "yes"].contains(r.parameter("force")?.lowercased() ?? "")
        let result =
            r.path == "/drain"
            ? await runtime.drain(address: address, pool: pool, force: force)
            : await runtime.undrain(address: address, pool: pool)
        return .text(HTTPResponseStatus(statusCode: result.status), result.message)
    }
}
