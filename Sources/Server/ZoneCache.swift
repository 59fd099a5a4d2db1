import DNSWire
import DNSZone
import Foundation

/// The zone files as last seen, so a reload re-reads only files that changed and a broken edit
/// never replaces a good zone: each file keeps its last good `Zone` until a version of the file
/// loads cleanly (DESIGN §4).
public struct ZoneCache: Sendable {
    public init() {}

    public struct Entry: Sendable {
        var signature: FileSignature
        var digest: UInt64
        /// The last version that loaded cleanly (served), and the problems of the current one.
        public var good: Zone?
        public var errors: [ZoneProblem]
        /// When `good` was loaded.
        public var loadedAt = Date()
    }

    /// What a refresh did, for logs and the status page.
    public struct Refresh: Sendable {
        public var loaded: [Zone] = []
        public var removed: [String] = []
        public var errors: [ZoneProblem] = []
        public var warnings: [ZoneProblem] = []
        public var changed: Bool { !loaded.isEmpty || !removed.isEmpty || !errors.isEmpty }
    }

    public private(set) var entries: [String: Entry] = [:]

    /// Every zone to serve now: the last good version of each file still present.
    public var zones: [Zone] { entries.keys.sorted().compactMap { entries[$0]?.good } }
    public var errors: [ZoneProblem] { entries.keys.sorted().flatMap { entries[$0]!.errors } }

    /// Looks at every zone file; loads those whose content changed. Files that disappeared stop
    /// being served. A zone whose origin is already served from another file is an error.
    public mutating func refresh(paths: [String]) -> Refresh {
        var r = Refresh()
        let files: [String]
        do {
            files = try ZoneLoader.zoneFiles(at: paths)
        } catch {
            r.errors.append(error)
            return r
        }
        for gone in Set(entries.keys).subtracting(files) {
            entries[gone] = nil
            r.removed.append(gone)
        }
        for file in files {
            let sig = FileSignature(file)
            if let e = entries[file], e.signature == sig { continue }
            guard let data = FileManager.default.contents(atPath: file) else {
                let p = ZoneProblem(file: file, line: 0, message: "cannot read the file")
                entries[file, default: Entry(signature: sig, digest: 0, good: nil, errors: [])].errors = [p]
                r.errors.append(p)
                continue
            }
            let digest = FileSignature.digest(data)
            if var e = entries[file], e.digest == digest {
                e.signature = sig  // touched, not changed
                entries[file] = e
                continue
            }
            var entry = entries[file] ?? Entry(signature: sig, digest: digest, good: nil, errors: [])
            entry.signature = sig
            entry.digest = digest
            switch ZoneLoader.load(file: file) {
            case .failure(let failure):
                entry.errors = failure.errors
                r.errors += failure.errors
                r.warnings += failure.warnings
            case .success(let outcome):
                r.warnings += outcome.warnings
                do {
                    let zone = try Zone.build(
                        origin: outcome.zone.origin, file: file, records: outcome.zone.records.map(\.record))
                    if let old = entry.good, old.serial == zone.serial {
                        r.warnings.append(ZoneProblem(
                            file: file, line: 1,
                            message: "content changed but the SOA serial did not (\(zone.serial)): secondaries will not see this change"))
                    }
                    entry.good = zone
                    entry.errors = []
                    entry.loadedAt = Date()
                    r.loaded.append(zone)
                } catch {
                    let p = ZoneProblem(file: file, line: 1, message: error.message)
                    entry.errors = [p]
                    r.errors.append(p)
                }
            }
            entries[file] = entry
        }
        // One origin, one file: the first file (in name order) wins.
        var owners: [DNSName: String] = [:]
        for file in entries.keys.sorted() {
            guard let zone = entries[file]?.good else { continue }
            if let first = owners[zone.origin] {
                let p = ZoneProblem(file: file, line: 1, message: "zone \(zone.origin) is already served from \(first)")
                entries[file]!.good = nil
                entries[file]!.errors = [p]
                r.errors.append(p)
            } else {
                owners[zone.origin] = file
            }
        }
        return r
    }
}

/// Enough of a file's metadata to notice that it may have changed (inode for rename-over,
/// size and modification time for writes in place).
struct FileSignature: Equatable, Sendable {
    var inode: UInt64 = 0
    var size: Int64 = -1
    var mtimeNanos: Int64 = 0

    init(_ path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return }
        inode = UInt64(st.st_ino)
        size = Int64(st.st_size)
        mtimeNanos = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
    }

    /// FNV-1a of the content: telling a touch from an edit.
    static func digest(_ data: Data) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in data { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}
