// Balanced answers seen from dig, with four live HTTP backends probed every second: rotation,
// the TTL cap, max_answers windows and weighted shares.

import Foundation
import Testing

@Suite("Balancing: rotation, TTL cap, max_answers, weights")
struct BalancingTests {
    @Test("consecutive answers rotate through all four; the TTL is min(zone TTL, pool ttl)")
    func rotationAndTTLCap() async throws {
        try await withBackends { backends in
            let files = try LBFiles([
                "www": LBFiles.aRecords(backends.addresses, ttl: 60),
                "short": LBFiles.aRecords(backends.addresses, ttl: 5),
            ])
            defer { files.remove() }
            let config = """
                pools:
                  - name: www.lb.test
                    ttl: 20
                    check: \(fastCheck(port: backends.port))
                  - name: short.lb.test
                    ttl: 20
                    check: \(fastCheck(port: backends.port))
                """
            try await withCarousel(zones: [files.zones], config: config) { server in
                var answers: [[String]] = []
                for _ in 0..<8 {
                    let response = try await Dig.query(server.endpoint, "www.lb.test", "A")
                    #expect(response.status == "NOERROR" && response.aa, "\(response)\n\(server.log)")
                    #expect(response.answer.allSatisfy { $0.ttl == 20 }, "zone TTL 60, pool ttl 20\n\(response)")
                    answers.append(response.addresses)
                }
                #expect(Set(answers[0]) == Set(backends.addresses), "all four are up\n\(answers)\n\(server.log)")
                for i in 1..<answers.count {
                    #expect(answers[i] == rotated(answers[i - 1], by: 1), "answer \(i) starts one later: \(answers)")
                }
                #expect(Set(answers.prefix(4).map(\.first)).count == 4, "the first address cycles: \(answers)")
                #expect(answers[4] == answers[0], "the cycle has length four: \(answers)")

                let short = try await Dig.query(server.endpoint, "short.lb.test", "A")
                #expect(short.addresses.count == 4, "\(short)")
                #expect(short.answer.allSatisfy { $0.ttl == 5 }, "zone TTL 5 is below the pool's 20\n\(short)")
            }
        }
    }

    @Test("max_answers: 2 — each answer is a window of two that moves with the rotation")
    func maxAnswersWindows() async throws {
        try await withBackends { backends in
            let files = try LBFiles(["www": LBFiles.aRecords(backends.addresses)])
            defer { files.remove() }
            let config = """
                pools:
                  - name: www.lb.test
                    ttl: 20
                    max_answers: 2
                    check: \(fastCheck(port: backends.port))
                """
            try await withCarousel(zones: [files.zones], config: config) { server in
                var answers: [[String]] = []
                for _ in 0..<8 {
                    let response = try await Dig.query(server.endpoint, "www.lb.test", "A")
                    #expect(response.status == "NOERROR", "\(response)\n\(server.log)")
                    answers.append(response.addresses)
                }
                #expect(answers.allSatisfy { $0.count == 2 }, "two per answer: \(answers)")
                for start in 0...4 {
                    let covered = Set(answers[start..<start + 4].joined())
                    #expect(covered == Set(backends.addresses), "answers \(start)…\(start + 3) cover all: \(answers)")
                }
                for i in 1..<answers.count where answers[i].count == 2 && answers[i - 1].count == 2 {
                    #expect(answers[i][0] == answers[i - 1][1], "the window moves by one: \(answers)")
                }
            }
        }
    }

    @Test("order: weighted — first places over 200 answers follow the weights 4:2:1:1 (±10 points)")
    func weightedShares() async throws {
        try await withBackends { backends in
            let a = backends.addresses
            let files = try LBFiles(["www": LBFiles.aRecords(a)])
            defer { files.remove() }
            let weights = [a[0]: 4, a[1]: 2, a[2]: 1, a[3]: 1]
            let config = """
                pools:
                  - name: www.lb.test
                    ttl: 20
                    order: weighted
                    weights: {"\(a[0])": 4, "\(a[1])": 2, "\(a[2])": 1, "\(a[3])": 1}
                    check: \(fastCheck(port: backends.port))
                """
            try await withCarousel(zones: [files.zones], config: config) { server in
                var responses: [DigResponse] = []
                for _ in 0..<2 {
                    responses += try await Dig.repeated(server.endpoint, "www.lb.test", "A", count: 100)
                }
                #expect(responses.count == 200, "dig printed \(responses.count) responses")
                #expect(responses.allSatisfy { $0.addresses.count == 4 }, "every answer has all four\n\(server.log)")
                var firsts: [String: Int] = [:]
                for response in responses { if let first = response.addresses.first { firsts[first, default: 0] += 1 } }
                let total = Double(responses.count)
                var shares: [String] = []
                for address in a {
                    let share = Double(firsts[address] ?? 0) / total * 100
                    let expected = Double(weights[address]!) / 8 * 100
                    shares.append(
                        "\(address) \(String(format: "%.1f", share))% (weight \(weights[address]!) → "
                            + "\(String(format: "%.1f", expected))%)")
                    #expect(abs(share - expected) <= 10, "\(address): \(share)% first, expected \(expected)%")
                }
                report("weighted first places over \(responses.count) answers: " + shares.joined(separator: ", "))
            }
        }
    }
}
