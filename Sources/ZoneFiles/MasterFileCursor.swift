import CLDNS
import DNSWire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads one zone file statement by statement in Swift, from one read of the file: owners, TTLs,
/// classes, `$ORIGIN` and `$TTL` itself, and the rdata of the common types (MasterFileRecord.swift).
/// A record of any other type, or written in a way it does not vouch for, is handed whole to
/// libldns (`ldns_rr_new_frm_str`), so every type libldns knows keeps working and its error texts
/// stay. It reads what `LDNSCursor` reads, record for record (the differential tests hold it to
/// that), and also takes class before TTL (`www IN 300 A …`, RFC 1035 §5.1), which libldns refuses.
final class MasterFileCursor: ZoneCursor {
    let file: String
    private(set) var origin: DNSName
    private(set) var defaultTTL: UInt32?

    let bytes: UnsafeMutableBufferPointer<UInt8>
    var lexer: MasterFileLexer
    var statement = MasterFileLexer.Statement()
    /// The previous record's owner, and the token it was written as (to reuse the name when the
    /// next record repeats it, as big zones do).
    var previousOwner: DNSName?
    var previousOwnerToken: MasterFileLexer.Token?
    /// Scratch space for a record's rdata, reused.
    var rdata: [UInt8] = []
    private var ldnsOrigin: UnsafeMutablePointer<ldns_rdf>?
    /// Records read by libldns (`fallback`), for the tests that hold the native reader to 0 on
    /// the zones it is meant for.
    private(set) var fallbacks = 0

    /// Opens and reads `file`; a failure is reported at `site` (the `$INCLUDE` line), or at line 0.
    init(file: String, origin: DNSName, defaultTTL: UInt32?, site: (file: String, line: Int)? = nil)
        throws(Problem)
    {
        func failure(_ reason: String) -> Problem { .unreadable(file, reason, site: site) }
        let fd = open(file, O_RDONLY)
        guard fd >= 0 else { throw failure(String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure(String(cString: strerror(errno))) }
        var capacity = max(Int(info.st_size), 0) + 1
        var buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: capacity)
        var count = 0
        while true {
            if count == capacity {
                let bigger = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: capacity * 2)
                _ = bigger.initialize(from: buffer)
                buffer.deallocate()
                buffer = bigger
                capacity *= 2
            }
            let n = read(fd, buffer.baseAddress! + count, capacity - count)
            if n < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                buffer.deallocate()
                throw failure(reason)
            }
            if n == 0 { break }
            count += n
        }
        self.bytes = buffer
        self.lexer = MasterFileLexer(UnsafeBufferPointer(rebasing: buffer[..<count]))
        self.file = file
        self.origin = origin
        self.defaultTTL = defaultTTL
    }

    deinit {
        bytes.deallocate()
        ldns_rdf_deep_free(ldnsOrigin)
    }

    func next() throws(Problem) -> ZoneEntry? {
        while lexer.next(into: &statement) {
            let b = lexer.bytes
            let first = statement.tokens[0]
            if !statement.ownerOmitted, !first.quoted, b[first.start] == UInt8(ascii: "$") {
                let directive = text(first)
                switch directive {
                case _ where statement.tokens.count < 2 && (directive == "$TTL" || directive == "$ORIGIN"):
                    // Without an argument libldns does not see a directive: the record path reports it.
                    return try record()
                case "$TTL":
                    try setTTL()
                    continue
                case "$ORIGIN":
                    try setOrigin()
                    return .origin(origin, line: statement.line)
                case "$INCLUDE":
                    guard statement.tokens.count >= 2 else {
                        throw problem(statement.line, "$INCLUDE needs a file name")
                    }
                    let originText = statement.tokens.count > 2 ? text(statement.tokens[2]) : nil
                    return .include(path: text(statement.tokens[1]), origin: originText, line: statement.line)
                default:
                    break
                }
            }
            return try record()
        }
        return nil
    }

    func problem(_ line: Int, _ message: String) -> Problem {
        Problem(file: file, line: line, message: message)
    }

    /// A token as written (escapes kept), as the directives and error messages need it.
    func text(_ t: MasterFileLexer.Token) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: lexer.bytes[t.start..<t.end]), as: UTF8.self)
    }

    /// `$ORIGIN name`: a relative name is relative to the current origin (RFC 1035 §5.1).
    private func setOrigin() throws(Problem) {
        guard statement.tokens.count >= 2 else { throw problem(statement.line, "$ORIGIN needs a domain name") }
        let name = text(statement.tokens[1])
        do {
            origin = try DNSName(name, origin: origin)
        } catch {
            throw problem(statement.line, "bad $ORIGIN \(name): \(error)")
        }
        previousOwnerToken = nil
        ldns_rdf_deep_free(ldnsOrigin)
        ldnsOrigin = nil
    }

    /// `$TTL ttl` (RFC 2308 §4), in seconds or with units (`1h30m`), as libldns reads them.
    private func setTTL() throws(Problem) {
        let value = statement.tokens.count >= 2 ? text(statement.tokens[1]) : nil
        guard let value, let ttl = LDNSCursor.period(value) else {
            throw problem(statement.line, "bad $TTL value \(value ?? "(missing)")")
        }
        defaultTTL = ttl
    }

    /// The record handed whole to libldns, with the owner written out when it was omitted.
    func fallback(explicitTTL: UInt32?, ownerAbsolute: Bool) throws(Problem) -> ZoneEntry {
        fallbacks += 1
        var text: [UInt8] = []
        if statement.ownerOmitted {
            text += Array((previousOwner?.description ?? "").utf8)
            text.append(space)
        }
        text += lexer.flattened(statement)
        text.append(0)
        if ldnsOrigin == nil { ldnsOrigin = LDNSCursor.rdf(origin) }
        var rr: UnsafeMutablePointer<ldns_rr>?
        var prev: UnsafeMutablePointer<ldns_rdf>? = nil
        let status = text.withUnsafeBufferPointer {
            $0.withMemoryRebound(to: CChar.self) {
                ldns_rr_new_frm_str(&rr, $0.baseAddress, defaultTTL ?? 0, ldnsOrigin, &prev)
            }
        }
        ldns_rdf_deep_free(prev)
        guard status == LDNS_STATUS_OK, let rr else {
            throw problem(statement.line, String(cString: ldns_get_errorstr_by_id(status)))
        }
        defer { ldns_rr_free(rr) }
        var record = try LDNSCursor.convert(rr, problem: { problem(statement.line, $0) })
        if let ttl = explicitTTL ?? defaultTTL { record.ttl = ttl }
        previousOwner = record.name
        previousOwnerToken = nil
        return .record(record, line: statement.line, ownerAbsolute: ownerAbsolute)
    }
}
