import DNSWire
import DNSZone
import Foundation
import ZoneFiles

/// The zone files as last seen, so a reload re-reads only files that changed and a broken edit
/// never replaces a good zone: each file keeps its last good `Zone` until a version of the file
/// loads cleanly.
public struct ZoneCache: Sendable {
    public init() {}

    public struct Entry: Sendable {
        var signature: FileSignature
        /// The files the zone file includes, with their signatures when last read.
        var includes: [String: FileSignature] = [:]
        /// Of the zone file and its includes together.
        var digest: UInt64
        /// The last version that loaded cleanly, and the problems of the current one.
        public var good: Zone?
        public var errors: [Problem]
        /// Set while another file (earlier in name order) serves the same origin: `good` is kept,
        /// not served, and comes in when that file goes.
        var clash: Problem?
        /// When `good` was loaded.
        public var loadedAt = Date()

        /// The zone this file serves now.
        public var served: Zone? { clash == nil ? good : nil }
        var problems: [Problem] { errors + (clash.map { [$0] } ?? []) }

        func unchanged(_ signature: FileSignature) -> Bool {
            self.signature == signature && includes.allSatisfy { FileSignature($0.key) == $0.value }
        }
    }

    /// What a refresh did, for logs and the status page.
    public struct Refresh: Sendable {
        public var loaded: [Zone] = []
        public var removed: [String] = []
        public var errors: [Problem] = []
        public var warnings: [Problem] = []
        public var changed: Bool { !loaded.isEmpty || !removed.isEmpty || !errors.isEmpty }
    }

    public private(set) var entries: [String: Entry] = [:]

    /// Every zone to serve now: the last good version of each file still present.
    public var zones: [Zone] { entries.keys.sorted().compactMap { entries[$0]?.served } }
    public var errors: [Problem] { entries.keys.sorted().flatMap { entries[$0]!.problems } }

    /// Looks at every zone file and the files they include; loads those whose content changed.
    /// With `force` (SIGHUP, `carousel reload`), every file's content is compared, not only the
    /// files whose inode, size or modification time moved. Files that disappeared stop being
    /// served. A zone whose origin is already served from another file is an error until that
    /// file goes.
    public mutating func refresh(paths: [String], force: Bool = false, maxRecords: Int = .max) -> Refresh {
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
            if let e = entries[file], !force, e.unchanged(sig) { continue }
            guard let data = FileManager.default.contents(atPath: file) else {
                let p = Problem(file: file, line: 0, message: "cannot read the file")
                entries[file, default: Entry(signature: sig, digest: 0, good: nil, errors: [])].errors = [p]
                r.errors.append(p)
                continue
            }
            var digest = FileSignature.digest(data)
            if var e = entries[file] {
                for include in e.includes.keys.sorted() {
                    digest = FileSignature.combine(digest, FileSignature.digest(include))
                }
                if e.digest == digest {
                    // touched, not changed
                    e.signature = sig
                    for include in e.includes.keys { e.includes[include] = FileSignature(include) }
                    entries[file] = e
                    continue
                }
            }
            var entry = entries[file] ?? Entry(signature: sig, digest: 0, good: nil, errors: [])
            entry.signature = sig
            let includes: [String]
            switch ZoneLoader.load(file: file, maxRecords: maxRecords) {
            case .failure(let failure):
                includes = failure.includes
                entry.errors = failure.errors
                r.errors += failure.errors
                r.warnings += failure.warnings
            case .success(let outcome):
                includes = outcome.includes
                r.warnings += outcome.warnings
                do {
                    let zone = try Zone.build(
                        origin: outcome.zone.origin, file: file, records: outcome.zone.records.map(\.record))
                    if let old = entry.good, old.serial == zone.serial {
                        r.warnings.append(
                            Problem(
                                file: file, line: 1,
                                message:
                                    "content changed but the SOA serial did not (\(zone.serial)): secondaries will not see this change"
                            ))
                    }
                    entry.good = zone
                    entry.errors = []
                    entry.loadedAt = Date()
                    r.loaded.append(zone)
                } catch {
                    let p = Problem(file: file, line: 1, message: error.message)
                    entry.errors = [p]
                    r.errors.append(p)
                }
            }
            // The digest of what was read: the zone file and the includes this parse found.
            entry.includes = Dictionary(includes.map { ($0, FileSignature($0)) }, uniquingKeysWith: { a, _ in a })
            entry.digest = FileSignature.digest(data)
            for include in entry.includes.keys.sorted() {
                entry.digest = FileSignature.combine(entry.digest, FileSignature.digest(include))
            }
            entries[file] = entry
        }
        // One origin, one file: the first file (in name order) wins; the others keep their zone
        // for when it goes.
        var owners: [DNSName: String] = [:]
        for file in entries.keys.sorted() {
            guard let zone = entries[file]?.good else {
                entries[file]?.clash = nil
                continue
            }
            if let first = owners[zone.origin] {
                if entries[file]!.clash == nil {
                    let p = Problem(file: file, line: 1, message: "zone \(zone.origin) is already served from \(first)")
                    entries[file]!.clash = p
                    r.errors.append(p)
                }
            } else {
                owners[zone.origin] = file
                if entries[file]!.clash != nil {
                    entries[file]!.clash = nil
                    r.loaded.append(zone)
                }
            }
        }
        if !r.loaded.isEmpty { ZoneCache.releaseFreedMemory() }
        return r
    }

    /// Hands the pages freed after a load back to the system. Loading a big zone allocates
    /// many short-lived small blocks (records, then the RRsets built from them) between the
    /// zone's long-lived ones; glibc keeps such freed holes in the heap, so without this a
    /// 1,000,000-record zone's process holds tens of MiB it no longer uses.
    static func releaseFreedMemory() {
        #if canImport(Glibc)
            _ = glibcMallocTrim(0)
        #endif
    }
}

#if canImport(Glibc)
    /// glibc's `malloc_trim` (`<malloc.h>`, which the Glibc module does not export).
    @_silgen_name("malloc_trim")
    private func glibcMallocTrim(_ pad: Int) -> Int32
#endif

/// Enough of a file's metadata to notice that it may have changed (inode for rename-over,
/// size and modification time for writes in place).
public struct FileSignature: Equatable, Sendable {
    var inode: UInt64 = 0
    var size: Int64 = -1
    var mtimeNanos: Int64 = 0

    public init(_ path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return }
        inode = UInt64(st.st_ino)
        size = Int64(st.st_size)
        mtimeNanos = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
    }

    /// FNV-1a of the content: telling a touch from an edit.
    public static func digest(_ data: Data) -> UInt64 {
        data.withUnsafeBytes { FNV1a.hash64($0) }
    }

    /// The digest of a file's content; a file that cannot be read digests as 0.
    static func digest(_ path: String) -> UInt64 {
        FileManager.default.contents(atPath: path).map { digest($0) } ?? 0
    }

    /// Folds one digest into another, order-sensitive.
    static func combine(_ a: UInt64, _ b: UInt64) -> UInt64 {
        (a ^ b) &* FNV1a.prime64 &+ 0x9e37_79b9_7f4a_7c15
    }
}
