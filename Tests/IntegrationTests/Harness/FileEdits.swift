// Editing files the ways editors and tools do, for the reload tests: in place (same inode, as
// `sed -i`-less tools and many editors), a new file renamed over the old one (vim, `mv`), and a
// truncate followed by a late write (an editor or a script caught between the two).

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

enum EditMode: String, Sendable, CaseIterable, CustomTestStringConvertible {
    /// open(O_TRUNC) + write + close: the inode stays.
    case inPlace = "write in place"
    /// A new file next to it, renamed over it: a new inode.
    case renameOver = "write a temp file and rename it over"
    /// open(O_TRUNC) + close, 300 ms with an empty file, then open + write + close.
    case truncateThenWrite = "truncate, wait 300 ms, write"

    var testDescription: String { rawValue }
}

enum FileEdit {
    /// Replaces the content of `path` the way `mode` says and returns when the last byte is
    /// written (the instant a reload time is measured from). For `truncateThenWrite`, `whileEmpty`
    /// runs in the 300 ms the file is empty.
    @discardableResult
    static func write(
        _ text: String, to path: String, mode: EditMode, whileEmpty: () async throws -> Void = {}
    ) async throws -> ContinuousClock.Instant {
        switch mode {
        case .inPlace:
            try overwrite(path, Data(text.utf8))
        case .renameOver:
            let temp = path + ".tmp-\(UUID().uuidString.prefix(6))"  // not *.zone: never read as a zone
            guard FileManager.default.createFile(atPath: temp, contents: Data(text.utf8)) else {
                throw HarnessError("cannot create \(temp)")
            }
            guard rename(temp, path) == 0 else {
                throw HarnessError("rename \(temp) → \(path): \(String(cString: strerror(errno)))")
            }
        case .truncateThenWrite:
            try overwrite(path, Data())
            let truncated = ContinuousClock.now
            try await whileEmpty()
            try await Task.sleep(until: truncated + .milliseconds(300), clock: .continuous)
            try overwrite(path, Data(text.utf8), truncate: false)
        }
        return .now
    }

    /// Writes `data` into the existing inode of `path` (created if missing).
    static func overwrite(_ path: String, _ data: Data, truncate: Bool = true) throws {
        let fd = open(path, O_WRONLY | O_CREAT | (truncate ? O_TRUNC : 0), 0o644)
        guard fd >= 0 else { throw HarnessError("open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var offset = 0
        while offset < data.count {
            let n = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, data.count - offset) }
            guard n > 0 else { throw HarnessError("write \(path): \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    static func inode(_ path: String) -> UInt64? {
        var st = stat()
        return stat(path, &st) == 0 ? UInt64(st.st_ino) : nil
    }

    /// The modification time of `path` (for putting it back after an edit).
    static func mtime(_ path: String) throws -> timespec {
        var st = stat()
        guard stat(path, &st) == 0 else { throw HarnessError("stat \(path): \(String(cString: strerror(errno)))") }
        return st.st_mtim
    }

    /// Sets the access and modification times of `path` to `time` (`touch -r`).
    static func setMtime(_ path: String, _ time: timespec) throws {
        var times = [time, time]
        guard utimensat(AT_FDCWD, path, &times, 0) == 0 else {
            throw HarnessError("utimensat \(path): \(String(cString: strerror(errno)))")
        }
    }
}

extension ConfiguredCarousel {
    /// The config file's first lines as the harness wrote them (listen, zones, admin, state_file),
    /// which every rewrite keeps.
    var configHeader: String {
        let text = (try? String(contentsOfFile: configFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).prefix(4).joined(separator: "\n") + "\n"
    }

    /// Replaces everything after the header with `body`; returns the 1-based line of the first
    /// line containing `marker` in the new file (0 when absent), for `file:LINE:` checks.
    @discardableResult
    func rewriteConfig(_ body: String, mode: EditMode = .renameOver, marker: String? = nil) async throws -> Int {
        let text = configHeader + body + "\n"
        try await FileEdit.write(text, to: configFile, mode: mode)
        guard let marker else { return 0 }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return (lines.firstIndex { $0.contains(marker) } ?? -1) + 1
    }

    /// Lines of the log containing `text`.
    func logLines(containing text: String) -> [String] {
        log.split(separator: "\n").filter { $0.contains(text) }.map(String.init)
    }
}

/// Zone text for the reload tests: `balancedZone` (SOA with `serial`, NS, `www` → `addresses`)
/// plus `extra` record lines.
func reloadZone(_ origin: String, serial: Int, www: [String] = ["192.0.2.1"], extra: [String] = []) -> String {
    balancedZone(origin, serial: serial, addresses: www) + extra.map { $0 + "\n" }.joined()
}

/// The 1-based line of `zone` that contains `marker`.
func lineNumber(of marker: String, in zone: String) -> Int {
    (zone.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains(marker) } ?? -1) + 1
}
