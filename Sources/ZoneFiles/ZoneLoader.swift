// Zone loading: RFC 1035 master files in, `ZoneFile` values and `file:line:` problems out.
//
// Owns: finding zone files, reading master-file text (the one place Carousel does): natively in
// Swift for the common record types (MasterFile*.swift), with libldns for every other type and
// every oddly written record (`ldns_rr_new_frm_str`, converted to `ResourceRecord`, C memory freed
// at once); `$INCLUDE`/`$ORIGIN`/`$TTL`; and the semantic checks `named-checkzone` makes
// (ZoneLoader+Check.swift). libldns alone (LDNSCursor) is kept as the reference the native
// reader is tested against, record for record.
// Must not: build the lookup tree or catalog, know about pools, health or the config, touch the
// network, or keep any libldns value beyond a call; it never extends the master-file syntax
// (zone files stay readable by `ldns-read-zone`, `named-checkzone` and `kzonecheck`).

import DNSWire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A zone parsed and checked, with the warnings that did not stop it.
public struct LoadOutcome: Sendable {
    public var zone: ZoneFile
    public var warnings: [Problem]
    /// The files the zone file `$INCLUDE`s, directly or not.
    public var includes: [String]

    public init(zone: ZoneFile, warnings: [Problem] = [], includes: [String] = []) {
        self.zone = zone
        self.warnings = warnings
        self.includes = includes
    }
}

/// Reads and checks zone files. Parsing stops at the first syntax error (as libldns, whose error
/// texts it keeps, does); the checks report every problem they find.
public enum ZoneLoader {
    /// The zone files named by `paths`: a directory stands for the `*.zone` files directly in it
    /// (sorted by name, not recursive), a file for itself. A path that does not exist is a problem.
    public static func zoneFiles(at paths: [String]) throws(Problem) -> [String] {
        var files: [String] = []
        for path in paths {
            var info = stat()
            guard stat(path, &info) == 0 else {
                throw Problem(file: path, line: 0, message: "cannot read: \(String(cString: strerror(errno)))")
            }
            guard info.st_mode & S_IFMT == S_IFDIR else {
                files.append(path)
                continue
            }
            guard let dir = opendir(path) else {
                throw Problem(file: path, line: 0, message: "cannot list: \(String(cString: strerror(errno)))")
            }
            defer { closedir(dir) }
            var names: [String] = []
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) {
                    String(cString: $0.bindMemory(to: CChar.self).baseAddress!)
                }
                guard name.hasSuffix(".zone"), name != ".zone" else { continue }
                let full = path.hasSuffix("/") ? path + name : path + "/" + name
                var fileInfo = stat()
                if stat(full, &fileInfo) == 0, fileInfo.st_mode & S_IFMT == S_IFREG { names.append(full) }
            }
            files += names.sorted()
        }
        return files
    }

    /// Parses `file` and the files it includes. The origin is, in order: `origin` when given; the
    /// `$ORIGIN` before the first record; the owner of a first record that is an SOA written as
    /// an absolute name; the file name without `.zone` (`example.com.zone` → `example.com.`).
    /// Only class IN is accepted. Identical records are kept once, as BIND does (the first one's
    /// TTL and line win). Records without a TTL and with no `$TTL` before them get 3600
    /// (libldns's default; BIND would use the SOA minimum).
    public static func parse(file: String, origin: DNSName? = nil) -> Result<ZoneFile, Problem> {
        parseWithIncludes(file: file, origin: origin).result
    }

    /// `parse`, and the files included up to the end or the first error.
    static func parseWithIncludes(
        file: String, origin: DNSName?, maxRecords: Int = .max, syntax: ZoneSyntax = .native
    ) -> (result: Result<ZoneFile, Problem>, includes: [String]) {
        var reader = ZoneReader()
        reader.maxRecords = maxRecords
        reader.syntax = syntax
        do throws(Problem) {
            var (zoneOrigin, startOrigin) = (origin ?? .root, origin ?? .root)
            if origin == nil { (zoneOrigin, startOrigin) = try inferOrigin(file: file, syntax: syntax) }
            try reader.read(file: file, origin: startOrigin, defaultTTL: nil)
            let zone = ZoneFile(origin: zoneOrigin, file: file, records: reader.records, fallbacks: reader.fallbacks)
            return (.success(zone), reader.includes)
        } catch {
            return (.failure(error), reader.includes)
        }
    }

    /// Parses and checks `file`: the zone and its warnings, or every error (with the warnings).
    /// Both carry the files the zone file includes, so edits to them can be watched too.
    /// A zone of more than `maxRecords` records is refused.
    public static func load(
        file: String, origin: DNSName? = nil, maxRecords: Int = .max
    ) -> Result<LoadOutcome, ZoneLoadFailure> {
        let (parsed, includes) = parseWithIncludes(file: file, origin: origin, maxRecords: maxRecords)
        switch parsed {
        case .failure(let problem):
            return .failure(ZoneLoadFailure(errors: [problem], includes: includes))
        case .success(let zone):
            let result = check(zone)
            guard result.errors.isEmpty else {
                return .failure(ZoneLoadFailure(errors: result.errors, warnings: result.warnings, includes: includes))
            }
            return .success(LoadOutcome(zone: zone, warnings: result.warnings, includes: includes))
        }
    }

    /// The zone's origin, and the origin relative names start from (they differ only when the
    /// zone's origin comes from a relative `$ORIGIN`, which is relative to the file-name origin).
    static func inferOrigin(file: String, syntax: ZoneSyntax) throws(Problem) -> (zone: DNSName, start: DNSName) {
        let fromName = originFromFileName(file)
        let cursor = try syntax.cursor(file: file, origin: (try? fromName.get()) ?? .root, defaultTTL: nil)
        // Errors here are left for the real parse to report; includes end the search.
        switch try? cursor.next() {
        case .origin(let origin, _):
            return (origin, try fromName.get())
        case .record(let record, _, ownerAbsolute: true) where record.type == .soa:
            return (record.name, record.name)
        default:
            let origin = try fromName.get()
            return (origin, origin)
        }
    }

    static func originFromFileName(_ file: String) -> Result<DNSName, Problem> {
        var base = Substring(file)
        if let slash = base.lastIndex(of: "/") { base = base[base.index(after: slash)...] }
        if base.hasSuffix(".zone") { base = base.dropLast(5) }
        do {
            return .success(try DNSName(String(base)))
        } catch {
            return .failure(
                Problem(file: file, line: 0, message: "cannot take the origin from the file name: \(error)"))
        }
    }
}
