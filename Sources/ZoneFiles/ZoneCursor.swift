import DNSWire

/// What a zone file statement asks of the reader: a record to keep, or a directive that changes
/// its state. Blank lines, comments and `$TTL` are handled inside the cursor.
enum ZoneEntry {
    /// `ownerAbsolute`: the owner was written as an absolute name (used to infer the origin).
    case record(ResourceRecord, line: Int, ownerAbsolute: Bool)
    case origin(DNSName, line: Int)
    case include(path: String, origin: String?, line: Int)
}

/// Reads one zone file, statement by statement. Two readers: `MasterFileCursor` (native, the
/// one the server uses) and `LDNSCursor` (libldns throughout, the reference the tests compare with).
protocol ZoneCursor: AnyObject {
    var file: String { get }
    /// The origin relative names are completed with (`$ORIGIN`, RFC 1035 §5.1).
    var origin: DNSName { get }
    /// The `$TTL` in force (RFC 2308 §4); nil until one is seen, when records get 3600.
    var defaultTTL: UInt32? { get }
    /// Records this cursor handed to libldns whole because the native reader does not read
    /// their type or spelling (0 for the libldns cursor, which reads everything that way).
    var fallbacks: Int { get }
    /// The next record or directive; nil at the end of the file. Throws at the first error.
    func next() throws(Problem) -> ZoneEntry?
    func problem(_ line: Int, _ message: String) -> Problem
}

/// Which reader parses zone text.
enum ZoneSyntax: Sendable {
    case native
    /// libldns for every statement: the reference.
    case ldns

    func cursor(file: String, origin: DNSName, defaultTTL: UInt32?, site: (file: String, line: Int)? = nil)
        throws(Problem) -> any ZoneCursor
    {
        switch self {
        case .native: try MasterFileCursor(file: file, origin: origin, defaultTTL: defaultTTL, site: site)
        case .ldns: try LDNSCursor(file: file, origin: origin, defaultTTL: defaultTTL, site: site)
        }
    }
}
