import DNSWire
import Foundation
import Transfer
import Yams

extension YAMLReader {
    /// `updates:`: zones that take dynamic updates (RFC 2136), each with the keys that may sign
    /// them (required: nothing unsigned, ever), where from, which names, and the journal.
    mutating func updates(_ node: Node, keys: [TSIGKey], baseDirectory: String?) -> [(UpdatePolicy, line: Int)] {
        let seq = list(node, "updates", of: "zones")
        var out: [(UpdatePolicy, line: Int)] = []
        var seen: [DNSName: Int] = [:]
        var journals: [String: Int] = [:]
        for (i, item) in seq.enumerated() {
            let path = "updates[\(i)]"
            guard
                let (zone, entries, line) = zoneEntry(
                    item, path, known: ["zone", "tsig", "allow", "names", "journal"], seen: &seen)
            else { continue }
            var policy = UpdatePolicy(zone: zone, keys: [], allow: [])
            for (k, v) in entries {
                let p = "\(path).\(k)"
                switch k {
                case "tsig":
                    for s in strings(v, p) ?? [] {
                        guard let name = zoneName(s, v, p) else { continue }
                        if let key = keys.first(where: { $0.name == name }) {
                            policy.keys.append(key)
                        } else {
                            fail(v, p, "no key named \(s) in tsig_keys")
                        }
                    }
                case "allow": policy.allow += prefixes(v, p)
                case "names":
                    for s in strings(v, p) ?? [] {
                        let bare = s.hasPrefix("*.") ? String(s.dropFirst(2)) : s
                        guard let name = try? DNSName(bare.hasSuffix(".") ? bare : bare + "."),
                            name.isSubdomain(of: zone)
                        else {
                            fail(v, p, "\"\(s)\" is not a name in \(zone) (www.\(zone) or *.pool.\(zone))")
                            continue
                        }
                        policy.names.append(s)
                    }
                case "journal":
                    guard let s = string(v, p) else { continue }
                    let resolved = Config.resolve(s, against: baseDirectory)
                    once(
                        URL(fileURLWithPath: resolved).standardizedFileURL.path, in: &journals, line: line, v, p,
                        "\(resolved) is already the journal of another zone")
                    policy.journal = resolved
                default: break
                }
            }
            if policy.keys.isEmpty && entries.contains(where: { $0.0 == "tsig" }) == false {
                fail(item, "\(path).tsig", "updates must be signed: name the keys that may sign them")
                continue
            }
            if policy.allow.isEmpty && entries.contains(where: { $0.0 == "allow" }) == false {
                fail(item, "\(path).allow", "say where updates may come from (addresses or prefixes)")
                continue
            }
            out.append((policy, line))
        }
        return out
    }
}
