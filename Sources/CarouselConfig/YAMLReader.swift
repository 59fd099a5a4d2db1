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
        guard range.contains(v) else {
            fail(node, path, "\(v) is out of range \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return v
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
            fail(node, path, "expected a duration like 500ms, 2s, 1m")
            return nil
        }
        guard range.contains(d) else {
            fail(node, path, "\(s) is out of range \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return d
    }

    static func parseDuration(_ s: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where s.hasSuffix(suffix) {
            guard let v = Double(s.dropLast(suffix.count)), v >= 0 else { return nil }
            return .milliseconds(Int64((v * scale * 1000).rounded()))
        }
        guard let v = Double(s), v >= 0 else { return nil }
        return .milliseconds(Int64((v * 1000).rounded()))
    }
}
