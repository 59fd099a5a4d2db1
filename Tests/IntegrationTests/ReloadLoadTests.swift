// Reloads under load: dnsperf at a steady rate while the zone is rewritten (20 times,
// alternating rename-over and in-place), and while a 20,000-record zone replaces a small one and
// is then edited. Not one query may go unanswered and none may be answered SERVFAIL; the reload
// times are reported (a debug build on two shared cores takes seconds for 20,000 records: the
// figures for the 100,000 come from bench/reload/run on a release build). Serialized:
// two dnsperf runs at once on two cores would measure each other.

import Foundation
import Testing

@Suite("Hot reload under load", .serialized)
struct ReloadLoadTests {
    static let origin = "example.net."
    static let file = "example.net.zone"
    /// The steady rate: well below what one dnsperf thread and a debug build manage together on
    /// two shared cores, so that a lost query means the server dropped it.
    static let qps = 3000

    @Test("20 rewrites during 10 s of 3,000 qps: 0 lost, 0 SERVFAIL", .timeLimit(.minutes(1)))
    func rewritesUnderLoad() async throws {
        func version(_ n: Int) -> String {
            reloadZone(
                Self.origin, serial: n, www: ["192.0.2.\(n % 200 + 1)", "192.0.2.250"],
                extra: ["mail 60 IN A 192.0.2.25", "v\(n) 60 IN TXT \"version \(n)\""])
        }
        try await withConfiguredCarousel(zones: [Self.file: version(1)], config: "rrl: off  # dnsperf is one client") {
            server in
            let path = server.zoneFile(Self.file)
            let dir = try TempDir(prefix: "dnsperf")
            defer { dir.remove() }
            // Names present in every version: every answer must be NOERROR.
            let queries = [
                "www.example.net A", "mail.example.net A", "example.net SOA", "example.net NS", "ns1.example.net A",
            ]
            let started = ContinuousClock.now
            async let load = DNSPerf.run(server.endpoint, queries: queries, seconds: 10, qps: Self.qps, in: dir)
            try await Task.sleep(for: .milliseconds(800))
            var writes: [Double] = []
            for n in 2...21 {
                let mode: EditMode = n % 2 == 0 ? .renameOver : .inPlace
                try await FileEdit.write(version(n), to: path, mode: mode)
                writes.append(Poll.seconds(since: started))
                try await Task.sleep(for: .milliseconds(350))
            }
            // The last version is served, so the reloads really happened while dnsperf ran.
            let last = try await Poll.dig(server.endpoint, ["v21.example.net", "TXT"], limit: 5) {
                $0.status == "NOERROR"
            }
            let lastAt = (writes.last ?? 0) + last.seconds
            let summary = try await load
            let loads = server.logLines(containing: "zone loaded").count - 1  // minus the start
            report(
                "rewrites under load: \(Self.qps) qps requested, \(summary); 20 rewrites from "
                    + "\(secs(writes.first ?? 0)) to \(secs(writes.last ?? 0)), \(loads) reloads logged, the last version "
                    + "served at \(secs(lastAt)) (\(secs(last.seconds)) after the last write)")
            #expect(lastAt < 10, "the reloads must happen while dnsperf runs")
            #expect(summary.lost == 0, "queries lost\n\(summary.output)\n\(server.log)")
            #expect(summary.servfail == 0, "SERVFAIL answers\n\(summary.output)")
            #expect(summary.unexpected.isEmpty, "only NOERROR expected: \(summary.rcodes)")
            #expect(summary.completed == summary.sent, "\(summary)")
            #expect(
                summary.sent >= Self.qps * 10 * 8 / 10, "the rate held (at least 80 % of \(Self.qps) qps): \(summary)")
            #expect(loads >= 5, "the watcher reloaded during the run\n\(server.log)")
            #expect(server.process.isRunning)
        }
    }

    /// `count` records: owners h00000…, each with an A and an AAAA.
    static func bigZone(records count: Int, serial: Int, extra: [String] = []) -> String {
        var text = reloadZone(Self.origin, serial: serial, extra: extra)
        text.reserveCapacity(count * 40)
        for i in 0..<(count / 2) {
            let name = String(format: "h%05d", i)
            text += "\(name) 300 IN A 10.\(i >> 16 & 255).\(i >> 8 & 255).\(i & 255)\n"
            text += "\(name) 300 IN AAAA 2001:db8::\(String(i, radix: 16))\n"
        }
        return text
    }

    /// Records in the big zone: 20,000 unless CAROUSEL_RELOAD_RECORDS says otherwise.
    static var bigRecords: Int {
        ProcessInfo.processInfo.environment["CAROUSEL_RELOAD_RECORDS"].flatMap { Int($0) } ?? 20_000
    }

    /// One reload under load: dnsperf asks `queries` at `qps` while `write` runs; once `served`
    /// holds, dnsperf goes on for longer than its 2 s timeout (so a query dropped during the swap
    /// counts as lost, not as interrupted) and is stopped. Returns the seconds from the write to
    /// the first answer that met `served`, and dnsperf's summary.
    static func reloadUnderLoad(
        _ server: ConfiguredCarousel, queries: [String], write: () async throws -> ContinuousClock.Instant,
        check: [String], served: (DigResponse) -> Bool
    ) async throws -> (seconds: Double, summary: DNSPerfSummary) {
        let perf = try DNSPerfRun(server.endpoint, queries: queries, qps: qps, timeout: 2)
        do {
            try await Task.sleep(for: .milliseconds(1000))
            let written = try await write()
            let result = try await Poll.dig(server.endpoint, check, since: written, limit: 240, until: served)
            try await Task.sleep(for: .milliseconds(2500))
            return (result.seconds, try await perf.finish())
        } catch {
            perf.stop()
            throw error
        }
    }

    @Test("a 20,000-record zone reloads twice while serving 3,000 qps: 0 lost, 0 SERVFAIL", .timeLimit(.minutes(3)))
    func bigZoneUnderLoad() async throws {
        let records = Self.bigRecords
        let small = reloadZone(Self.origin, serial: 1)
        let big = Self.bigZone(records: records, serial: 2)
        let edited = Self.bigZone(records: records, serial: 3, extra: ["added 60 IN A 192.0.2.3"])
        try await withConfiguredCarousel(zones: [Self.file: small], config: "rrl: off  # dnsperf is one client") {
            server in
            let path = server.zoneFile(Self.file)
            // 1. A small zone replaced by the big one, under queries for names both hold.
            let first = try await Self.reloadUnderLoad(
                server, queries: ["www.example.net A", "example.net SOA", "ns1.example.net A", "example.net NS"],
                write: { try await FileEdit.write(big, to: path, mode: .renameOver) },
                check: ["h00000.example.net", "A"], served: { $0.status == "NOERROR" && $0.addresses == ["10.0.0.0"] })
            report(
                "\(records)-record zone replacing a small one (rename over): served \(secs(first.seconds)) after "
                    + "the write; dnsperf at \(Self.qps) qps: \(first.summary)")
            // 2. The big zone edited in place (one record added), under queries spread over it.
            let queries = stride(from: 0, to: records / 2, by: 97).flatMap { i -> [String] in
                let name = String(format: "h%05d.example.net", i)
                return ["\(name) A", "\(name) AAAA"]
            }
            let second = try await Self.reloadUnderLoad(
                server, queries: queries, write: { try await FileEdit.write(edited, to: path, mode: .inPlace) },
                check: ["added.example.net", "A"], served: { $0.addresses == ["192.0.2.3"] })
            report(
                "\(records)-record zone, one record added in place: served \(secs(second.seconds)) after the "
                    + "write; dnsperf at \(Self.qps) qps: \(second.summary)")
            for (what, summary) in [("replacing", first.summary), ("editing", second.summary)] {
                #expect(summary.lost == 0, "\(what): queries lost\n\(summary.output)\n\(server.log)")
                #expect(summary.servfail == 0 && summary.unexpected.isEmpty, "\(what): \(summary.rcodes)")
                #expect(summary.completed + summary.interrupted == summary.sent, "\(what): \(summary)")
            }
            #expect(server.process.isRunning)
        }
    }
}
