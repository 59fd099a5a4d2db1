// Weights across a fleet: an agent's report travels with the verdicts of the members that probe
// it, so a member that does not (observers_per_target) weighs the backend as they do.

import Foundation
import Testing

@Suite("Fleet: agents' weights apply fleet-wide", .serialized)
struct FleetNetWeightTests {
    /// An agent on backend 0 that answers every connection `25%` (HAProxy's agent-check).
    static let agent = """
        import socket, sys
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((sys.argv[1], 7777))
        s.listen(16)
        while True:
            c, _ = s.accept()
            c.sendall(b"25%\\n")
            c.close()
        """

    /// Each member's effective weight of `address` in its /status.
    func weights(_ fleet: FleetNetTests.Fleet, _ address: String) async throws -> [String: Double] {
        var out: [String: Double] = [:]
        for m in FleetNetTests.members.keys.sorted() {
            let status = try await fleet.status(m)
            let members = (status["pools"] as? [[String: Any]])?.first.flatMap {
                ($0["sets"] as? [[String: Any]])?.first?["members"] as? [[String: Any]]
            }
            let member = members?.first { $0["address"] as? String == address }
            out[m] = member?["effective_weight"] as? Double
        }
        return out
    }

    @Test(
        "observers_per_target 2 of 3: the member that does not probe an agent weighs its backend as the two that do"
    )
    func agentWeightTravels() async throws {
        try await FleetNetTests().withFleet(
            observers: 2, poolConfig: "    agent: { port: 7777, interval: 1s, timeout: 500ms }",
            before: { fleet in
                _ = try fleet.lab.spawn(
                    "back", ["python3", "-c", FleetNetWeightTests.agent, fleet.backend(0)], name: "agent")
            }
        ) { fleet in
            let target = fleet.backend(0)
            var seen: [String: Double] = [:]
            let start = ContinuousClock.now
            repeat {
                seen = try await weights(fleet, target)
                if seen.count == 3 && seen.values.allSatisfy({ abs($0 - 0.25) < 0.001 }) { break }
                try await Task.sleep(for: .milliseconds(200))
            } while Poll.seconds(since: start) < 10
            #expect(seen.count == 3 && seen.values.allSatisfy { abs($0 - 0.25) < 0.001 }, "\(seen)")
            // Which member does not probe the agent: the one whose own view has no verdict.
            let other = try await weights(fleet, fleet.backend(1))
            #expect(other.values.allSatisfy { $0 == 1 }, "\(other)")
            let m1 = try await fleet.fleetStatus("m1")
            let targets = try #require(m1["targets"] as? [String: [String: Any]])
            let agentVotes = try #require(
                targets.first { $0.key.hasPrefix("\(target) agent") }?.value, "\(targets.keys)")
            #expect((agentVotes["observers"] as? [String])?.count == 2, "\(agentVotes)")
            print("fleet: an agent's 25% seen by 2 of 3 members; effective weights \(seen)")
        }
    }
}
