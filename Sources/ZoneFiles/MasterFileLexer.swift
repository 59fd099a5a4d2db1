/// Splits master-file bytes into statements and tokens (RFC 1035 §5.1) without copying: a token
/// is a byte range of the file, escapes left as written, so the common record costs no
/// allocation. Parentheses join lines, `;` starts a comment, `"…"` quotes blanks and `;`, and a
/// backslash escapes the next byte. What libldns would read differently (a quote inside a word,
/// an unbalanced parenthesis) marks the statement `odd`, and the caller hands it to libldns.
struct MasterFileLexer {
    struct Token {
        /// The token's bytes, without the quotes when `quoted`.
        var start: Int
        var end: Int
        var quoted: Bool
    }

    /// One record or directive.
    struct Statement {
        /// The 1-based line of its first token.
        var line = 0
        /// The line starts with blank space: the record reuses the previous owner (RFC 1035 §5.1).
        var ownerOmitted = false
        var tokens: [Token] = []
        /// From the first token to the end of the statement, for the libldns fallback.
        var start = 0
        var end = 0
        /// Written in a way the lexer does not vouch for; only libldns may interpret it.
        var odd = false
    }

    let bytes: UnsafeBufferPointer<UInt8>
    private(set) var offset = 0
    /// The line of the byte at `offset`.
    private(set) var line = 1

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// Reads the next statement into `statement` (its token array is reused); false at the end.
    mutating func next(into statement: inout Statement) -> Bool {
        statement.tokens.removeAll(keepingCapacity: true)
        statement.odd = false
        let n = bytes.count
        var depth = 0
        var lineStart = offset == 0 || bytes[offset - 1] == newline
        var begun = false
        while offset < n {
            let c = bytes[offset]
            if c == newline {
                line += 1
                offset += 1
                if depth == 0 && !statement.tokens.isEmpty {
                    statement.end = offset - 1
                    return true
                }
                if depth == 0 { begun = false }
                lineStart = true
                continue
            }
            if isBlank(c) {
                offset += 1
                lineStart = false
                continue
            }
            if c == semicolon {
                while offset < n, bytes[offset] != newline { offset += 1 }
                continue
            }
            if !begun {
                begun = true
                statement.line = line
                statement.start = offset
                statement.ownerOmitted = !lineStart
            }
            lineStart = false
            if c == openParen {
                depth += 1
                offset += 1
            } else if c == closeParen {
                if depth == 0 { statement.odd = true } else { depth -= 1 }
                offset += 1
            } else if c == quote {
                offset += 1
                let start = offset
                while offset < n, bytes[offset] != quote {
                    let b = bytes[offset]
                    if b == backslash, offset + 1 < n {
                        if bytes[offset + 1] == newline { line += 1 }
                        offset += 2
                        continue
                    }
                    if b == newline {
                        // libldns ends the string (and, outside parentheses, the record) here.
                        statement.odd = true
                        break
                    }
                    offset += 1
                }
                statement.tokens.append(Token(start: start, end: offset, quoted: true))
                if offset < n, bytes[offset] == quote {
                    offset += 1
                    if offset < n, !isDelimiter(bytes[offset]) { statement.odd = true }
                }
            } else {
                let start = offset
                while offset < n {
                    let b = bytes[offset]
                    if b == backslash, offset + 1 < n, bytes[offset + 1] != newline {
                        offset += 2
                        continue
                    }
                    if isDelimiter(b) { break }
                    if b == quote { statement.odd = true }
                    offset += 1
                }
                statement.tokens.append(Token(start: start, end: offset, quoted: false))
            }
        }
        if depth != 0 { statement.odd = true }
        statement.end = offset
        return !statement.tokens.isEmpty
    }

    /// The statement as one line for `ldns_rr_new_frm_str`: comments dropped, parentheses and
    /// line breaks outside quotes turned into spaces.
    func flattened(_ statement: Statement) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(statement.end - statement.start)
        var i = statement.start
        var quoted = false
        while i < statement.end {
            let c = bytes[i]
            if c == backslash, i + 1 < statement.end {
                out.append(c)
                out.append(bytes[i + 1])
                i += 2
                continue
            }
            if quoted {
                if c == quote { quoted = false }
                out.append(c == newline ? space : c)
            } else if c == quote {
                quoted = true
                out.append(c)
            } else if c == semicolon {
                while i < statement.end, bytes[i] != newline { i += 1 }
                continue
            } else if c == openParen || c == closeParen || c == newline || c == 0x0D {
                out.append(space)
            } else {
                out.append(c)
            }
            i += 1
        }
        return out
    }

    @inline(__always)
    private func isDelimiter(_ c: UInt8) -> Bool {
        isBlank(c) || c == newline || c == semicolon || c == openParen || c == closeParen
    }
}

@inline(__always)
func isBlank(_ c: UInt8) -> Bool { c == space || c == 0x09 || c == 0x0D || c == 0x0B || c == 0x0C }

let newline = UInt8(ascii: "\n")
let space = UInt8(ascii: " ")
let semicolon = UInt8(ascii: ";")
let quote = UInt8(ascii: "\"")
let backslash = UInt8(ascii: "\\")
let openParen = UInt8(ascii: "(")
let closeParen = UInt8(ascii: ")")

@inline(__always)
func isDecimalDigit(_ c: UInt8) -> Bool { c &- 48 < 10 }
