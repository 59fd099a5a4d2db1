import DNSWire

/// A zone file as read, before any tree is built: its origin (the zone apex) and its records in
/// file order, `$INCLUDE`d files inlined where they were included. Identical records (same owner,
/// type, class and rdata) appear once: later copies are dropped as BIND does.
public struct ZoneFile: Sendable {
    public var origin: DNSName
    /// The path the zone was loaded from, as given to the loader.
    public var file: String
    public var records: [LoadedRecord]
    /// How many records the native reader handed to libldns (types it does not read itself, or
    /// spellings it leaves to the reference); 0 for the zones it is written for.
    public var fallbacks = 0

    public init(origin: DNSName, file: String, records: [LoadedRecord], fallbacks: Int = 0) {
        self.origin = origin
        self.file = file
        self.records = records
        self.fallbacks = fallbacks
    }
}

/// A record and where it was written, so later checks can report `file:line:`. `file` is the
/// included file's path (relative to the working directory, like the zone's) when the record
/// came from `$INCLUDE`; `line` is the line the record starts on.
public struct LoadedRecord: Sendable, Hashable {
    public var record: ResourceRecord
    public var file: String
    public var line: Int

    public init(record: ResourceRecord, file: String, line: Int) {
        self.record = record
        self.file = file
        self.line = line
    }
}
