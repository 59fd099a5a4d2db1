import Foundation
import Health

#if canImport(Glibc)
    import Glibc
#endif

/// The state file, so a restart is not blind: the last known state of every target
/// and the drained addresses, as JSON.
///
/// ```json
/// {
///   "version": 1,
///   "written": "2025-01-01T12:00:00Z",
///   "targets": [
///     { "address": "127.0.0.11", "check": "http:8080/healthz expect=200", "state": "down",
///       "since": "2025-01-01T11:58:00Z", "checked": "2025-01-01T11:59:59Z" }
///   ],
///   "drained": ["127.0.0.12"],
///   "drainLog": { "127.0.0.12": { "drained": true, "at": 1765000123456, "by": "ns1" } }
/// }
/// ```
/// A target is matched by address and check fingerprint; its state is used only if it was last
/// confirmed (`checked`, else `since`) less than ``maxAge`` ago: an old verdict is a guess, and
/// a wrong "down" would keep a healthy server out until its first probe.
public struct StateFile: Codable, Sendable, Equatable {
    public static let maxAge: Duration = .seconds(3600)

    public struct Entry: Codable, Sendable, Equatable {
        public var address: String
        public var check: String
        public var state: String
        public var since: Date
        public var checked: Date?

        public init(address: String, check: String, state: HealthState, since: Date, checked: Date?) {
            self.address = address
            self.check = check
            self.state = state.description
            self.since = since
            self.checked = checked
        }

        /// `address fingerprint`, the key a ``TargetKey`` is matched by.
        var key: String { "\(address) \(check)" }

        var healthState: HealthState? {
            switch state {
            case "up": .up
            case "down": .down
            default: nil
            }
        }

        func isFresh(at now: Date) -> Bool {
            now.timeIntervalSince(checked ?? since) < Double(StateFile.maxAge.components.seconds)
        }
    }

    public var version = 1
    public var written: Date
    public var targets: [Entry]
    public var drained: [String]
    /// The newest mark of every drain key, undrains included (a fleet's last writer wins); absent
    /// from files written before marks were kept.
    public var drainLog: [String: DrainMark]?

    public init(written: Date, targets: [Entry], drained: [String]) {
        self.written = written
        self.targets = targets
        self.drained = drained
    }

    public struct LoadError: Error, CustomStringConvertible {
        public var path: String
        public var message: String
        public var description: String { "\(path): \(message)" }
    }

    /// The file at `path`, or nil when there is none yet.
    public static func load(_ path: String) throws(LoadError) -> StateFile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw LoadError(path: path, message: "cannot read: \(error.localizedDescription)")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(StateFile.self, from: data)
        } catch {
            throw LoadError(path: path, message: "not a Carousel state file: \(error)")
        }
    }

    /// Writes a temporary file beside `path` and renames it over `path`, so a reader (or a crash)
    /// never sees half a file.
    public func write(to path: String) throws(LoadError) {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let temp = path + ".tmp"
        do {
            let data = try encoder.encode(self)
            try data.write(to: URL(fileURLWithPath: temp))
        } catch {
            throw LoadError(path: path, message: "cannot write \(temp): \(error.localizedDescription)")
        }
        guard rename(temp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temp)
            throw LoadError(path: path, message: "cannot rename \(temp) over it: \(reason)")
        }
    }
}

extension DrainMark {
    /// A mark made now.
    public static func now(drained: Bool, by: String) -> DrainMark {
        DrainMark(drained: drained, at: Int64((Date().timeIntervalSince1970 * 1000).rounded()), by: by)
    }
}
