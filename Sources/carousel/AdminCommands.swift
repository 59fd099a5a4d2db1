import Admin
import ArgumentParser
import CarouselConfig
import Foundation

/// How the admin commands find a running Carousel: `--admin`, else the config's `admin:`, else
/// http://127.0.0.1:8053. Exit codes: 0 done, 1 refused or failed (the reason is printed),
/// 2 `status` found something down or broken, 3 the admin API could not be reached.
struct AdminOptions: ParsableArguments {
    @Option(name: .long, help: "The admin API, e.g. http://127.0.0.1:8053 (default: the config's `admin`).")
    var admin: String?

    @Option(name: .long, help: "Bearer token (default: CAROUSEL_ADMIN_TOKEN, then the config's admin_token).")
    var token: String?

    @OptionGroup var config: ConfigOptions

    func client() throws -> AdminClient {
        let c = try? config.resolve()
        let url = admin ?? c?.admin?.description ?? "127.0.0.1:8053"
        let token = token ?? ProcessInfo.processInfo.environment["CAROUSEL_ADMIN_TOKEN"] ?? c?.adminToken
        guard let client = AdminClient(url: url, token: token) else {
            printError("--admin \(url): expected http://HOST:PORT")
            throw ExitCode(1)
        }
        return client
    }

    /// Runs a request, mapping failures to the documented exit codes.
    func run(_ method: String, _ path: String, form: [String: String] = [:]) throws -> AdminClient.Reply {
        let client = try client()
        do {
            return try client.request(method, path, form: form)
        } catch let e as AdminClient.Unreachable {
            printError(e.message)
            throw ExitCode(3)
        } catch {
            printError("\(error)")
            throw ExitCode(3)
        }
    }
}

struct Drain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Take an address out of answers (still probed); kept across restarts.")
    @Argument(help: "The address to drain.") var address: String
    @Option(name: .long, help: "Only from this pool (default: every pool).") var pool: String?
    @Flag(name: .long, help: "Drain even if it is the last healthy member.") var force = false
    @OptionGroup var options: AdminOptions

    func run() async throws {
        var form = ["address": address]
        if let pool { form["pool"] = pool }
        if force { form["force"] = "true" }
        try finish(try options.run("POST", "/drain", form: form))
    }
}

struct Undrain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Put a drained address back into answers.")
    @Argument(help: "The address to undrain.") var address: String
    @Option(name: .long, help: "Only in this pool.") var pool: String?
    @OptionGroup var options: AdminOptions

    func run() async throws {
        var form = ["address": address]
        if let pool { form["pool"] = pool }
        try finish(try options.run("POST", "/undrain", form: form))
    }
}

struct Reload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Re-read the config and zone files now.")
    @OptionGroup var options: AdminOptions

    func run() async throws {
        try finish(try options.run("POST", "/reload"))
    }
}

/// Prints the server's answer; non-2xx is exit 1.
func finish(_ reply: AdminClient.Reply) throws {
    let text = reply.body.trimmingCharacters(in: .whitespacesAndNewlines)
    if (200..<300).contains(reply.status) {
        print(text)
    } else {
        printError("\(reply.status): \(text)")
        throw ExitCode(1)
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show zones, pools and transfers of a running Carousel; exit 2 if anything is down or broken.")
    @Flag(name: .long, help: "Print the raw JSON of /status.") var json = false
    @Flag(
        name: .long,
        help: "Only whether the instance is fit to serve (GET /ready): exit 0, or 1 with the reason (for track_script)."
    )
    var ready = false
    @OptionGroup var options: AdminOptions

    func run() async throws {
        if ready {
            // Unreachable, hung or not ready: 1, with the reason, so a health checker acts on all.
            let reply: AdminClient.Reply
            do {
                reply = try options.client().request("GET", "/ready")
            } catch {
                printError("not ready: the admin API does not answer: \(error)")
                throw ExitCode(1)
            }
            guard reply.status == 200 else {
                printError("not ready: \(reply.body.trimmingCharacters(in: .whitespacesAndNewlines))")
                throw ExitCode(1)
            }
            print("ready")
            return
        }
        let reply = try options.run("GET", "/status")
        guard reply.status == 200 else { try finish(reply); return }
        if json { print(reply.body) }
        guard let report = try? StatusReport.decoder().decode(StatusReport.self, from: Data(reply.body.utf8)) else {
            printError("the admin API answered something that is not a status report")
            throw ExitCode(1)
        }
        if !json { print(StatusTable.render(report)) }
        let degraded =
            !report.errors.isEmpty
            || report.pools.contains { $0.sets.contains { $0.members.contains { $0.state == "down" } } }
            || report.transfers?.secondary.contains { $0.serial == nil } == true
            || report.fleet?.role == "alone"
        if degraded { throw ExitCode(2) }
    }
}

/// `carousel status` as a readable table.
enum StatusTable {
    static func render(_ r: StatusReport) -> String {
        var lines: [String] = []
        lines.append(
            table(
                [["ZONE", "SERIAL", "RECORDS", "FILE", "PROBLEM"]]
                    + r.zones.map {
                        [$0.origin, "\($0.serial)", "\($0.records)", $0.file, $0.error ?? ""]
                    }))
        for p in r.pools {
            lines.append("")
            lines.append("POOL \(p.name)  order=\(p.order) ttl=\(p.ttl) all_down=\(p.allDown) check=\(p.check)")
            if let sticky = p.stickyPrefixes {
                lines.append("  sticky: clients keyed by /\(sticky.ipv4) (IPv4) and /\(sticky.ipv6) (IPv6)")
            }
            if p.agent != nil || p.slowStart != nil {
                var extra: [String] = []
                if let a = p.agent { extra.append("agent \(a)") }
                if let s = p.slowStart { extra.append("slow_start \(Int(s))s") }
                lines.append("  " + extra.joined(separator: ", "))
            }
            let share = p.stickyPrefixes != nil
            let agents = p.agent != nil
            let fleet = r.fleet != nil
            for s in p.sets {
                if let reason = s.tierReason { lines.append("  \(s.owner) \(s.type): \(reason)") }
                let tiered = s.tiers != nil
                let head =
                    ["  " + s.owner + " " + s.type, "STATE", "LAST CHECK"] + (tiered ? ["TIER"] : [])
                    + ["WEIGHT", "EFFECTIVE"] + (agents ? ["AGENT"] : []) + (share ? ["SHARE"] : [])
                    + (fleet ? ["FLEET VOTES"] : []) + ["ANSWERS/MIN"]
                let rows = s.members.map { m -> [String] in
                    var row = ["  " + m.address, m.state, m.lastResult ?? "-"]
                    if tiered { row.append(m.tier.map(String.init) ?? "-") }
                    row += ["\(m.weight ?? 1)", String(format: "%.2f", m.effectiveWeight ?? 0)]
                    if agents {
                        var a = m.agent.map { "\($0.state) \($0.percent)%" } ?? "-"
                        if let reason = m.agent?.reason, !reason.isEmpty { a += " (\(reason))" }
                        row.append(a)
                    }
                    if share { row.append(String(format: "%.1f%%", (m.share ?? 0) * 100)) }
                    if fleet {
                        row.append(
                            m.fleetVotes.map { v in
                                "\(v.down)/\(v.voters) down (\(v.needed) takes it out)"
                            } ?? "-")
                    }
                    row.append(
                        "\(m.answersLastMinute ?? 0) (\(String(format: "%.0f%%", (m.answerShare ?? 0) * 100)) first)")
                    return row + [(m.inAnswers ? "yes: " : "no: ") + m.why]
                }
                lines.append(table([head + ["IN ANSWERS"]] + rows))
            }
        }
        if let t = r.transfers {
            if !t.primary.isEmpty {
                lines.append("")
                lines.append(
                    table(
                        [["TRANSFERS OUT", "SERIAL", "VERSIONS", "NOTIFY"]]
                            + t.primary.map { z in
                                let told = z.notify.map {
                                    "\($0.address) \($0.result ?? "-")\($0.serial.map { " (serial \($0))" } ?? "")"
                                }
                                return [
                                    z.zone, z.serial.map(String.init) ?? "-", "\(z.versions)",
                                    told.joined(separator: ", "),
                                ]
                            }))
            }
            if !t.secondary.isEmpty {
                lines.append("")
                lines.append(
                    table(
                        [["SECONDARY ZONE", "PRIMARY", "SERIAL", "LAST TRANSFER", "PROBLEM"]]
                            + t.secondary.map { z in
                                [
                                    z.zone, z.primary, z.serial.map(String.init) ?? "-", z.lastTransferType ?? "-",
                                    [z.error, z.fileError].compactMap { $0 }.joined(separator: "; "),
                                ]
                            }))
            }
        }
        if let f = r.fleet {
            lines.append("")
            lines.append(
                "FLEET self=\(f.selfID) role=\(f.role) master=\(f.master ?? "none") quorum=\(f.quorum) stale_after=\(String(format: "%g", f.staleAfter))s"
            )
            lines.append(
                table(
                    [["  MEMBER", "ADDRESS", "ROLE", "VOTE", "FRESH", "LAST HEARD", "SERIAL", "PROBLEM"]]
                        + f.members.map { m in
                            [
                                "  " + m.id, m.address, m.role, m.vote ?? "-", m.fresh ? "yes" : "no",
                                m.lastHeard.map { ISO8601DateFormatter().string(from: $0) } ?? "never",
                                m.serial.map(String.init) ?? "-", m.error ?? "",
                            ]
                        }))
        }
        if !r.errors.isEmpty {
            lines.append("")
            lines.append("PROBLEMS")
            lines += r.errors.map { "  " + $0 }
        }
        return lines.joined(separator: "\n")
    }

    static func table(_ rows: [[String]]) -> String {
        let widths = (0..<(rows.map(\.count).max() ?? 0)).map { c in
            rows.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0
        }
        return rows.map { row in
            row.enumerated().map { c, cell in
                c == row.count - 1 ? cell : cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
            }
            .joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

/// `carousel zone sync ZONE`: the zone's dynamic updates written into its zone file.
struct ZoneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zone", abstract: "Zone maintenance on a running server.", subcommands: [ZoneSync.self])
}

struct ZoneSync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Write a zone's dynamic updates into its zone file (rewritten whole), then empty its journal.")
    @Argument(help: "The zone (as in updates:).") var zone: String
    @OptionGroup var options: AdminOptions

    func run() async throws {
        try finish(try options.run("POST", "/zones/sync", form: ["zone": zone]))
    }
}
