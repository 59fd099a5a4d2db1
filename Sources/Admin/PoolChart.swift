import Foundation
import Runtime

/// A pool's last hour as inline SVG, drawn by the server (the page fetches nothing): each
/// member's share of first places in the answers of every 10 s sample, stacked to 100 %, with a
/// line where a member changed state, and under it one strip per member coloured by its state
/// (answering, standby, out). A failover reads at a glance: one colour hands over to another at
/// a red line, and the strips say why.
enum PoolChart {
    static let width = 760.0
    static let plotLeft = 44.0
    static let plotRight = 600.0
    static let plotTop = 8.0
    static let plotHeight = 130.0
    static let stripHeight = 12.0
    static let palette = ["#1f77b4", "#ff7f0e", "#9467bd", "#17becf", "#8c564b", "#e377c2", "#bcbd22", "#7f7f7f"]
    static let stateColour: [AnswerHistory.MemberState: String] = [
        .answering: "#2e7d32", .standby: "#f9a825", .out: "#c62828",
    ]

    static func svg(_ chart: AnswerHistory.Chart, now: Date = Date()) -> String {
        let members = chart.members
        let firstSample = chart.samples.first?.time ?? now
        // The window: since the first sample, at least 5 minutes, at most the hour kept.
        let span = min(3600, max(300, now.timeIntervalSince(firstSample) + AnswerHistory.interval.seconds))
        let start = now.addingTimeInterval(-span)
        let plotWidth = plotRight - plotLeft
        func x(_ t: Date) -> Double { plotLeft + max(0, min(1, t.timeIntervalSince(start) / span)) * plotWidth }
        func y(_ share: Double) -> Double { plotTop + (1 - share) * plotHeight }
        let stripsTop = plotTop + plotHeight + 22
        let height = stripsTop + Double(members.count) * (stripHeight + 3) + 6
        let title = "Share of first places in \(chart.pool)'s answers, last \(Int(span / 60)) min"
        var s = "<svg class=\"pool-chart\" data-pool=\"\(esc(chart.pool))\" xmlns=\"http://www.w3.org/2000/svg\" "
        s += "width=\"\(f(width))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(width)) \(f(height))\" role=\"img\" "
        s += "aria-label=\"\(esc(title))\" font-family=\"system-ui,sans-serif\" font-size=\"11\">"
        s += "<title>\(esc(title))</title>"
        s +=
            "<rect x=\"\(f(plotLeft))\" y=\"\(f(plotTop))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" fill=\"#f3f3f3\"/>"
        // Stacked bands, one path per member, over the samples that had answers.
        var bands = [String](repeating: "", count: members.count)
        for p in chart.samples where p.time >= start {
            let total = Double(p.firsts.reduce(0) { $0 + UInt64($1) })
            guard total > 0 else { continue }
            let x1 = x(p.time)
            let x0 = max(plotLeft, x1 - AnswerHistory.interval.seconds / span * plotWidth)
            var below = 0.0
            for k in members.indices {
                let share = Double(p.firsts[k]) / total
                guard share > 0 else { continue }
                bands[k] += "M\(f(x0)) \(f(y(below + share)))H\(f(x1))V\(f(y(below)))H\(f(x0))Z"
                below += share
            }
        }
        for (k, d) in bands.enumerated() where !d.isEmpty {
            s += "<path class=\"band\" data-address=\"\(esc(members[k]))\" d=\"\(d)\" fill=\"\(colour(k))\">"
            s += "<title>\(esc(members[k]))</title></path>"
        }
        // Axes: 0, 50, 100 % and five times.
        for share in [0.0, 0.5, 1.0] {
            s +=
                "<line x1=\"\(f(plotLeft))\" x2=\"\(f(plotRight))\" y1=\"\(f(y(share)))\" y2=\"\(f(y(share)))\" stroke=\"#ccc\" stroke-width=\"0.5\"/>"
            s +=
                "<text x=\"\(f(plotLeft - 4))\" y=\"\(f(y(share) + 4))\" text-anchor=\"end\" fill=\"#555\">\(Int(share * 100)) %</text>"
        }
        for i in 0...4 {
            let t = start.addingTimeInterval(span * Double(i) / 4)
            let label = i == 4 ? "now" : "−\(Int((span - span * Double(i) / 4) / 60)) min"
            s +=
                "<text x=\"\(f(x(t)))\" y=\"\(f(plotTop + plotHeight + 13))\" text-anchor=\"middle\" fill=\"#555\">\(label)</text>"
        }
        // State changes: a line across the plot in the colour of the new state.
        for e in chart.events where e.time >= start {
            let ex = x(e.time)
            let tip = "\(time(e.time)) \(e.address) → \(e.state.rawValue): \(e.why)"
            s += "<line class=\"mark\" data-address=\"\(esc(e.address))\" data-state=\"\(e.state.rawValue)\" "
            s +=
                "x1=\"\(f(ex))\" x2=\"\(f(ex))\" y1=\"\(f(plotTop))\" y2=\"\(f(stripsTop + Double(members.count) * (stripHeight + 3)))\" "
            s +=
                "stroke=\"\(stateColour[e.state]!)\" stroke-width=\"1.5\" stroke-dasharray=\"3 2\"><title>\(esc(tip))</title></line>"
        }
        // One strip per member: its state over the window, from its changes back from now.
        for (k, address) in members.enumerated() {
            let top = stripsTop + Double(k) * (stripHeight + 3)
            // Forward through its changes: the state before the first one in the window is the
            // one it changed to last before it (unknown if that is older than the hour kept).
            let changes = chart.events.filter { $0.address == address }
            var segments: [(from: Date, to: Date, state: AnswerHistory.MemberState?)] = []
            var state: AnswerHistory.MemberState? = changes.isEmpty ? chart.current[k] : nil
            var from = start
            for e in changes {
                if e.time > start {
                    segments.append((from, e.time, state))
                    from = e.time
                }
                state = e.state
            }
            segments.append((from, now, state))
            for seg in segments {
                let fill = seg.state.map { stateColour[$0]! } ?? "#ddd"
                s +=
                    "<rect class=\"strip\" data-address=\"\(esc(address))\" data-state=\"\(seg.state?.rawValue ?? "")\" "
                s += "x=\"\(f(x(seg.from)))\" y=\"\(f(top))\" width=\"\(f(max(0.5, x(seg.to) - x(seg.from))))\" "
                s +=
                    "height=\"\(f(stripHeight))\" fill=\"\(fill)\"><title>\(esc(address)) \(seg.state?.rawValue ?? "no data")</title></rect>"
            }
            s +=
                "<rect x=\"\(f(plotRight + 10))\" y=\"\(f(top + 1))\" width=\"10\" height=\"10\" fill=\"\(colour(k))\"/>"
            s +=
                "<text x=\"\(f(plotRight + 24))\" y=\"\(f(top + 10))\" fill=\"#222\">\(esc(address)) · \(chart.current[k].rawValue)</text>"
        }
        s += "<text x=\"\(f(plotRight + 10))\" y=\"\(f(plotTop + 10))\" fill=\"#555\">first places per 10 s</text>"
        s += "<text x=\"\(f(plotRight + 10))\" y=\"\(f(plotTop + 26))\" fill=\"#2e7d32\">■ answering</text>"
        s += "<text x=\"\(f(plotRight + 10))\" y=\"\(f(plotTop + 40))\" fill=\"#c49000\">■ standby</text>"
        s += "<text x=\"\(f(plotRight + 10))\" y=\"\(f(plotTop + 54))\" fill=\"#c62828\">■ out (down, drained)</text>"
        s += "</svg>"
        return s
    }

    static func colour(_ k: Int) -> String { palette[k % palette.count] }
    static func f(_ v: Double) -> String { String(format: "%.1f", v) }
    static func esc(_ s: String) -> String { StatusPage.esc(s) }

    static func time(_ d: Date) -> String {
        let f = DateFormatter()
        f.dateFormat = "HH:mm:ss"
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: d) + " UTC"
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
