/// The bytes of one zone file, kept for what libldns does not report: the line a statement starts
/// on (its `line_nr` counts the lines consumed, which runs past blank lines and the end of a
/// multi-line record) and the text of directives it reads but discards (`$INCLUDE`, `$ORIGIN`,
/// `$TTL`).
struct SourceText {
    /// One statement libldns read: a record or a directive, possibly spread over lines by `( )`.
    struct Statement {
        /// The 1-based line of the statement's first character.
        var line: Int
        /// Whitespace-separated tokens, without comments, parentheses or the quotes around a
        /// quoted token; backslash escapes are kept as written.
        var tokens: [String]
        /// True when the line starts with blank space: the record reuses the previous owner
        /// (RFC 1035 §5.1).
        var ownerOmitted: Bool
    }

    let bytes: [UInt8]
    private let lineStarts: [Int]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        var starts = [0]
        for (i, b) in bytes.enumerated() where b == UInt8(ascii: "\n") { starts.append(i + 1) }
        self.lineStarts = starts
    }

    /// The 1-based line holding byte `offset`.
    func line(at offset: Int) -> Int {
        var lo = 0
        var hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        return lo + 1
    }

    /// The statement in `range` (one call of `ldns_rr_new_frm_fp_l`), skipping the blank and
    /// comment lines libldns consumed before it; nil when there is none.
    func statement(in range: Range<Int>) -> Statement? {
        let end = min(range.upperBound, bytes.count)
        var i = max(range.lowerBound, 0)
        while i < end {
            let c = bytes[i]
            if isBlank(c) || c == UInt8(ascii: "\n") {
                i += 1
            } else if c == UInt8(ascii: ";") {
                while i < end, bytes[i] != UInt8(ascii: "\n") { i += 1 }
            } else {
                break
            }
        }
        guard i < end else { return nil }
        let line = line(at: i)
        return Statement(line: line, tokens: tokenize(i..<end), ownerOmitted: i > lineStarts[line - 1])
    }

    private func tokenize(_ range: Range<Int>) -> [String] {
        var tokens: [String] = []
        var current: [UInt8] = []
        var inToken = false
        var quoted = false
        var comment = false
        var i = range.lowerBound
        func flush() {
            if inToken { tokens.append(String(decoding: current, as: UTF8.self)) }
            current.removeAll()
            inToken = false
        }
        while i < range.upperBound {
            let c = bytes[i]
            i += 1
            if comment {
                if c == UInt8(ascii: "\n") { comment = false }
                continue
            }
            if quoted {
                if c == UInt8(ascii: "\\"), i < range.upperBound {
                    current += [c, bytes[i]]
                    i += 1
                } else if c == UInt8(ascii: "\"") {
                    quoted = false
                } else {
                    current.append(c)
                }
                continue
            }
            switch c {
            case UInt8(ascii: "\""):
                quoted = true
                inToken = true
            case UInt8(ascii: ";"):
                flush()
                comment = true
            case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "\n"):
                flush()
            case UInt8(ascii: "\\") where i < range.upperBound:
                current += [c, bytes[i]]
                inToken = true
                i += 1
            default:
                if isBlank(c) {
                    flush()
                } else {
                    current.append(c)
                    inToken = true
                }
            }
        }
        flush()
        return tokens
    }

    private func isBlank(_ c: UInt8) -> Bool {
        c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r") || c == 0x0B || c == 0x0C
    }
}

/// True when a name as written ends with an unescaped dot, i.e. is absolute (RFC 1035 §5.1).
func isAbsoluteNameText(_ text: String) -> Bool {
    guard text.hasSuffix(".") else { return false }
    let backslashes = text.utf8.dropLast().reversed().prefix { $0 == UInt8(ascii: "\\") }.count
    return backslashes % 2 == 0
}
