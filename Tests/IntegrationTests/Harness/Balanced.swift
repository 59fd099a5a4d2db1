// The pieces of a balancing test around the backends: a zone holding their addresses, the
// addresses dig returns, polling dig until the answers change, and the admin API over curl.

import Foundation
import Testing

/// A directory with the zone `lb.test.` (its names holding the given records) and room for a
/// state file and scripts; it outlives the carousels started on it, so a restart finds its state.
struct LBFiles: Sendable {
    let dir: TempDir
    var zones: String { dir.path("zones") }
    var stateFile: String { dir.path("carousel.state") }

    /// `names`: owner (relative to lb.test.) → record lines without the owner, e.g.
    /// `["www": ["60 IN A 127.0.5.11", …]]`.
    init(_ names: [String: [String]]) throws {
        dir = try TempDir(prefix: "lb")
        try FileManager.default.createDirectory(atPath: zones, withIntermediateDirectories: true)
        var text = """
            $ORIGIN lb.test.
            $TTL 300
            @ IN SOA ns1.lb.test. hostmaster.lb.test. 1 7200 3600 1209600 300
            @ IN NS ns1.lb.test.
            ns1 IN A 127.0.0.1

            """
        for (owner, lines) in names.sorted(by: { $0.key < $1.key }) {
            for line in lines { text += "\(owner) \(line)\n" }
        }
        _ = try dir.write("zones/lb.test.zone", text)
    }

    /// Four (or more) addresses as `TTL IN A address` lines.
    static func aRecords(_ addresses: [String], ttl: Int = 60) -> [String] {
        addresses.map { "\(ttl) IN \($0.contains(":") ? "AAAA" : "A") \($0)" }
    }

    /// An executable script in the directory.
    func script(_ name: String, _ text: String) throws -> String {
        let path = try dir.write(name, text)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    func remove() { dir.remove() }
}

/// An admin listener address for the config: `admin: "127.0.0.1:PORT"`, and its URL.
struct AdminAddress: Sendable {
    let port: UInt16
    init() throws { port = try Ports.free() }
    var yaml: String { "admin: \"127.0.0.1:\(port)\"" }
    var url: String { "http://127.0.0.1:\(port)" }
}

extension DigResponse {
    /// The addresses of the A and AAAA records of the answer, in order.
    var addresses: [String] { answer.filter { $0.type == "A" || $0.type == "AAAA" }.map(\.rdata) }
}

/// The address RRset as a cycle: `b c d a` is `a b c d` started one place later.
func rotated(_ list: [String], by n: Int) -> [String] {
    guard !list.isEmpty else { return list }
    let k = ((n % list.count) + list.count) % list.count
    return Array(list[k...] + list[..<k])
}

enum Poll {
    /// Queries with dig every 100 ms until `condition` holds, and returns the seconds from `since`
    /// to the reply that met it (the reply's arrival, so the figure never flatters), with that
    /// reply. Throws after `limit` seconds: the caller checks the bound it cares about itself.
    static func dig(
        _ endpoint: Endpoint, _ arguments: [String], since start: ContinuousClock.Instant = .now, limit: Double = 20,
        until condition: (DigResponse) -> Bool
    ) async throws -> (seconds: Double, response: DigResponse) {
        var last: DigResponse?
        while true {
            let tick = ContinuousClock.now
            let response = try await Dig.query(endpoint, arguments)
            let elapsed = seconds(since: start)
            if condition(response) { return (elapsed, response) }
            last = response
            if elapsed > limit {
                throw HarnessError("no matching answer within \(limit) s; the last one:\n\(last?.text ?? "none")")
            }
            try await Task.sleep(until: tick + .milliseconds(100), clock: .continuous)
        }
    }

    /// Asks `name` A/AAAA over UDP from this process (no dig to start: on a loaded machine
    /// starting a process can take a second) every 20 ms until `condition` holds of the
    /// addresses in the answer; returns the seconds since `start`.
    static func udp(
        _ endpoint: Endpoint, _ name: String, type: UInt16 = 1, since start: ContinuousClock.Instant = .now,
        limit: Double = 20, until condition: ([String]) -> Bool
    ) async throws -> Double {
        var last: [String] = []
        while true {
            let tick = ContinuousClock.now
            if let reply = try await UDP.exchange(RawQuery(name, type: type).bytes, with: endpoint, timeout: 1) {
                last = try RawMessage(reply).answer.filter { $0.type == type }.map(\.address)
                if condition(last) { return seconds(since: start) }
            }
            if seconds(since: start) > limit {
                throw HarnessError("no matching answer within \(limit) s; the last one: \(last)")
            }
            try await Task.sleep(until: tick + .milliseconds(20), clock: .continuous)
        }
    }

    /// Calls `condition` every 100 ms until it holds; throws after `limit` seconds.
    static func until(
        _ what: String, limit: Double = 20, _ condition: () async throws -> Bool
    ) async throws {
        let start = ContinuousClock.now
        while !(try await condition()) {
            if seconds(since: start) > limit { throw HarnessError("\(what): not within \(limit) s") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

/// The admin API, from the outside: curl for raw HTTP, JSON for `/status`.
enum Admin {
    struct Reply: Sendable {
        var status: Int
        var body: String
    }

    /// One request with curl; `form` is sent as an urlencoded body.
    static func request(
        _ method: String, _ url: String, form: [String: String] = [:], token: String? = nil
    ) async throws -> Reply {
        var arguments = ["-s", "-S", "--max-time", "10", "-X", method, "-w", "\n%{http_code}"]
        for (key, value) in form.sorted(by: { $0.key < $1.key }) {
            arguments += ["--data-urlencode", "\(key)=\(value)"]
        }
        if let token { arguments += ["-H", "Authorization: Bearer \(token)"] }
        let result = try await Command.run("curl", arguments + [url])
        guard result.status == 0 else { throw HarnessError("curl \(method) \(url): \(result.stderr)") }
        var lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let code = Int(lines.removeLast()) ?? 0
        return Reply(status: code, body: lines.joined(separator: "\n"))
    }

    /// `GET /status` as JSON.
    static func status(_ url: String) async throws -> [String: Any] {
        let reply = try await request("GET", url + "/status")
        guard reply.status == 200,
            let json = try JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any]
        else { throw HarnessError("GET /status: \(reply.status) \(reply.body)") }
        return json
    }

    /// Every member entry of every pool's sets, as `/status` reports them.
    static func members(_ status: [String: Any]) -> [[String: Any]] {
        let pools = status["pools"] as? [[String: Any]] ?? []
        return pools.flatMap {
            ($0["sets"] as? [[String: Any]] ?? []).flatMap { $0["members"] as? [[String: Any]] ?? [] }
        }
    }

    /// The member entries for `address` (one per pool set that holds it).
    static func member(_ status: [String: Any], _ address: String) -> [String: Any]? {
        members(status).first { $0["address"] as? String == address }
    }

    /// How many probes of `address` have finished, from `/metrics` (every check of it summed).
    /// `check` (a fingerprint such as `agent:9999`) counts only that check's probes.
    static func probes(_ url: String, _ address: String, check: String? = nil) async throws -> Int {
        let text = try await request("GET", url + "/metrics").body
        var total = 0
        for line in text.split(separator: "\n")
        where line.hasPrefix("carousel_probe_duration_seconds_count{") && line.contains("address=\"\(address)\"")
            && (check.map { line.contains("check=\"\($0)\"") } ?? true)
        {
            total += Int(Double(line.split(separator: " ").last ?? "") ?? 0)
        }
        return total
    }

    static func state(_ url: String, _ address: String) async throws -> String? {
        member(try await status(url), address)?["state"] as? String
    }

    /// Runs the carousel command line (`status`, `drain`, `undrain`) against `url`.
    static func cli(_ arguments: [String], url: String, token: String? = nil) async throws -> CommandResult {
        var all = arguments + ["--admin", url]
        if let token { all += ["--token", token] }
        return try await Command.run(CarouselServer.binary, all)
    }
}

/// Prints a measured figure so it shows in the test output (the machine is shared: the bounds
/// stay those of the issue, and the figures say how close they came).
func report(_ line: String) {
    print("[measured] \(line)")
}

/// The check of the issue's integration tests as a YAML flow mapping: interval 1 s, timeout
/// 500 ms, rise 2, fall 2; `extra` adds keys (`insecure: true`).
func fastCheck(_ type: String = "http", port: UInt16, extra: String = "") -> String {
    let path = type == "http" || type == "https" ? ", path: /healthz" : ""
    let more = extra.isEmpty ? "" : ", \(extra)"
    return "{type: \(type), port: \(port)\(path), interval: 1s, timeout: 500ms, rise: 2, fall: 2\(more)}"
}

extension Dig {
    /// `count` queries for `name` in one dig process (dig runs them one after another), and
    /// every response it printed.
    static func repeated(_ endpoint: Endpoint, _ name: String, _ type: String, count: Int) async throws
        -> [DigResponse]
    {
        let arguments = (0..<count).flatMap { _ in [name, type] }
        let result = try await run(endpoint, arguments)
        return DigResponse.parseAll(result.stdout)
    }
}

/// Seconds with two decimals, for reports.
func secs(_ d: Double) -> String { String(format: "%.2f s", d) }
