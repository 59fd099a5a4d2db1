import Foundation
import Runtime
import TransferService

/// `GET /`: the status a person reads at a glance — pools as tables (up green, down red, drained
/// grey, unknown amber), the last error per address, each member's tier, weights, agent and share
/// of answers, a chart of each pool's last hour (`PoolChart`), zones with serials, current
/// problems. It refreshes itself every 3 s and loads nothing from elsewhere.
enum StatusPage {
    static func render(_ r: StatusReport, charts: [String: AnswerHistory.Chart] = [:], now: Date = Date()) -> String {
        var h = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="refresh" content="3">
            <title>Carousel status</title>
            <style>
            body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5rem;color:#222;background:#fafafa}
            h1{font-size:1.4rem;margin:0 0 .2rem}h2{font-size:1.1rem;margin:1.6rem 0 .4rem}
            .meta{color:#666;font-size:.85rem}
            table{border-collapse:collapse;margin:.3rem 0 1rem;background:#fff;min-width:40rem}
            th,td{border:1px solid #ddd;padding:.3rem .6rem;text-align:left;font-size:.9rem}
            th{background:#f0f0f0}
            .state{font-weight:600;border-radius:.3rem;padding:.1rem .5rem;color:#fff;display:inline-block;min-width:4.5rem;text-align:center}
            .up{background:#2e7d32}.down{background:#c62828}.drained{background:#888}.unknown{background:#f9a825}
            .out{color:#c62828}.in{color:#2e7d32}
            .tiers{font-size:.85rem;margin:.2rem 0}.pool-chart{display:block;margin:.4rem 0 .2rem;background:#fff;border:1px solid #ddd}
            .errors{background:#fff3f3;border:1px solid #e0b4b4;padding:.5rem 1rem;color:#8a1f1f}
            code{font-family:ui-monospace,monospace}
            </style></head><body>
            <h1>Carousel</h1>
            """
        h += "<div class=\"meta\">version \(esc(r.version)) · up since \(date(r.startedAt)) · \(r.reloads) reloads · "
        h += "page refreshes every 3 s</div>\n"
        if !r.errors.isEmpty {
            h += "<h2>Problems</h2><div class=\"errors\" id=\"errors\">"
            h += r.errors.map { "<div><code>\(esc($0))</code></div>" }.joined()
            h += "</div>\n"
        }
        if let f = r.fleet { h += fleet(f) }
        h += "<h2>Pools</h2>\n"
        if r.pools.isEmpty { h += "<p>No pools configured.</p>\n" }
        for p in r.pools {
            h += "<h3 id=\"pool-\(esc(p.name))\">\(esc(p.name))</h3>"
            h += "<div class=\"meta\">order \(esc(p.order)) · ttl \(p.ttl) s"
            if let m = p.maxAnswers { h += " · max_answers \(m)" }
            if let sticky = p.stickyPrefixes { h += " · clients keyed by /\(sticky.ipv4) and /\(sticky.ipv6)" }
            h += " · all_down \(esc(p.allDown)) · check <code>\(esc(p.check))</code>"
            if let agent = p.agent { h += " · agent <code>\(esc(agent))</code>" }
            if let ramp = p.slowStart { h += " · slow_start \(Int(ramp)) s" }
            h += "</div>\n"
            if let chart = charts[p.name] { h += PoolChart.svg(chart, now: now) + "\n" }
            for set in p.sets {
                if let reason = set.tierReason {
                    h += "<div class=\"tiers\" data-owner=\"\(esc(set.owner))\" data-type=\"\(esc(set.type))\" "
                    h +=
                        "data-answering-tier=\"\(set.answeringTier.map(String.init) ?? "")\">\(esc(set.owner)) \(esc(set.type)): "
                    h += "\(esc(reason))</div>\n"
                }
                h +=
                    "<table class=\"pool\" data-pool=\"\(esc(p.name))\"><tr><th>\(esc(set.owner)) \(esc(set.type))</th>"
                let sticky = p.stickyPrefixes != nil
                let tiered = set.tiers != nil
                let agents = p.agent != nil
                h += "<th>state</th><th>since</th><th>last check</th><th>latency</th>"
                h += tiered ? "<th>tier</th>" : ""
                h += "<th>weight</th><th>effective</th>"
                h += agents ? "<th>agent</th>" : ""
                h += sticky ? "<th>share of clients</th>" : ""
                h += r.fleet != nil ? "<th>fleet votes</th>" : ""
                h += "<th>answers, last min</th><th>in answers</th></tr>\n"
                for m in set.members {
                    h +=
                        "<tr data-address=\"\(esc(m.address))\" data-state=\"\(esc(m.state))\"><td><code>\(esc(m.address))</code></td>"
                    h += "<td><span class=\"state \(esc(m.state))\">\(esc(m.state))</span></td>"
                    h += "<td>\(m.since.map(date) ?? "—")</td>"
                    h += "<td>\(esc(m.lastResult ?? "—"))</td>"
                    h += "<td>\(m.latencyMs.map { String(format: "%.1f ms", $0) } ?? "—")</td>"
                    if tiered { h += "<td>\(m.tier.map(String.init) ?? "—")</td>" }
                    h += "<td>\(m.weight ?? 1)</td>"
                    var effective = String(format: "%.2f", m.effectiveWeight ?? 0)
                    if let until = m.slowStartUntil { effective += " (slow start until \(date(until)))" }
                    h += "<td class=\"effective\">\(esc(effective))</td>"
                    if agents {
                        let a = m.agent
                        var text = a.map { "\($0.state) \($0.percent) %" } ?? "—"
                        if let reason = a?.reason, !reason.isEmpty { text += " (\(reason))" }
                        if let problem = a?.problem { text += " · \(problem)" }
                        if let failure = a?.failure { text += " · no answer: \(failure)" }
                        h += "<td class=\"agent\">\(esc(text))</td>"
                    }
                    if sticky { h += "<td>\(String(format: "%.1f %%", (m.share ?? 0) * 100))</td>" }
                    if r.fleet != nil { h += "<td class=\"votes\">\(esc(m.fleetVotes?.summary ?? "—"))</td>" }
                    h +=
                        "<td>\(m.answersLastMinute ?? 0) · \(String(format: "%.0f %%", (m.answerShare ?? 0) * 100)) first</td>"
                    h +=
                        "<td class=\"\(m.inAnswers ? "in" : "out")\">\(m.inAnswers ? "yes" : "no") — \(esc(m.why))</td></tr>\n"
                }
                h += "</table>\n"
            }
        }
        h +=
            "<h2>Zones</h2><table><tr><th>zone</th><th>serial</th><th>records</th><th>file</th><th>loaded</th><th>problem</th></tr>\n"
        for z in r.zones {
            h +=
                "<tr><td>\(esc(z.origin))</td><td>\(z.serial)</td><td>\(z.records)</td><td><code>\(esc(z.file))</code></td>"
            h += "<td>\(date(z.loadedAt))</td><td class=\"out\">\(esc(z.error ?? ""))</td></tr>\n"
        }
        h += "</table>\n"
        if !r.drained.isEmpty {
            h += "<h2>Drained</h2><p>" + r.drained.map { "<code>\(esc($0))</code>" }.joined(separator: ", ") + "</p>\n"
        }
        h += "</body></html>\n"
        return h
    }

    /// The fleet: this instance's role, the master, and every member as this one hears it.
    static func fleet(_ f: FleetStatus) -> String {
        let roleClass = f.role == "alone" ? "down" : f.role == "master" ? "up" : "drained"
        var h = "<h2>Fleet</h2><div class=\"meta\" id=\"fleet\" data-role=\"\(esc(f.role))\">"
        h += "this instance <code>\(esc(f.selfID))</code> · <span class=\"state \(roleClass)\">\(esc(f.role))</span>"
        h += " · master \(esc(f.master ?? "none")) · quorum \(esc(f.quorum))"
        h += " · stale after \(String(format: "%g", f.staleAfter)) s</div>\n"
        h += "<table class=\"fleet\"><tr><th>member</th><th>address</th><th>role</th><th>vote</th><th>heard</th>"
        h += "<th>serial</th><th>problem</th></tr>\n"
        for m in f.members {
            h += "<tr data-member=\"\(esc(m.id))\" data-role=\"\(esc(m.role))\"><td><code>\(esc(m.id))</code></td>"
            h += "<td><code>\(esc(m.address))</code></td><td>\(esc(m.role))</td><td>\(esc(m.vote ?? "—"))</td>"
            h += "<td class=\"\(m.fresh ? "in" : "out")\">\(m.fresh ? "fresh" : "silent")"
            h += m.lastHeard.map { " · \(date($0))" } ?? ""
            h += "</td><td>\(m.serial.map(String.init) ?? "—")</td><td class=\"out\">\(esc(m.error ?? ""))</td></tr>\n"
        }
        return h + "</table>\n"
    }

    static func esc(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    static func date(_ d: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: d)
    }
}
