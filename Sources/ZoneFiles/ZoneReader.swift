import DNSWire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a zone file and the files it `$INCLUDE`s (RFC 1035 §5.1), which libldns does not do,
/// collecting the records in file order and dropping repeats of identical records.
struct ZoneReader {
    /// Deepest `$INCLUDE` nesting allowed below the zone file itself.
    static let maxIncludeDepth = 8

    private(set) var records: [LoadedRecord] = []
    /// The most records kept; one more is an error (`limits.zone_records`).
    var maxRecords = Int.max
    /// Which reader parses the text: native, or libldns alone (the reference, for tests).
    var syntax = ZoneSyntax.native
    /// Records already kept: a repeat of owner, type, class and rdata is dropped.
    private var seen = RecordDedup()
    /// Canonical paths of the files being read, outermost first, to catch include loops.
    private var reading: [String] = []
    /// Every file `$INCLUDE`d so far (resolved paths, first read order, no repeats), so that a
    /// watcher can notice edits to them as well as to the zone file.
    private(set) var includes: [String] = []
    /// Records the native reader handed to libldns, over every file read.
    private(set) var fallbacks = 0

    /// Reads `file` with `origin` and `defaultTTL` in force at its start; `site` is the
    /// `$INCLUDE` line that names it, nil for the zone file.
    mutating func read(file: String, origin: DNSName, defaultTTL: UInt32?, site: (file: String, line: Int)? = nil)
        throws(Problem)
    {
        let canonical = ZoneReader.canonicalPath(file)
        if let site {
            if reading.contains(canonical) {
                throw Problem(
                    file: site.file, line: site.line, message: "$INCLUDE loop: \(file) is already being read")
            }
            if reading.count > ZoneReader.maxIncludeDepth {
                throw Problem(
                    file: site.file, line: site.line,
                    message: "$INCLUDE nested deeper than \(ZoneReader.maxIncludeDepth) levels at \(file)")
            }
        }
        if site != nil, !includes.contains(file) { includes.append(file) }
        if site == nil {
            // Room for the records a file this size holds (~25 bytes each in big zones): growing
            // the set rehashes every record, a tenth of a big zone's load time.
            var st = stat()
            if stat(file, &st) == 0 {
                let estimate = min(Int(st.st_size) / 25, maxRecords, 50_000_000)
                seen.reserveCapacity(estimate)
                records.reserveCapacity(estimate)
            }
        }
        let cursor = try syntax.cursor(file: file, origin: origin, defaultTTL: defaultTTL, site: site)
        reading.append(canonical)
        defer {
            reading.removeLast()
            fallbacks += cursor.fallbacks
        }
        while let entry = try cursor.next() {
            switch entry {
            case .record(let record, let line, _):
                if !seen.isRepeat(record, in: records) {
                    guard records.count < maxRecords else {
                        throw cursor.problem(
                            line, "more than \(maxRecords) records: the zone is over limits.zone_records")
                    }
                    records.append(LoadedRecord(record: record, file: file, line: line))
                }
            case .origin:
                continue
            case .include(let path, let originText, let line):
                // The included file starts with the given origin, else the current one; the
                // including file's origin, $TTL and previous owner are unchanged afterwards.
                var includeOrigin = cursor.origin
                if let originText {
                    do {
                        includeOrigin = try DNSName(originText, origin: cursor.origin)
                    } catch {
                        throw cursor.problem(line, "bad $INCLUDE origin \(originText): \(error)")
                    }
                }
                try read(
                    file: ZoneReader.resolve(path, from: file), origin: includeOrigin,
                    defaultTTL: cursor.defaultTTL, site: (file, line))
            }
        }
    }

    /// `path` as written in `$INCLUDE`: a relative path is relative to the including file's directory.
    static func resolve(_ path: String, from includingFile: String) -> String {
        if path.hasPrefix("/") { return path }
        guard let slash = includingFile.lastIndex(of: "/") else { return path }
        return String(includingFile[...slash]) + path
    }

    static func canonicalPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
