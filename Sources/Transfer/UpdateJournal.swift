import DNSWire
import Foundation

/// Acknowledged updates of one zone, on disk: each update's effect appended as one entry and
/// synced (fdatasync) before the update is answered, so that what a client was told survives
/// kill -9 and power loss. An entry is text lines, owner and rdata in hex (no escaping to get
/// wrong), closed by a line carrying its checksum: a torn last entry (a crash while writing,
/// never acknowledged) is ignored when read back; a damaged entry before the end stops the
/// replay there, reported.
///
///     U <serial>
///     - <owner hex> <type> <class> <ttl> <rdata hex>
///     + <owner hex> <type> <class> <ttl> <rdata hex>
///     E <serial> <FNV-1a 64 of the lines above, hex>
public enum UpdateJournal {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    public static func encode(_ e: UpdateEffect) -> String {
        var text = "U \(e.serial)\n"
        for (sign, records) in [("-", e.removed), ("+", e.added)] {
            for r in records {
                text +=
                    "\(sign) \(hex(r.name.wire)) \(r.type.rawValue) \(r.rrClass.rawValue) \(r.ttl) \(r.rdata.isEmpty ? "-" : hex(r.rdata))\n"
            }
        }
        return text + "E \(e.serial) \(String(digest(text), radix: 16))\n"
    }

    /// Appends `e` and syncs the file (created, with its directory synced, if new).
    public static func append(_ e: UpdateEffect, to path: String) throws(Failure) {
        let existed = FileManager.default.fileExists(atPath: path)
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw Failure(description: "\(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array(encode(e).utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure(description: "\(path): write: \(String(cString: strerror(errno)))") }
            written += n
        }
        guard fdatasync(fd) == 0 else {
            throw Failure(description: "\(path): fdatasync: \(String(cString: strerror(errno)))")
        }
        if !existed { syncDirectory(of: path) }
    }

    /// Every complete entry in order, and what stopped the reading early (nil: the whole file
    /// read, or only a torn last entry left out).
    public static func read(_ path: String) -> (effects: [UpdateEffect], problem: String?) {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else { return ([], nil) }
        return decode(text, file: path)
    }

    /// The entries of a journal's text; `file` names it in the problem.
    public static func decode(_ text: String, file path: String) -> (effects: [UpdateEffect], problem: String?) {
        var effects: [UpdateEffect] = []
        var entry = ""
        var current: UpdateEffect?
        var lineNumber = 0
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (i, line) in lines.enumerated() {
            lineNumber = i + 1
            if line.isEmpty && i == lines.count - 1 { break }
            let fields = line.split(separator: " ")
            func damaged() -> (effects: [UpdateEffect], problem: String?) {
                // A torn tail is an update never acknowledged; anything else is damage.
                let tail = lines[(i + 1)...].allSatisfy { !$0.hasPrefix("E ") }
                return (effects, tail ? nil : "\(path):\(lineNumber): damaged entry; updates after it are not replayed")
            }
            switch fields.first {
            case "U":
                guard fields.count == 2, let serial = UInt32(fields[1]), current == nil else { return damaged() }
                current = UpdateEffect(serial: serial, removed: [], added: [])
                entry = "\(line)\n"
            case "-", "+":
                guard fields.count == 6, current != nil, let owner = unhex(fields[1]),
                    let name = try? DNSName(wire: owner), let type = UInt16(fields[2]), let cls = UInt16(fields[3]),
                    let ttl = UInt32(fields[4]), let rdata = fields[5] == "-" ? [] : unhex(fields[5])
                else { return damaged() }
                let r = ResourceRecord(
                    name: name, type: RRType(type), rrClass: DNSClass(rawValue: cls), ttl: ttl, rdata: rdata)
                if fields[0] == "-" { current!.removed.append(r) } else { current!.added.append(r) }
                entry += "\(line)\n"
            case "E":
                guard fields.count == 3, let e = current, UInt32(fields[1]) == e.serial,
                    fields[2] == String(digest(entry), radix: 16)
                else { return damaged() }
                effects.append(e)
                current = nil
            default:
                return damaged()
            }
        }
        return (effects, nil)
    }

    /// Empties the journal (after `carousel zone sync` wrote its updates into the zone file).
    public static func truncate(_ path: String) throws(Failure) {
        let fd = open(path, O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw Failure(description: "\(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw Failure(description: "\(path): fsync: \(String(cString: strerror(errno)))") }
    }

    static func syncDirectory(of path: String) {
        let dir = (path as NSString).deletingLastPathComponent
        let fd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    static func digest(_ text: String) -> UInt64 {
        Array(text.utf8).withUnsafeBytes { FNV1a.hash64($0) }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func unhex(_ text: Substring) -> [UInt8]? {
        let u = Array(text.utf8)
        guard u.count % 2 == 0 else { return nil }
        func v(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            default: nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(u.count / 2)
        var i = 0
        while i < u.count {
            guard let h = v(u[i]), let l = v(u[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }
}
