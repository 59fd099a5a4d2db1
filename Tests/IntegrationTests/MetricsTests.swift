// `GET /metrics` after real traffic: the query counters by transport, qtype and rcode, the
// response size histogram, the per-target gauge and open TCP connections, in text that a
// Prometheus scraper accepts.

import Foundation
import Testing

@Suite("Metrics")
struct MetricsTests {
    /// One sample line: `name{labels} value`.
    struct Sample: Sendable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    /// The exposition format (text 0.0.4): `# HELP name text`, `# TYPE name kind`, and samples
    /// `name{label="value",…} number`. Returns the samples and every problem found, including
    /// the rule that all lines of one metric family form one group with its TYPE first.
    static func parse(_ text: String) -> (samples: [Sample], problems: [String]) {
        var samples: [Sample] = []
        var problems: [String] = []
        var types: [String: String] = [:]
        var finished: Set<String> = []  // families whose group has ended
        var current: String?
        func family(_ name: String) -> String {
            for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
                let base = String(name.dropLast(suffix.count))
                if types[base] == "histogram" || types[base] == "summary" { return base }
            }
            return name
        }
        func enter(_ f: String, _ line: String) {
            guard f != current else { return }
            if finished.contains(f) {
                problems.append("\(f): its lines are not one group (another family came between): \(line)")
            }
            if let current { finished.insert(current) }
            current = f
        }
        let name = #"[a-zA-Z_:][a-zA-Z0-9_:]*"#
        let pair = #"[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*""#  // label="value", escapes allowed
        let number = #"-?[0-9.eE+-]+|NaN|\+Inf|-Inf"#
        // name, {labels} (optional, a trailing comma allowed), value, optional timestamp
        let sample = try! Regex(#"^(\#(name))(\{(?:\#(pair)(?:,\#(pair))*,?)?\})? (\#(number))( -?[0-9]+)?$"#)
        let label = try! Regex(#"([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)""#)
        for line in text.split(separator: "\n").map(String.init) {
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3).map(String.init)
                guard parts.count >= 3, parts[0] == "#", ["HELP", "TYPE"].contains(parts[1]) else { continue }
                let f = parts[2]
                enter(f, line)
                if parts[1] == "TYPE" {
                    let kind = parts.count > 3 ? parts[3] : ""
                    if types[f] != nil { problems.append("a second TYPE line for \(f)") }
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(kind) {
                        problems.append("unknown type: \(line)")
                    }
                    if samples.contains(where: { family($0.name) == f }) {
                        problems.append("TYPE after samples: \(line)")
                    }
                    types[f] = kind
                }
                continue
            }
            guard let m = try? sample.wholeMatch(in: line),
                let value = Double(
                    String(m.output[3].substring!)
                        .replacingOccurrences(of: "+Inf", with: "inf").replacingOccurrences(of: "-Inf", with: "-inf"))
            else {
                problems.append("not name{labels} value: \(line)")
                continue
            }
            var labels: [String: String] = [:]
            if let block = m.output[2].substring {
                for l in block.matches(of: label) {
                    labels[String(l.output[1].substring!)] = String(l.output[2].substring!)
                }
            }
            let s = Sample(name: String(m.output[1].substring!), labels: labels, value: value)
            enter(family(s.name), line)
            samples.append(s)
        }
        return (samples, problems)
    }

    @Test("after A over UDP, A over TCP and an NXDOMAIN: counters, sizes, target gauges, TCP gauge, valid text")
    func afterTraffic() async throws {
        let up = "127.0.52.1"
        let down = "127.0.52.2"  // nothing listens there
        let backends = try await Backends(addresses: [up])
        defer { backends.stop() }
        let zone = balancedZone("example.net.", addresses: [up, down])
        try await withConfiguredCarousel(
            zones: ["example.net.zone": zone], config: wwwPool("example.net.", port: backends.port)
        ) { server in
            try await Poll.until("both probed", limit: 20) {
                let status = try await Admin.status(server.adminURL)
                return Admin.member(status, up)?["state"] as? String == "up"
                    && Admin.member(status, down)?["state"] as? String == "down"
            }
            let udpCount = 5
            let udp = try await Dig.repeated(server.endpoint, "www.example.net", "A", count: udpCount)
            #expect(udp.count == udpCount && udp.allSatisfy { $0.status == "NOERROR" }, "\(udp)")
            let tcp = try await Dig.query(server.endpoint, "+tcp", "www.example.net", "A")
            #expect(tcp.status == "NOERROR", "\(tcp)")
            let nx = try await Dig.query(server.endpoint, "nope.example.net", "A")
            #expect(nx.status == "NXDOMAIN", "\(nx)")
            // One TCP connection held open while scraping.
            let open = try TCPConnection(to: server.endpoint)
            try open.send(RawQuery("www.example.net.").bytes)
            #expect(try await open.receive() != nil)

            let reply = try await Admin.request("GET", server.adminURL + "/metrics")
            #expect(reply.status == 200)
            let (samples, problems) = Self.parse(reply.body)
            #expect(problems.isEmpty, "not valid Prometheus text:\n\(problems.joined(separator: "\n"))\n\(reply.body)")
            func value(_ name: String, _ labels: [String: String]) -> Double? {
                samples.first { s in s.name == name && labels.allSatisfy { s.labels[$0.key] == $0.value } }?.value
            }
            let udpA = value("carousel_queries_total", ["transport": "udp", "qtype": "A", "rcode": "NOERROR"])
            #expect(
                (udpA ?? 0) >= Double(udpCount), "udp A NOERROR: \(udpA.map { "\($0)" } ?? "missing")\n\(reply.body)")
            let tcpA = value("carousel_queries_total", ["transport": "tcp", "qtype": "A", "rcode": "NOERROR"])
            #expect((tcpA ?? 0) >= 2, "tcp A NOERROR (dig +tcp and the open connection)\n\(reply.body)")
            let nxA = value("carousel_queries_total", ["transport": "udp", "qtype": "A", "rcode": "NXDOMAIN"])
            #expect((nxA ?? 0) >= 1, "rcode NXDOMAIN\n\(reply.body)")
            let sizes = samples.filter { $0.name == "carousel_response_size_bytes_bucket" }
            #expect(!sizes.isEmpty, "carousel_response_size_bytes_bucket\n\(reply.body)")
            let udpAll = value("carousel_response_size_bytes_bucket", ["transport": "udp", "le": "+Inf"])
            #expect((udpAll ?? 0) >= Double(udpCount + 1), "every UDP answer is in the +Inf bucket\n\(reply.body)")
            for transport in ["udp", "tcp"] {
                let buckets = sizes.filter { $0.labels["transport"] == transport }.map(\.value)
                #expect(buckets == buckets.sorted(), "\(transport) buckets are cumulative: \(buckets)")
            }
            #expect(value("carousel_target_up", ["address": up]) == 1, "\(up) up\n\(reply.body)")
            #expect(value("carousel_target_up", ["address": down]) == 0, "\(down) down\n\(reply.body)")
            let tcpOpen = value("carousel_tcp_connections_open", [:])
            #expect((tcpOpen ?? 0) >= 1, "one connection is open: \(tcpOpen.map { "\($0)" } ?? "missing")")
            #expect(reply.body.contains("# TYPE carousel_queries_total counter"), "\(reply.body)")
        }
    }

    /// Issue 5 also asks for a transitions counter and a probe duration histogram per target, and
    /// reloads and reload failures. Their names are not fixed by the issue: any `carousel_`
    /// family of the right type whose name says what it counts will do.
    @Test("after a state change and a failed reload: transitions, probe durations, reloads and reload failures")
    func issueFamilies() async throws {
        let up = "127.0.52.5"
        let down = "127.0.52.6"  // nothing listens there
        let backends = try await Backends(addresses: [up])
        defer { backends.stop() }
        let zone = balancedZone("example.net.", addresses: [up, down])
        try await withConfiguredCarousel(
            zones: ["example.net.zone": zone], config: wwwPool("example.net.", port: backends.port)
        ) { server in
            try await Poll.until("both probed", limit: 20) {
                try await Admin.state(server.adminURL, down) == "down"
            }
            let good = try await Admin.request("POST", server.adminURL + "/reload")
            #expect(good.status == 200, "\(good.body)")
            try "this is not a zone file\n".write(
                toFile: server.zoneFile("example.net.zone"), atomically: false, encoding: .utf8)
            let bad = try await Admin.request("POST", server.adminURL + "/reload")
            #expect(bad.body.contains("problems"), "the broken edit is reported\n\(bad.body)")

            let reply = try await Admin.request("GET", server.adminURL + "/metrics")
            let (samples, _) = Self.parse(reply.body)
            var types: [String: String] = [:]
            for line in reply.body.split(separator: "\n") where line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                if parts.count == 4 { types[String(parts[2])] = String(parts[3]) }
            }
            func family(_ kind: String, _ words: [String]) -> String? {
                types.keys.sorted().first { name in
                    types[name] == kind && name.hasPrefix("carousel_") && words.allSatisfy { name.contains($0) }
                }
            }
            let transitions = family("counter", ["transition"])
            #expect(transitions != nil, "a counter of state transitions\n\(reply.body)")
            if let transitions {
                let total = samples.filter { $0.name.hasPrefix(transitions) }.map(\.value).reduce(0, +)
                #expect(total >= 2, "at least the two first verdicts (unknown → up, unknown → down)\n\(reply.body)")
                #expect(
                    samples.contains { $0.name.hasPrefix(transitions) && $0.labels.values.contains(down) },
                    "per target\n\(reply.body)")
            }
            let probes = family("histogram", ["probe", "duration"])
            #expect(probes != nil, "a histogram of probe durations\n\(reply.body)")
            if let probes {
                #expect(
                    samples.contains { $0.name == probes + "_count" && $0.labels.values.contains(up) && $0.value >= 1 },
                    "per target, with probes counted\n\(reply.body)")
            }
            let failures = family("counter", ["reload", "fail"])
            #expect(failures != nil, "a counter of failed reloads\n\(reply.body)")
            if let failures {
                #expect(
                    samples.contains { $0.name == failures && $0.value >= 1 }, "the broken edit counted\n\(reply.body)")
            }
            let reloads = types.keys.sorted().first {
                types[$0] == "counter" && $0.hasPrefix("carousel_") && $0.contains("reload") && !$0.contains("fail")
            }
            #expect(reloads != nil, "a counter of reloads\n\(reply.body)")
            if let reloads {
                #expect(
                    samples.contains { $0.name == reloads && $0.value >= 1 }, "the good reload counted\n\(reply.body)")
            }
        }
    }
}
