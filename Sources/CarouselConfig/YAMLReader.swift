import DNSWire
import Yams

/// Typed reads from a YAML node that remember where each value came from. Every read either
/// returns a value or records an error naming the key path and line, and parsing goes on so
/// that all problems are reported at once.
struct YAMLReader {
    let file: String
    var errors: [Problem] = []

    mutating func fail(_ node: Node?, _ path: String, _ message: String) {
        errors.append(Problem(file: file, line: node?.mark?.line ?? 1, message: "\(path): \(message)"))
    }

    /// The entries of a mapping, rejecting keys that are not in `known` (typos should not pass
    /// silently).
    mutating func mapping(_ node: Node, _ path: String, known: Set<String>) -> [(String, Node)] {
        guard case .mapping(let m) = node else {
            fail(node, path, "expected a mapping")
            return []
        }
        var out: [(String, Node)] = []
        for (k, v) in m {
            guard let key = k.scalar?.string else {
                fail(k, path, "keys must be plain strings")
                continue
            }
            let full = path.isEmpty ? key : "\(path).\(key)"
            guard known.contains(key) else {
                fail(k, full, "unknown key (known: \(known.sorted().joined(separator: ", ")))")
                continue
            }
            out.append((key, v))
        }
        return out
    }

    mutating func string(_ node: Node, _ path: String) -> String? {
        guard let s = node.scalar?.string else {
            fail(node, path, "expected a string")
            return nil
        }
        return s
    }

    /// A string, or a list of strings.
    mutating func strings(_ node: Node, _ path: String) -> [String]? {
        if case .sequence(let seq) = node {
            var out: [String] = []
            for (i, item) in seq.enumerated() {
                if let s = string(item, "\(path)[\(i)]") { out.append(s) }
            }
            return out
        }
        return string(node, path).map { [$0] }
    }

    mutating func int(_ node: Node, _ path: String, range: ClosedRange<Int>) -> Int? {
        guard let s = node.scalar?.string, let v = Int(s) else {
            fail(node, path, "expected a whole number")
            return nil
        }
        return inRange(v, "\(v)", range, node, path)
    }

    /// `value` when it lies in `range`; else an error that quotes it as written (`text`).
    mutating func inRange<T: Comparable>(
        _ value: T, _ text: String, _ range: ClosedRange<T>, _ node: Node, _ path: String
    ) -> T? {
        guard range.contains(value) else {
            fail(node, path, "\(text) is out of range \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return value
    }

    /// One of an enum's raw values (`order: rotate`), or an error that lists them.
    mutating func choice<T: RawRepresentable & CaseIterable>(_ node: Node, _ path: String, _: T.Type) -> T?
    where T.RawValue == String {
        guard let s = string(node, path) else { return nil }
        guard let value = T(rawValue: s) else {
            fail(node, path, "\"\(s)\" is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        return value
    }

    /// Notes that `key` is defined at `line`; when it already was, an error: `what` and the line
    /// of the first (`pool www is already defined at line 4`).
    mutating func once<K: Hashable>(
        _ key: K, in seen: inout [K: Int], line: Int, _ node: Node?, _ path: String, _ what: String
    ) {
        if let first = seen[key] { fail(node, path, "\(what) at line \(first)") } else { seen[key] = line }
    }

    /// The items of a list (`pools:`, `transfers:`), or an error saying what it should list.
    mutating func list(_ node: Node, _ path: String, of what: String) -> [Node] {
        guard case .sequence(let seq) = node else {
            fail(node, path, "expected a list of \(what)")
            return []
        }
        return Array(seq)
    }

    mutating func bool(_ node: Node, _ path: String) -> Bool? {
        switch node.scalar?.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            fail(node, path, "expected true or false")
            return nil
        }
    }

    /// A duration such as `500ms`, `2s`, `1m`, `1h`, or a bare number of seconds.
    mutating func duration(_ node: Node, _ path: String, range: ClosedRange<Duration>) -> Duration? {
        guard let s = node.scalar?.string, let d = YAMLReader.parseDuration(s) else {
            fail(node, path, "expected a duration like 500ms, 2s, 1m, 14d")
            return nil
        }
        return inRange(d, s, range, node, path)
    }

    static func parseDuration(_ s: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, scale) in units where s.hasSuffix(suffix) {
            guard let v = Double(s.dropLast(suffix.count)), v >= 0 else { return nil }
            return .milliseconds(Int64((v * scale * 1000).rounded()))
        }
        guard let v = Double(s), v >= 0 else { return nil }
        return .milliseconds(Int64((v * 1000).rounded()))
    }
}
