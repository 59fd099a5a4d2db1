/// One line from a backend's agent, read as HAProxy 2.6 reads an agent-check reply (configuration
/// manual §5.2 `agent-check`; `tcpcheck_agent_expect_reply`): the line ends at the first CR or
/// LF; words are separated by spaces, tabs or commas, in any order, case-insensitive, the last of
/// each kind winning; `#` at the start of a word begins a description that runs to the end.
///
/// - a word that starts with a digit and holds `%`: the weight, a percentage of the configured one
///   (`75%`; `0%` is weight 0; above 25600 % reads as 25600 %). Anything after the digits but the
///   `%` (`75.5%`, `75%%`) is a warning and changes nothing, as in HAProxy.
/// - `ready`, `drain`, `maint`: the administrative state.
/// - `up`, `down`, `fail`, `stopped`: the agent's verdict on health.
/// - `maxconn:N`: accepted and ignored (DNS has no connections to limit).
///
/// Two spellings HAProxy 2.6 does not take, taken here because operators write them: `failed`
/// (HAProxy knows only `fail`), and a description glued to a word (`down#disk full`: HAProxy
/// reads the unknown word `down#disk`); the HAProxy differential test (IntegrationTests,
/// AgentTests) shows both.
public struct AgentReport: Sendable, Hashable {
    public enum Admin: String, Sendable, Hashable {
        case ready, drain, maint
    }

    public enum Verdict: String, Sendable, Hashable {
        case up, down, fail, failed, stopped

        public var isDown: Bool { self != .up }
    }

    /// Percent of the configured weight, when the line set one.
    public var percent: Int?
    public var admin: Admin?
    public var verdict: Verdict?
    /// The text after `#`, trimmed; nil without one.
    public var description: String?
    /// The first word that was not understood, or a weight that did not parse (HAProxy's `agent
    /// reports an error` and `agent warns`): the rest of the line still counts.
    public var problem: String?
    /// No CR or LF: HAProxy ignores such a line whole ("Ignoring incomplete line from agent").
    public var incomplete = false

    public init(
        percent: Int? = nil, admin: Admin? = nil, verdict: Verdict? = nil, description: String? = nil,
        problem: String? = nil, incomplete: Bool = false
    ) {
        self.percent = percent
        self.admin = admin
        self.verdict = verdict
        self.description = description
        self.problem = problem
        self.incomplete = incomplete
    }

    public static let maxPercent = 25600

    /// Reads the bytes an agent sent (up to and including its line end).
    public init(reply bytes: some Collection<UInt8>) {
        guard let end = bytes.firstIndex(where: { $0 == 0x0A || $0 == 0x0D }) else {
            self.init(incomplete: true)
            return
        }
        self.init()
        let line = Array(bytes[bytes.startIndex..<end])
        var i = 0
        while i < line.count {
            let b = line[i]
            if b == 0x20 || b == 0x09 || b == 0x2C {
                i += 1
                continue
            }
            if b == 0x23 {
                take(description: line[(i + 1)...])
                return
            }
            var j = i + 1
            while j < line.count && line[j] != 0x20 && line[j] != 0x09 && line[j] != 0x2C { j += 1 }
            var word = Array(line[i..<j])
            var glued: ArraySlice<UInt8>?
            if let hash = word.firstIndex(of: 0x23) {
                glued = line[(i + hash + 1)...]
                word.removeSubrange(hash...)
            }
            take(word: word)
            if let glued {
                take(description: glued)
                return
            }
            i = j
        }
    }

    private mutating func take(description text: ArraySlice<UInt8>) {
        let trimmed = text.drop { $0 == 0x20 || $0 == 0x09 }
        var s = String(decoding: trimmed, as: UTF8.self)
        while s.last == " " || s.last == "\t" { s.removeLast() }
        description = s
    }

    private mutating func take(word bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        let lower = text.lowercased()
        if let v = Verdict(rawValue: lower) {
            verdict = v
        } else if let a = Admin(rawValue: lower) {
            admin = a
        } else if let first = bytes.first, first >= 0x30 && first <= 0x39, bytes.contains(0x25) {
            var value = 0
            var k = 0
            while k < bytes.count, bytes[k] >= 0x30 && bytes[k] <= 0x39 {
                value = min(value * 10 + Int(bytes[k] - 0x30), 1_000_000)
                k += 1
            }
            if k == bytes.count - 1 && bytes[k] == 0x25 {
                percent = min(value, AgentReport.maxPercent)
            } else if problem == nil {
                problem = "trailing garbage in weight \(text)"
            }
        } else if lower.hasPrefix("maxconn:") {
            // Accepted and ignored.
        } else if problem == nil {
            problem = "unknown word \(text)"
        }
    }
}

/// What a member's agent has said so far: the last word of each kind stands until the agent says
/// otherwise (as in HAProxy: only the agent undoes its `drain`, `maint` or `down`). A weight stands
/// for three intervals without an answer, then the configured weight is back.
public struct AgentState: Sendable, Hashable {
    public var percent: Int = 100
    public var admin: AgentReport.Admin = .ready
    public var verdict: AgentReport.Verdict = .up
    public var description: String?
    /// The last line, as sent (for `/status`), and its problem if any.
    public var lastLine: String?
    public var problem: String?
    /// Why the last attempt got no line (`connect refused`, `timeout after 1s`), or nil.
    public var failure: String?
    /// Attempts in a row without a line (a failure or an incomplete line).
    public var misses = 0
    /// The agent has answered at least once.
    public var answered = false

    public init() {}

    /// Silent for this many attempts in a row: the reported weight is dropped.
    public static let weightExpiry = 3

    public mutating func take(_ report: AgentReport, line: String) {
        lastLine = line
        guard !report.incomplete else {
            problem = "incomplete line (no CR or LF)"
            misses += 1
            expire()
            return
        }
        answered = true
        misses = 0
        failure = nil
        problem = report.problem
        if let a = report.admin { admin = a }
        if let p = report.percent { percent = p }
        if let v = report.verdict {
            verdict = v
            description = report.description
        }
    }

    public mutating func missed(_ reason: String) {
        failure = reason
        misses += 1
        expire()
    }

    private mutating func expire() {
        if misses >= AgentState.weightExpiry { percent = 100 }
    }

    /// Out of answers: `maint`, or a `down` (`fail`, `stopped`) verdict.
    public var isOut: Bool { admin == .maint || verdict.isDown }

    /// The weight factor the view carries, in thousandths: 0 while drained (or at `0%`).
    public var factor: UInt16 {
        admin == .drain ? 0 : UInt16(min(Int(UInt16.max), percent * 10))
    }

    /// The agent's state in one word, as HAProxy's stats would show it: `up`, `drain`, `maint`,
    /// `down`, `fail`, `failed`, `stopped`.
    public var word: String {
        if admin == .maint { return "maint" }
        if verdict.isDown { return verdict.rawValue }
        if admin == .drain { return "drain" }
        return "up"
    }
}
