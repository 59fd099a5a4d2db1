// Queries with the real dig (BIND 9.18) and kdig (Knot 3.2), and a reader of their text output.

import Foundation

/// One record as dig prints it: `owner TTL class type rdata`; the owner is lowercased so that
/// 0x20 case and compression choices do not matter when comparing.
struct DigRecord: Hashable, Comparable, Sendable, CustomStringConvertible {
    var owner: String
    var ttl: Int
    var rclass: String
    var type: String
    var rdata: String

    var description: String { "\(owner) \(ttl) \(rclass) \(type) \(rdata)" }
    static func < (a: DigRecord, b: DigRecord) -> Bool { a.description < b.description }

    /// Parses one record line; nil for anything else.
    init?(line: String) {
        let fields = line.split(maxSplits: 4, omittingEmptySubsequences: true) { $0 == " " || $0 == "\t" }
        guard fields.count >= 4, !fields[0].hasPrefix(";"), let ttl = Int(fields[1]) else { return nil }
        owner = fields[0].lowercased()
        self.ttl = ttl
        rclass = String(fields[2])
        type = String(fields[3])
        rdata = fields.count > 4 ? fields[4].trimmingCharacters(in: .whitespaces) : ""
    }

    init(_ text: String) { self.init(line: text)! }
}

/// One response as printed by dig or kdig.
struct DigResponse: Sendable, CustomStringConvertible {
    var status: String?  // NOERROR, NXDOMAIN, … ; nil when no answer came
    var opcode: String?
    var flags: Set<String> = []
    var counts: [String: Int] = [:]
    var ednsVersion: Int?
    var ednsUDPSize: Int?
    /// EDNS header flags as printed ("do"), empty without EDNS.
    var ednsFlags: Set<String> = []
    /// The EDNS options as printed, one line each (`EDE: 20 (Not Authoritative)`, `NSID: …`),
    /// with an EDE's EXTRA-TEXT split off into `extendedErrors`.
    var ednsOptions: [String] = []
    /// Extended DNS Errors (RFC 8914): INFO-CODE and EXTRA-TEXT (empty when none), as dig's
    /// `; EDE: 18 (Prohibited): (text)` and kdig's `;; EDE: 18 (Prohibited): 'text'` show them.
    var extendedErrors: [(code: Int, text: String)] = []
    var question: [String] = []
    var answer: [DigRecord] = []
    var authority: [DigRecord] = []
    var additional: [DigRecord] = []
    var text: String

    var aa: Bool { flags.contains("aa") }
    var tc: Bool { flags.contains("tc") }
    var rd: Bool { flags.contains("rd") }
    var ra: Bool { flags.contains("ra") }
    var hasEDNS: Bool { ednsVersion != nil }
    var description: String { text }

    /// Splits dig or kdig output into its responses (one per `->>HEADER<<-` line).
    static func parseAll(_ output: String) -> [DigResponse] {
        var responses: [DigResponse] = []
        var section = ""
        for rawLine in output.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(rawLine)
            if line.contains("->>HEADER<<-") {
                responses.append(DigResponse(text: ""))
                section = ""
                responses[responses.count - 1].opcode = field("opcode", in: line)
                responses[responses.count - 1].status = field("status", in: line)
            }
            guard !responses.isEmpty else { continue }
            responses[responses.count - 1].text += line + "\n"
            responses[responses.count - 1].parse(line: line, section: &section)
        }
        return responses
    }

    private static func field(_ key: String, in line: String) -> String? {
        guard let range = line.range(of: "\(key): ") else { return nil }
        return String(line[range.upperBound...].prefix { $0.isLetter || $0.isNumber })
    }

    /// An option line of the OPT pseudo-section (`; NSID: …` for dig, `;; NSID: …` for kdig),
    /// without its semicolons; nil for the EDNS header line and for anything else.
    static func option(_ line: String) -> String? {
        guard line.hasPrefix(";"), !line.hasPrefix("; EDNS:"), !line.hasPrefix(";; Version:") else { return nil }
        let text = line.drop { $0 == ";" || $0 == " " }
        guard let colon = text.firstIndex(of: ":"),
            text[..<colon].allSatisfy({ $0.isUppercase || $0.isNumber || $0 == "=" || $0 == "-" })
        else { return nil }
        return String(text)
    }

    private mutating func parse(line: String, section: inout String) {
        let lower = line.lowercased()
        if lower.hasPrefix(";; flags:") {
            let parts = line.dropFirst(";; flags:".count).split(separator: ";", maxSplits: 1)
            flags = Set((parts.first ?? "").split(separator: " ").map { String($0) })
            for count in (parts.count > 1 ? parts[1] : "").split(whereSeparator: { $0 == "," || $0 == ";" }) {
                let pair = count.split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces) }
                if pair.count == 2, let n = Int(pair[1]) { counts[pair[0]] = n }
            }
        } else if line.hasPrefix(";; OPT PSEUDOSECTION:") || line.hasPrefix(";; EDNS PSEUDOSECTION:") {
            section = "OPT"
        } else if line.hasPrefix("; EDNS: version:") || line.hasPrefix(";; Version:") {
            // dig: "; EDNS: version: 0, flags:; udp: 1232"; kdig: ";; Version: 0; flags: ; UDP size: 1232 B"
            let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            ednsVersion = numbers.first
            if let range = line.range(of: "flags:") {
                let rest = line[range.upperBound...].prefix { $0 != ";" }
                ednsFlags = Set(rest.split(separator: " ").map(String.init))
            }
            ednsUDPSize = numbers.count > 1 ? numbers[1] : nil
        } else if section == "OPT", let option = DigResponse.option(line) {
            if option.hasPrefix("EDE: ") {
                // "EDE: 18 (Prohibited): (text)" or kdig's "EDE: 18 (Prohibited): 'text'"
                let body = option.dropFirst(5)
                let code = Int(body.prefix { $0.isNumber }) ?? -1
                var text = ""
                var key = String(option)
                if let close = body.range(of: "): ") {
                    text = String(body[close.upperBound...])
                    if text.count >= 2, let f = text.first, let l = text.last,
                        (f == "(" && l == ")") || (f == "'" && l == "'")
                    {
                        text = String(text.dropFirst().dropLast())
                    }
                    key = "EDE: " + String(body[..<close.lowerBound]) + ")"
                }
                extendedErrors.append((code, text))
                ednsOptions.append(key)
            } else {
                ednsOptions.append(option)
            }
        } else if line.hasSuffix(" SECTION:") {
            section = line.trimmingCharacters(in: CharacterSet(charactersIn: "; ")).replacingOccurrences(
                of: " SECTION:", with: "")
        } else if section == "QUESTION", line.hasPrefix(";"), line.count > 2 {
            question.append(line.trimmingCharacters(in: CharacterSet(charactersIn: "; ")))
        } else if let record = DigRecord(line: line) {
            switch section {
            case "ANSWER": answer.append(record)
            case "AUTHORITY": authority.append(record)
            case "ADDITIONAL": additional.append(record)
            default: break
            }
        }
    }
}

enum Dig {
    /// Options every query gets: one try, no TCP retry on TC, no cookie, no EDNS version retry.
    static let baseOptions = [
        "+nocmd", "+nostats", "+nocookie", "+tries=1", "+time=2", "+ignore", "+noednsneg", "+nottlunits",
    ]

    /// Runs `dig @server -p port <options> <arguments>` and returns the whole result.
    static func run(_ endpoint: Endpoint, _ arguments: [String]) async throws -> CommandResult {
        try await Command.run("dig", ["@\(endpoint.host)", "-p", "\(endpoint.port)"] + baseOptions + arguments)
    }

    /// One query; the response has `status == nil` when the server sent nothing.
    static func query(_ endpoint: Endpoint, _ arguments: String...) async throws -> DigResponse {
        try await query(endpoint, arguments)
    }

    static func query(_ endpoint: Endpoint, _ arguments: [String]) async throws -> DigResponse {
        let result = try await run(endpoint, arguments)
        return DigResponse.parseAll(result.stdout).last ?? DigResponse(text: result.stdout + result.stderr)
    }

    /// Runs kdig (a second, independent client) and returns every response it printed.
    static func kdig(_ endpoint: Endpoint, _ arguments: [String]) async throws -> [DigResponse] {
        let result = try await Command.run(
            "kdig", ["@\(endpoint.host)", "-p", "\(endpoint.port)", "+retry=0", "+timeout=2"] + arguments)
        return DigResponse.parseAll(result.stdout)
    }
}
