// The document's virtual IP: two Carousel nodes, each in its own network namespace on a bridge,
// each with keepalived 2.2 running deploy/keepalived/keepalived.conf (addresses and priority
// adapted), whose track_script is `carousel status --ready`. A client in a third namespace asks
// the virtual address every 50 ms. The master node's Carousel killed (SIGKILL), or hung
// (SIGSTOP): the address moves and answers come back within 4 s; brought back, the node takes
// the address back (it has the higher priority), and once settled no answer is lost.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("A virtual address in front of two nodes (keepalived)", .serialized)
struct VirtualAddressTests {
    static let vip = "\(NetLab.subnet).53"

    final class Nodes: @unchecked Sendable {
        let lab: NetLab
        var carousel: [String: Spawned] = [:]
        let client = Fixtures.root.appendingPathComponent("fleet/client.py").path
        init(lab: NetLab) { self.lab = lab }

        func startCarousel(_ node: String) throws {
            let config = lab.dir.path("\(node).yaml")
            carousel[node] = try lab.spawn(
                node, [CarouselServer.binary, "serve", "--config", config], name: "carousel-\(node)-\(UUID())")
        }

        /// The node whose eth0 holds the virtual address, if one does.
        func holder() async throws -> String? {
            for node in ["a", "b"] {
                let r = try await lab.run(node, ["ip", "-o", "addr", "show", "dev", "eth0"])
                if r.stdout.contains("\(VirtualAddressTests.vip)/") { return node }
            }
            return nil
        }

        func waitForHolder(_ node: String, limit: Double) async throws -> Double? {
            let start = ContinuousClock.now
            while Poll.seconds(since: start) < limit {
                if try await holder() == node { return Poll.seconds(since: start) }
                try await Task.sleep(for: .milliseconds(100))
            }
            return nil
        }

        /// Asks the virtual address every 50 ms for `seconds`: the runs of unanswered questions.
        func gaps(_ seconds: Double) async throws -> (gaps: [(Double, Double)], ok: Int, failed: Int) {
            let r = try await lab.run(
                "client", ["python3", client, "gaps", "www.example.net", "\(seconds)", VirtualAddressTests.vip],
                timeout: seconds + 30)
            guard let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any],
                let gaps = json["gaps"] as? [[Double]]
            else { throw HarnessError("gaps: \(r.stdout) \(r.stderr)") }
            return (gaps.map { ($0[0], $0[1]) }, json["ok"] as? Int ?? 0, json["failed"] as? Int ?? 0)
        }
    }

    /// deploy/keepalived/keepalived.conf for a lab node: its address, the lab's virtual address,
    /// this build's carousel, and priority 100 on the second node.
    static func keepalivedConfig(second: Bool) throws -> String {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let path = repository.appendingPathComponent("deploy/keepalived/keepalived.conf").path
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text = text.replacingOccurrences(of: "192.0.2.53/24", with: "\(vip)/24")
        text = text.replacingOccurrences(of: "/usr/local/bin/carousel", with: CarouselServer.binary)
        if second { text = text.replacingOccurrences(of: "priority 150", with: "priority 100") }
        return text
    }

    @Test(
        "SIGKILL or SIGSTOP of the master node's Carousel: the virtual address moves and answers within 4 s; back, it returns, and no answer is lost once settled"
    )
    func addressFollowsReadiness() async throws {
        _ = try Peers.require("keepalived")
        try await withNetLab { lab in
            let nodes = Nodes(lab: lab)
            try await lab.add("a", octets: [1])
            try await lab.add("b", octets: [2])
            try await lab.add("client", octets: [20])
            try FileManager.default.createDirectory(atPath: lab.dir.path("zones"), withIntermediateDirectories: true)
            _ = try lab.dir.write(
                "zones/example.net.zone", balancedZone("example.net.", addresses: ["192.0.2.80", "192.0.2.81"]))
            for (i, node) in ["a", "b"].enumerated() {
                _ = try lab.dir.write(
                    "\(node).yaml",
                    """
                    listen: ["0.0.0.0:53"]
                    zones: ["\(lab.dir.path("zones"))"]
                    admin: "127.0.0.1:8053"

                    """)
                try nodes.startCarousel(node)
                let conf = try lab.dir.write("keepalived-\(node).conf", try Self.keepalivedConfig(second: i == 1))
                _ = try lab.spawn(
                    node,
                    [
                        "keepalived", "--dont-fork", "--log-console", "--log-detail", "--vrrp", "--use-file", conf,
                        "--pid", lab.dir.path("ka-\(node).pid"), "--vrrp_pid", lab.dir.path("vrrp-\(node).pid"),
                        "--checkers_pid", lab.dir.path("checkers-\(node).pid"),
                    ], name: "keepalived-\(node)")
            }
            func logs() -> String {
                ["a", "b"].map { "--- keepalived \($0):\n" + lab.output("keepalived-\($0)") }.joined(separator: "\n")
            }
            let first = try await nodes.waitForHolder("a", limit: 20)
            #expect(first != nil, "a never held \(Self.vip)\n\(logs())")
            let settled = try await nodes.gaps(2)
            #expect(settled.failed == 0 && settled.ok > 20, "before: \(settled)")

            for (how, signal) in [("SIGKILL", SIGKILL), ("SIGSTOP", SIGSTOP)] {
                // Ask for 8 s; the master's Carousel dies (or hangs) 1 s in.
                async let seen = nodes.gaps(8)
                try await Task.sleep(for: .seconds(1))
                let struck = Date().timeIntervalSince1970
                Glibc.kill(nodes.carousel["a"]!.pid, signal)
                let moved = try await nodes.waitForHolder("b", limit: 8)
                #expect(moved != nil, "\(how): the address stayed on a\n\(logs())")
                let outcome = try await seen
                let outage = outcome.gaps.filter { $0.1 > struck - 0.5 }.map { $0.1 - $0.0 }.max() ?? 0
                #expect(outage <= 4, "\(how): no answer for \(outage) s: \(outcome)")
                #expect(outcome.gaps.allSatisfy { $0.1 > struck - 0.5 }, "\(how): answers lost before: \(outcome)")
                print(
                    "virtual address: \(how) of the master's Carousel: moved after \(String(format: "%.2f", moved ?? -1)) s, longest run without answers \(String(format: "%.2f", outage)) s"
                )
                // Back: a continued or restarted takes the address back; once settled, no loss.
                if signal == SIGSTOP {
                    Glibc.kill(nodes.carousel["a"]!.pid, SIGCONT)
                } else {
                    try nodes.startCarousel("a")
                }
                let returned = try await nodes.waitForHolder("a", limit: 10)
                #expect(returned != nil, "\(how): a did not take the address back\n\(logs())")
                try await Task.sleep(for: .seconds(1))
                let after = try await nodes.gaps(3)
                #expect(after.failed == 0 && after.ok > 30, "\(how): after settling: \(after)")
            }
        }
    }
}
