// dnsperf (Debian's dnsperf 2.10) at a fixed rate against a server, and its summary read back:
// queries sent, completed and lost, and the count of each response code.

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

struct DNSPerfSummary: Sendable, CustomStringConvertible {
    var sent = 0
    var completed = 0
    var lost = 0
    /// In flight when dnsperf was interrupted (SIGINT): neither answered nor timed out yet.
    var interrupted = 0
    /// NOERROR → count, SERVFAIL → count, …
    var rcodes: [String: Int] = [:]
    var qps = 0.0
    var averageLatency = 0.0
    var maxLatency = 0.0
    var output = ""

    var servfail: Int { rcodes["SERVFAIL"] ?? 0 }
    /// Every response code other than NOERROR, with its count.
    var unexpected: [String: Int] { rcodes.filter { $0.key != "NOERROR" } }

    var description: String {
        let codes = rcodes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return "sent \(sent), completed \(completed), lost \(lost), interrupted \(interrupted), codes [\(codes)], "
            + String(format: "%.0f qps, latency avg %.2f ms max %.2f ms", qps, averageLatency * 1000, maxLatency * 1000)
    }

    /// Reads the "Statistics:" block dnsperf prints at the end.
    init(parsing text: String) {
        output = text
        func number(after key: String) -> String? {
            guard let line = text.split(separator: "\n").first(where: { $0.contains(key) }) else { return nil }
            let rest = line[line.range(of: key)!.upperBound...].trimmingCharacters(in: .whitespaces)
            return rest.split(separator: " ").first.map(String.init)
        }
        sent = number(after: "Queries sent:").flatMap { Int($0) } ?? 0
        completed = number(after: "Queries completed:").flatMap { Int($0) } ?? 0
        lost = number(after: "Queries lost:").flatMap { Int($0) } ?? 0
        interrupted = number(after: "Queries interrupted:").flatMap { Int($0) } ?? 0
        qps = number(after: "Queries per second:").flatMap { Double($0) } ?? 0
        averageLatency = number(after: "Average Latency (s):").flatMap { Double($0) } ?? 0
        if let line = text.split(separator: "\n").first(where: { $0.contains("Average Latency (s):") }),
            let range = line.range(of: "max ")
        {
            maxLatency = Double(line[range.upperBound...].prefix { $0.isNumber || $0 == "." }) ?? 0
        }
        // "  Response codes:       NOERROR 29990 (99.97%), SERVFAIL 10 (0.03%)"
        if let line = text.split(separator: "\n").first(where: { $0.contains("Response codes:") }) {
            let list = line[line.range(of: "Response codes:")!.upperBound...]
            for item in list.split(separator: ",") {
                let parts = item.split(separator: " ")
                if parts.count >= 2, let n = Int(parts[1]) { rcodes[String(parts[0]), default: 0] += n }
            }
        }
    }
}

/// A dnsperf running in the background until `finish()` interrupts it (SIGINT: dnsperf stops
/// sending and prints its statistics; queries still in flight count as interrupted, so a caller
/// lets it run a timeout longer than the moment it cares about).
final class DNSPerfRun: @unchecked Sendable {
    let process: Spawned
    let dir: TempDir
    let qps: Int

    init(_ endpoint: Endpoint, queries: [String], qps: Int, timeout: Int = 2, limit: Int = 300) throws {
        let dnsperf = try Peers.require("dnsperf")[0]
        dir = try TempDir(prefix: "dnsperf")
        self.qps = qps
        let file = try dir.write("queries.txt", queries.joined(separator: "\n") + "\n")
        process = try Spawned(
            executable: dnsperf,
            arguments: [
                "-s", endpoint.host, "-p", "\(endpoint.port)", "-d", file, "-l", "\(limit)", "-Q", "\(qps)",
                "-T", "1", "-c", "1", "-t", "\(timeout)",
            ], stdout: dir.url.appendingPathComponent("stdout"), stderr: dir.url.appendingPathComponent("stderr"))
    }

    /// Interrupts dnsperf and returns its summary.
    func finish() async throws -> DNSPerfSummary {
        if process.isRunning { kill(process.pid, SIGINT) }
        let exited = try await offload { self.process.wait(timeout: 15) }
        if !exited { process.kill() }
        defer { dir.remove() }
        let text = (try? String(contentsOfFile: dir.path("stdout"), encoding: .utf8)) ?? ""
        let summary = DNSPerfSummary(parsing: text)
        guard summary.sent > 0 else {
            let errors = (try? String(contentsOfFile: dir.path("stderr"), encoding: .utf8)) ?? ""
            throw HarnessError("dnsperf sent nothing:\n\(text)\n\(errors)")
        }
        return summary
    }

    /// Stops dnsperf without reading it (cleanup after a failure).
    func stop() {
        process.kill()
        dir.remove()
    }
}

enum DNSPerf {

    /// Runs `dnsperf -s HOST -p PORT -d FILE -l seconds -Q qps -T 1 -c 1` (one thread, the most
    /// stable setting on two cores) over `queries` ("name TYPE" lines) and returns its summary.
    /// Queries unanswered within `timeout` seconds count as lost.
    static func run(
        _ endpoint: Endpoint, queries: [String], seconds: Int, qps: Int, timeout: Int = 2, in dir: TempDir
    ) async throws -> DNSPerfSummary {
        let file = try dir.write("queries-\(UUID().uuidString.prefix(6)).txt", queries.joined(separator: "\n") + "\n")
        let result = try await Command.run(
            "dnsperf",
            [
                "-s", endpoint.host, "-p", "\(endpoint.port)", "-d", file, "-l", "\(seconds)", "-Q", "\(qps)",
                "-T", "1", "-c", "1", "-t", "\(timeout)",
            ], timeout: Double(seconds + timeout + 20))
        let summary = DNSPerfSummary(parsing: result.stdout)
        guard result.status == 0, summary.sent > 0 else {
            throw HarnessError("dnsperf failed (status \(result.status)):\n\(result.stdout)\n\(result.stderr)")
        }
        return summary
    }
}
