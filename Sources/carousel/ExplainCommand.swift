import Admin
import ArgumentParser
import Foundation

/// `carousel explain NAME --client ADDRESS`: the answer that client gets now from a running
/// Carousel, and why (`GET /explain`).
struct ExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Show the answer a client gets for a name now, and why: its key, each member's rank and state.")
    @Argument(help: "The name asked (a pool's name, or one that leads to it).") var name: String
    @Option(name: .long, help: "The client's address (as a resolver passes it in ECS).") var client: String
    @Option(name: .long, help: "A or AAAA.") var type = "A"
    @Flag(name: .long, help: "Print the raw JSON of /explain.") var json = false
    @OptionGroup var options: AdminOptions

    func run() async throws {
        let query = ["name": name, "client": client, "type": type].sorted { $0.key < $1.key }.map {
            "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: ".-_:"))) ?? $0.value)"
        }.joined(separator: "&")
        let reply = try options.run("GET", "/explain?" + query)
        guard reply.status == 200 else { try finish(reply); return }
        if json {
            print(reply.body)
            return
        }
        guard let e = try? StatusReport.decoder().decode(Explanation.self, from: Data(reply.body.utf8)) else {
            printError("the admin API answered something that is not an explanation")
            throw ExitCode(1)
        }
        print(ExplainCommand.render(e))
    }

    static func render(_ e: Explanation) -> String {
        var lines: [String] = []
        let answer = e.answer.isEmpty ? "no addresses" : e.answer.joined(separator: ", ")
        lines.append("\(e.name) \(e.type) for \(e.client): \(answer) (\(e.rcode)\(e.ttl.map { ", TTL \($0)" } ?? ""))")
        if !e.chain.isEmpty { lines.append("via " + ([e.name] + e.chain).joined(separator: " → ")) }
        guard let pool = e.pool else {
            lines.append("not a pool's name: answered as the zone has it")
            return lines.joined(separator: "\n")
        }
        var head = "pool \(pool) (order \(e.order ?? "?")\(e.maxAnswers.map { ", max_answers \($0)" } ?? ""))"
        if let key = e.key { head += ": key \(key), ECS scope \(e.scope ?? 0)" }
        lines.append(head)
        if let reason = e.tierReason { lines.append(reason) }
        let tiered = e.tier != nil || e.members.contains { $0.tier != nil }
        let agents = e.members.contains { $0.agent != nil }
        let fleet = e.members.contains { $0.fleetVotes != nil }
        let rows =
            [
                ["RANK", "MEMBER"] + (tiered ? ["TIER"] : []) + ["WEIGHT", "EFFECTIVE"] + (agents ? ["AGENT"] : [])
                    + ["STATE"] + (fleet ? ["FLEET VOTES"] : []) + ["IN ANSWER"]
            ]
            + e.members.map { m -> [String] in
                var row = ["\(m.rank)", m.address]
                if tiered { row.append(m.tier.map(String.init) ?? "-") }
                row += ["\(m.weight)", String(format: "%.2f", m.effectiveWeight)]
                if agents { row.append(m.agent ?? "-") }
                row.append(m.state)
                if fleet { row.append(m.fleetVotes?.summary ?? "-") }
                return row + [(m.inAnswer ? "yes: " : "no: ") + m.why]
            }
        lines.append(StatusTable.table(rows.map { ["  " + $0[0]] + $0.dropFirst() }))
        return lines.joined(separator: "\n")
    }
}
