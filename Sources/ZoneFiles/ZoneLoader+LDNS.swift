import CLDNS
import DNSWire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads one zone file statement by statement with libldns (`ldns_rr_new_frm_fp_l`), and turns
/// each `ldns_rr` into a `ResourceRecord`. The only place that holds C memory: the FILE, the
/// origin and previous-owner `ldns_rdf`s (freed in `deinit`) and each `ldns_rr` (freed as soon as
/// it is converted).
///
/// It fixes what libldns gets wrong or leaves out: a relative `$ORIGIN` is taken relative to the
/// current origin (libldns makes it absolute as written), `$TTL` values are validated (libldns
/// reads garbage as 0), `$TTL 0` gives TTL 0 (libldns then uses its default 3600), TTLs above
/// 2^32-1 are refused (libldns wraps them), and each statement gets the line it starts on.
final class LDNSCursor: ZoneCursor {
    typealias Entry = ZoneEntry

    let file: String
    /// The origin relative names are completed with (`$ORIGIN`, RFC 1035 §5.1).
    private(set) var origin: DNSName
    /// The `$TTL` in force (RFC 2308 §4); nil until one is seen, when libldns uses 3600.
    private(set) var defaultTTL: UInt32?
    let fallbacks = 0

    private let source: SourceText
    private let fp: UnsafeMutablePointer<FILE>
    private var ldnsOrigin: UnsafeMutablePointer<ldns_rdf>?
    private var previousOwner: UnsafeMutablePointer<ldns_rdf>?
    private var ldnsTTL: UInt32
    private var ldnsLine: Int32 = 0

    /// Opens `file`; a failure is reported at `site` (the `$INCLUDE` line), or at line 0 of the file.
    init(file: String, origin: DNSName, defaultTTL: UInt32?, site: (file: String, line: Int)? = nil)
        throws(Problem)
    {
        func failure(_ reason: String) -> Problem { .unreadable(file, reason, site: site) }
        guard let fp = fopen(file, "r") else { throw failure(String(cString: strerror(errno))) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, fp) }
            bytes += chunk[..<n]
            if n < chunk.count { break }
        }
        if ferror(fp) != 0 {
            let reason = String(cString: strerror(errno))
            fclose(fp)
            throw failure(reason)
        }
        rewind(fp)
        self.fp = fp
        self.file = file
        self.source = SourceText(bytes)
        self.origin = origin
        self.defaultTTL = defaultTTL
        self.ldnsTTL = defaultTTL ?? 0
        self.ldnsOrigin = LDNSCursor.rdf(origin)
    }

    deinit {
        ldns_rdf_deep_free(ldnsOrigin)
        ldns_rdf_deep_free(previousOwner)
        fclose(fp)
    }

    /// The next record or directive the caller acts on; nil at the end of the file. Blank lines,
    /// comments and `$TTL` are handled here. Throws at the first syntax error: libldns cannot
    /// resynchronise after one.
    func next() throws(Problem) -> Entry? {
        while feof(fp) == 0 {
            let start = ftell(fp)
            var rr: UnsafeMutablePointer<ldns_rr>?
            let status = ldns_rr_new_frm_fp_l(&rr, fp, &ldnsTTL, &ldnsOrigin, &previousOwner, &ldnsLine)
            let statement = source.statement(in: start..<ftell(fp))
            let line = statement?.line ?? Int(ldnsLine)
            switch status {
            case LDNS_STATUS_OK:
                guard let rr else { continue }
                defer { ldns_rr_free(rr) }
                let tokens = statement?.tokens ?? []
                let ownerOmitted = statement?.ownerOmitted ?? true
                var record = try LDNSCursor.convert(rr, problem: { problem(line, $0) })
                if let token = tokens.dropFirst(ownerOmitted ? 0 : 1).first, let first = token.utf8.first,
                    isDigit(first)
                {
                    guard LDNSCursor.period(token) != nil else { throw problem(line, "bad TTL \(token)") }
                } else if let defaultTTL {
                    record.ttl = defaultTTL
                }
                let absolute = !ownerOmitted && tokens.first.map(isAbsoluteNameText) == true
                return .record(record, line: line, ownerAbsolute: absolute)
            case LDNS_STATUS_SYNTAX_EMPTY:
                continue
            case LDNS_STATUS_SYNTAX_TTL:
                try setTTL(statement?.tokens ?? [], line: line)
            case LDNS_STATUS_SYNTAX_ORIGIN:
                try setOrigin(statement?.tokens ?? [], line: line)
                return .origin(origin, line: line)
            case LDNS_STATUS_SYNTAX_INCLUDE:
                let tokens = statement?.tokens ?? []
                guard tokens.count >= 2 else { throw problem(line, "$INCLUDE needs a file name") }
                return .include(path: tokens[1], origin: tokens.count > 2 ? tokens[2] : nil, line: line)
            default:
                throw problem(line, String(cString: ldns_get_errorstr_by_id(status)))
            }
        }
        return nil
    }

    func problem(_ line: Int, _ message: String) -> Problem {
        Problem(file: file, line: line, message: message)
    }

    /// `$ORIGIN name`: a relative name is relative to the current origin (RFC 1035 §5.1).
    private func setOrigin(_ tokens: [String], line: Int) throws(Problem) {
        guard tokens.count >= 2 else { throw problem(line, "$ORIGIN needs a domain name") }
        do {
            origin = try DNSName(tokens[1], origin: origin)
        } catch {
            throw problem(line, "bad $ORIGIN \(tokens[1]): \(error)")
        }
        ldns_rdf_deep_free(ldnsOrigin)
        ldnsOrigin = LDNSCursor.rdf(origin)
    }

    /// `$TTL ttl` (RFC 2308 §4), in seconds or with units (`1h30m`), as libldns reads them.
    private func setTTL(_ tokens: [String], line: Int) throws(Problem) {
        guard tokens.count >= 2, let ttl = LDNSCursor.period(tokens[1]) else {
            throw problem(line, "bad $TTL value \(tokens.dropFirst().first ?? "(missing)")")
        }
        defaultTTL = ttl
        ldnsTTL = ttl
    }

    /// A TTL as libldns's `ldns_str2period` reads it, or nil when it is not one (or is above 2^32-1).
    static func period(_ text: String) -> UInt32? {
        guard let first = text.utf8.first, isDigit(first) else { return nil }
        if text.utf8.allSatisfy(isDigit) { return UInt32(text) }
        return text.withCString { s -> UInt32? in
            var end: UnsafePointer<CChar>?
            let value = ldns_str2period(s, &end)
            guard let end, end.pointee == 0 else { return nil }
            return value
        }
    }

    /// The record as Carousel's value; only class IN is served.
    static func convert(_ rr: UnsafeMutablePointer<ldns_rr>, problem: (String) -> Problem) throws(Problem)
        -> ResourceRecord
    {
        let rrClass = DNSClass(rawValue: UInt16(truncatingIfNeeded: ldns_rr_get_class(rr).rawValue))
        guard rrClass == .in else {
            throw problem("class \(rrClass) is not supported: Carousel serves class IN only")
        }
        let name: DNSName
        do {
            name = try DNSName(wire: LDNSCursor.bytes(ldns_rr_owner(rr)))
        } catch {
            throw problem("bad owner name: \(error)")
        }
        var rdata: [UInt8] = []
        for i in 0..<ldns_rr_rd_count(rr) {
            rdata += LDNSCursor.bytes(ldns_rr_rdf(rr, i))
        }
        guard rdata.count <= Int(UInt16.max) else { throw problem("rdata longer than 65535 bytes") }
        return ResourceRecord(
            name: name, type: RRType(UInt16(truncatingIfNeeded: ldns_rr_get_type(rr).rawValue)),
            rrClass: rrClass, ttl: ldns_rr_ttl(rr), rdata: rdata)
    }

    /// An rdf's data: for names the uncompressed wire form, for every other field its wire bytes.
    static func bytes(_ rdf: UnsafeMutablePointer<ldns_rdf>?) -> [UInt8] {
        guard let rdf, let data = ldns_rdf_data(rdf) else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: ldns_rdf_size(rdf)))
    }

    static func rdf(_ name: DNSName) -> UnsafeMutablePointer<ldns_rdf>? {
        name.wire.withUnsafeBytes { ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, $0.count, $0.baseAddress) }
    }
}

@inline(__always)
private func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
