// Drains across a fleet: an order given to one member reaches the others through their
// observation zones (each member serves the newest mark it holds of every drain key), is kept in
// each one's state file, and a later order given to another member wins.

import Foundation
import Testing

@Suite("Fleet: a drain given to any member applies fleet-wide", .serialized)
struct FleetNetDrainTests {
    func admin(_ fleet: FleetNetTests.Fleet, _ member: String, _ arguments: [String]) async throws {
        let r = try await fleet.lab.run(
            member, [CarouselServer.binary] + arguments + ["--admin", "http://127.0.0.1:8053"])
        #expect(r.status == 0, "\(arguments) on \(member): \(r.stdout)\(r.stderr)")
    }

    @Test(
        "drained on m2: every member's answers lack it within a second of the acknowledgement; m1 killed -9 and restarted keeps it out; undrained on m3: back everywhere"
    )
    func drainTravels() async throws {
        try await FleetNetTests().withFleet { fleet in
            let target = fleet.backend(0)
            let other = fleet.backend(1)
            // Timed from the acknowledgement (the `carousel drain` process itself takes a while to
            // start on a loaded machine), and all members together.
            // The watcher (a process of its own) asks before the order is given.
            async let watching = fleet.watch(target, "absent", timeout: 8)
            try await Task.sleep(for: .seconds(1.5))
            try await admin(fleet, "m2", ["drain", target])
            let asked = Date().timeIntervalSince1970
            let gone = try await watching
            for (m, t) in gone {
                #expect(t != nil && t! - asked <= 1, "\(m) left it out \(t.map { $0 - asked } ?? -1) s after the ack")
            }
            let dropped = gone.values.compactMap { $0 }
            #expect((dropped.max() ?? 0) - (dropped.min() ?? 0) <= 0.25, "\(gone)")
            #expect(fleet.log("m1").contains("fleet: \(target) drained by m2, from m2"), "\(fleet.log("m1"))")
            // m1's status shows it drained, as m2 gave it.
            let status = try await fleet.status("m1")
            let members = (status["pools"] as? [[String: Any]])?.first.flatMap {
                ($0["sets"] as? [[String: Any]])?.first?["members"] as? [[String: Any]]
            }
            let member = try #require(members?.first { $0["address"] as? String == target }, "\(status)")
            #expect(member["state"] as? String == "drained" && member["in_answers"] as? Bool == false, "\(member)")
            #expect((status["drained"] as? [String]) == [target], "\(status["drained"] ?? "")")

            // Killed -9, m1 comes back with the drain from its own state file.
            fleet.servers["m1"]?.kill()
            fleet.servers["m1"] = try fleet.lab.spawn(
                "m1", [CarouselServer.binary, "serve", "--config", fleet.lab.dir.path("m1.yaml")], name: "m1-again")
            let answering = try await fleet.watch(other, "present", timeout: 15)
            #expect(answering.values.allSatisfy { $0 != nil }, "\(answering)\n\(fleet.log("m1-again"))")
            #expect(fleet.log("m1-again").contains("ignored, 1 drained"), "\(fleet.log("m1-again"))")
            let seen = try await fleet.steady(seconds: 2)
            for (m, answers) in seen { #expect(answers == [[other]], "\(m) answered \(answers)") }

            // Undrained on m3: back in every member's answers.
            async let returning = fleet.watch(target, "present", timeout: 8)
            try await Task.sleep(for: .seconds(1.5))
            try await admin(fleet, "m3", ["undrain", target])
            let undrained = Date().timeIntervalSince1970
            let back = try await returning
            for (m, t) in back {
                #expect(
                    t != nil && t! - undrained <= 1,
                    "\(m) took it back, after the ack, \(t.map { $0 - undrained } ?? -1) s"
                )
            }
            print(
                "fleet: a drain on m2 left every member's answers, from its acknowledgement, \(gone.values.compactMap { $0.map { String(format: "%.2f", $0 - asked) } }.sorted()) s; an undrain on m3 brought it back after \(back.values.compactMap { $0.map { String(format: "%.2f", $0 - undrained) } }.sorted()) s"
            )
        }
    }
}
