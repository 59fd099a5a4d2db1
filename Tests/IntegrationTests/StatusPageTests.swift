// The status page (`GET /`) in a real browser: Debian's Chromium, headless, loads it from the
// admin listener, and the rows, words and colours a person reads are checked in what it rendered.

import Foundation
import Testing

@Suite("Status page in headless Chromium", .serialized)  // one browser at a time: it is heavy
struct StatusPageTests {
    /// The badge colours of `StatusPage` (up green, down red, drained grey).
    static let colours = ["up": "#2e7d32", "down": "#c62828", "drained": "#888888"]

    /// The `<tr data-address="…">…</tr>` of `address` in a DOM dump.
    static func row(_ address: String, in dom: String) -> String? {
        guard let start = dom.range(of: "<tr data-address=\"\(address)\"") else { return nil }
        guard let end = dom.range(of: "</tr>", range: start.upperBound..<dom.endIndex) else { return nil }
        return String(dom[start.lowerBound..<end.upperBound])
    }

    /// Polls `/status` until every address has the wanted state.
    static func waitForStates(_ url: String, _ wanted: [String: String]) async throws {
        try await Poll.until("states \(wanted)", limit: 20) {
            let status = try await Admin.status(url)
            return wanted.allSatisfy { Admin.member(status, $0.key)?["state"] as? String == $0.value }
        }
    }

    @Test("one backend down: the rendered page shows its row as down (red), the other as up (green)")
    func downBackendRendered() async throws {
        let up = "127.0.51.1"
        let down = "127.0.51.2"  // nothing listens there
        let backends = try await Backends(addresses: [up])
        defer { backends.stop() }
        let zone = balancedZone("example.org.", addresses: [up, down])
        let config = wwwPool("example.org.", ttl: 20, port: backends.port)
        try await withConfiguredCarousel(zones: ["example.org.zone": zone], config: config) { carousel in
            try await Self.waitForStates(carousel.adminURL, [up: "up", down: "down"])
            let dom = try await HeadlessChromium.dumpDOM(carousel.adminURL + "/")
            #expect(dom.contains("<title>Carousel status</title>"), "\(dom)")
            let downRow = Self.row(down, in: dom)
            #expect(downRow?.contains("data-state=\"down\"") == true, "\(downRow ?? dom)")
            #expect(downRow?.contains(">down</span>") == true, "the word down in its state cell\n\(downRow ?? dom)")
            #expect(downRow?.contains("no — ") == true, "out of the answers, and why\n\(downRow ?? dom)")
            let upRow = Self.row(up, in: dom)
            #expect(upRow?.contains("data-state=\"up\"") == true, "\(upRow ?? dom)")
            #expect(upRow?.contains(">up</span>") == true, "\(upRow ?? dom)")
            #expect(dom.contains("example.org."), "the zone table\n\(dom)")

            let dir = try TempDir(prefix: "screenshot")
            defer { dir.remove() }
            let file = dir.path("status.png")
            try await HeadlessChromium.screenshot(carousel.adminURL + "/", to: file)
            let size = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
            #expect(size > 1000, "a non-empty screenshot (\(size) bytes)")
            let png = try await PNGSummary.read(file, colours: Self.colours)
            #expect(png.width == 1200 && png.height == 800, "\(png)")
            #expect(png.counts["down", default: 0] > 200, "a red badge is drawn: \(png)")
            #expect(png.counts["up", default: 0] > 200, "a green badge is drawn: \(png)")
        }
    }

    /// The README's picture: four members, one down, one drained. Set `CAROUSEL_SCREENSHOT_OUT`
    /// (e.g. to `docs/status-page.png`) to keep the screenshot.
    @Test("four members, one down, one drained: all three colours render; the screenshot is a PNG under 300 KB")
    func realisticScreenshot() async throws {
        let members = ["127.0.54.1", "127.0.54.2", "127.0.54.3", "127.0.54.4"]
        let (down, drained) = (members[2], members[3])
        let backends = try await Backends(addresses: [members[0], members[1], drained])
        defer { backends.stop() }
        let zone = balancedZone("example.com.", serial: 2026112501, addresses: members)
        let config = """
            pools:
              - name: www.example.com
                ttl: 20
                order: rotate
                check: \(fastCheck(port: backends.port))
            """
        try await withConfiguredCarousel(zones: ["example.com.zone": zone], config: config) { carousel in
            try await Self.waitForStates(
                carousel.adminURL, [members[0]: "up", members[1]: "up", down: "down", drained: "up"])
            let reply = try await Admin.request("POST", carousel.adminURL + "/drain", form: ["address": drained])
            #expect(reply.status == 200, "\(reply.body)")
            try await Self.waitForStates(carousel.adminURL, [drained: "drained", down: "down"])
            // A few seconds of history, so the "since" and "last check" columns look lived in.
            try await Task.sleep(for: .seconds(2))

            let dom = try await HeadlessChromium.dumpDOM(carousel.adminURL + "/")
            for (address, state) in [(members[0], "up"), (members[1], "up"), (down, "down"), (drained, "drained")] {
                let row = Self.row(address, in: dom)
                #expect(row?.contains("data-state=\"\(state)\"") == true, "\(address)\n\(row ?? dom)")
            }
            let dir = try TempDir(prefix: "screenshot")
            defer { dir.remove() }
            let file = dir.path("status-page.png")
            try await HeadlessChromium.screenshot(carousel.adminURL + "/", to: file)
            let size = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
            #expect(size > 1000 && size < 300_000, "\(size) bytes")
            let png = try await PNGSummary.read(file, colours: Self.colours)
            #expect(png.width == 1200 && png.height == 800, "\(png)")
            for (state, _) in Self.colours {
                #expect(png.counts[state, default: 0] > 200, "the \(state) badge is drawn: \(png)")
            }
            try Self.keep(file, as: "CAROUSEL_SCREENSHOT_OUT")
        }
    }

    /// Copies a screenshot to the path in the environment variable `variable`, when it is set.
    static func keep(_ file: String, as variable: String) throws {
        guard let out = ProcessInfo.processInfo.environment[variable], !out.isEmpty else { return }
        try? FileManager.default.removeItem(atPath: out)
        try FileManager.default.copyItem(atPath: file, toPath: out)
        report("screenshot written to \(out)")
    }

    /// The chart's palette for the first three members of a pool (`PoolChart.palette`).
    static let bands = ["first": "#1f77b4", "second": "#ff7f0e", "third": "#9467bd"]

    /// Set `CAROUSEL_CHART_SCREENSHOT_OUT` (e.g. to `docs/status-chart.png`) to keep the picture.
    @Test(
        "a failover to the standby tier on the chart: the primaries' bands hand over to the standby's at a marked line")
    func failoverChart() async throws {
        let members = ["127.0.55.1", "127.0.55.2", "127.0.55.3"]
        let backends = try await Backends(addresses: members)
        defer { backends.stop() }
        let zone = balancedZone("example.com.", serial: 2026120101, addresses: members)
        let config = """
            pools:
              - name: www.example.com
                ttl: 20
                check: \(fastCheck(port: backends.port))
                tiers:
                  - { members: ["\(members[0])", "\(members[1])"] }
                  - { members: ["\(members[2])"] }
            """
        try await withConfiguredCarousel(zones: ["example.com.zone": zone], config: config) { carousel in
            try await Self.waitForStates(carousel.adminURL, [members[0]: "up", members[1]: "up", members[2]: "up"])
            let traffic = Task {
                while !Task.isCancelled {
                    _ = try? await Dig.repeated(carousel.endpoint, "www.example.com", "A", count: 20)
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
            defer { traffic.cancel() }
            // One stored sample (every 10 s) of the primaries answering, then the failover, and
            // the page draws the sample under way as well.
            try await Task.sleep(for: .seconds(11))
            try await backends.kill(members[0])
            try await backends.kill(members[1])
            _ = try await Poll.dig(carousel.endpoint, ["www.example.com", "A"]) { $0.addresses == [members[2]] }
            try await Task.sleep(for: .seconds(4))

            let dom = try await HeadlessChromium.dumpDOM(carousel.adminURL + "/")
            #expect(dom.contains("<svg class=\"pool-chart\" data-pool=\"www.example.com\""), "\(dom)")
            for address in members {
                #expect(dom.contains("class=\"band\" data-address=\"\(address)\""), "a band for \(address)")
            }
            #expect(dom.contains("class=\"mark\" data-address=\"\(members[0])\" data-state=\"out\""), "\(dom)")
            #expect(dom.contains("class=\"mark\" data-address=\"\(members[2])\" data-state=\"answering\""), "\(dom)")
            #expect(dom.contains("tier 2 answers"), "the tier line says why")
            let dir = try TempDir(prefix: "screenshot")
            defer { dir.remove() }
            let file = dir.path("status-chart.png")
            try await HeadlessChromium.screenshot(carousel.adminURL + "/", to: file)
            let png = try await PNGSummary.read(file, colours: Self.bands)
            for (band, _) in Self.bands {
                #expect(png.counts[band, default: 0] > 200, "the \(band) member's band is drawn: \(png)")
            }
            try Self.keep(file, as: "CAROUSEL_CHART_SCREENSHOT_OUT")
        }
    }
}
