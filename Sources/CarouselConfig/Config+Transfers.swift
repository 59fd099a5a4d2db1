import DNSWire
import Foundation
import Transfer
import Yams

/// Reading `tsig_keys:`, `transfers:` and `secondaries:` into the transfer module's values. Key
/// names are resolved here (a `tsig:` naming no key is an error at its line), so the services see
/// keys, not names.
extension YAMLReader {
    /// `{ name: xfr, algorithm: hmac-sha256, secret: "base64…" }`, and the line of each.
    mutating func tsigKeys(_ node: Node) -> [(TSIGKey, line: Int)] {
        let seq = list(node, "tsig_keys", of: "keys")
        var out: [(TSIGKey, line: Int)] = []
        var seen: [DNSName: Int] = [:]
        for (i, item) in seq.enumerated() {
            let path = "tsig_keys[\(i)]"
            let line = item.mark?.line ?? 1
            var name: DNSName?, algorithm = TSIGAlgorithm.hmacSHA256, secret: [UInt8]?
            for (k, v) in mapping(item, path, known: ["name", "algorithm", "secret"]) {
                let p = "\(path).\(k)"
                switch k {
                case "name":
                    if let s = string(v, p) {
                        name = zoneName(s, v, p)
                    }
                case "algorithm":
                    if let s = string(v, p) {
                        if let a = TSIGAlgorithm(rawValue: s.lowercased()) {
                            algorithm = a
                        } else {
                            fail(
                                v, p,
                                "\"\(s)\" is not one of \(TSIGAlgorithm.allCases.map(\.rawValue).joined(separator: ", "))"
                            )
                        }
                    }
                default:
                    if let s = string(v, p) {
                        if let d = Data(base64Encoded: s), !d.isEmpty {
                            secret = Array(d)
                        } else {
                            fail(v, p, "expected a base64 secret")
                        }
                    }
                }
            }
            guard let name else {
                fail(item, "\(path).name", "every key needs a name")
                continue
            }
            once(name, in: &seen, line: line, item, "\(path).name", "key \(name) is already defined")
            guard let secret else {
                fail(item, "\(path).secret", "every key needs a secret")
                continue
            }
            out.append((TSIGKey(name: name, algorithm: algorithm, secret: secret), line))
        }
        return out
    }

    /// A zone or key name, absolute (`example.com` and `example.com.` are one zone).
    mutating func zoneName(_ s: String, _ node: Node, _ path: String) -> DNSName? {
        do {
            return try DNSName(s.hasSuffix(".") ? s : s + ".")
        } catch {
            fail(node, path, "\"\(s)\" is not a domain name: \(error)")
            return nil
        }
    }

    /// The key a `tsig:` names, or an error at its line.
    mutating func key(_ node: Node, _ path: String, in keys: [TSIGKey]) -> TSIGKey? {
        guard let s = string(node, path), let name = zoneName(s, node, path) else { return nil }
        guard let key = keys.first(where: { $0.name == name }) else {
            fail(node, path, "no key named \(s) in tsig_keys")
            return nil
        }
        return key
    }

    /// `host:port`, or an address alone for port 53.
    mutating func peer(_ s: String, _ node: Node, _ path: String) -> HostPort? {
        if let a = HostPort(s) { return a }
        if IPAddress(s) != nil { return HostPort(host: s, port: 53) }
        fail(node, path, "\"\(s)\" is not ADDRESS:PORT")
        return nil
    }

    /// One entry of a list of zones (`transfers:`, `updates:`): its zone (an error when it is
    /// missing or listed before), its keys and its line.
    mutating func zoneEntry(_ item: Node, _ path: String, known: Set<String>, seen: inout [DNSName: Int]) -> (
        zone: DNSName, entries: [(String, Node)], line: Int
    )? {
        let line = item.mark?.line ?? 1
        let entries = mapping(item, path, known: known)
        guard let zoneNode = entries.first(where: { $0.0 == "zone" })?.1, let text = string(zoneNode, "\(path).zone")
        else {
            fail(item, "\(path).zone", "every entry needs a zone")
            return nil
        }
        guard let zone = zoneName(text, zoneNode, "\(path).zone") else { return nil }
        once(zone, in: &seen, line: line, zoneNode, "\(path).zone", "\(text) is already listed")
        return (zone, entries, line)
    }

    /// Addresses or prefixes (`allow:`).
    mutating func prefixes(_ v: Node, _ p: String) -> [IPPrefix] {
        var out: [IPPrefix] = []
        for s in strings(v, p) ?? [] {
            if let a = IPPrefix(s) {
                out.append(a)
            } else {
                fail(v, p, "\"\(s)\" is not an address or prefix (127.0.0.1, 10.0.0.0/8, ::1/128)")
            }
        }
        return out
    }

    mutating func transfers(_ node: Node, keys: [TSIGKey]) -> [(PrimaryZone, line: Int)] {
        let seq = list(node, "transfers", of: "zones")
        var out: [(PrimaryZone, line: Int)] = []
        var seen: [DNSName: Int] = [:]
        for (i, item) in seq.enumerated() {
            let path = "transfers[\(i)]"
            guard
                let (zone, entries, line) = zoneEntry(
                    item, path, known: ["zone", "allow", "tsig", "notify", "publish_health"], seen: &seen)
            else { continue }
            var t = PrimaryZone(zone: zone)
            for (k, v) in entries {
                let p = "\(path).\(k)"
                if k == "publish_health", let b = bool(v, p) { t.publishHealth = b }
                access(k, v, p, keys: keys, allow: &t.allow, key: &t.key, notify: &t.notify)
            }
            out.append((t, line))
        }
        return out
    }

    /// `allow`, `tsig` and `notify` of a zone served to secondaries (`transfers:`, `catalog:`);
    /// other keys are left to the caller.
    mutating func access(
        _ k: String, _ v: Node, _ p: String, keys: [TSIGKey], allow: inout [IPPrefix], key: inout TSIGKey?,
        notify: inout [HostPort]
    ) {
        switch k {
        case "allow": allow += prefixes(v, p)
        case "tsig": key = self.key(v, p, in: keys)
        case "notify":
            for s in strings(v, p) ?? [] {
                if let a = peer(s, v, p) { notify.append(a) }
            }
        default: break
        }
    }

    mutating func secondaries(_ node: Node, keys: [TSIGKey], baseDirectory: String?) -> [(SecondaryZone, line: Int)] {
        let seq = list(node, "secondaries", of: "zones")
        var out: [(SecondaryZone, line: Int)] = []
        var seen: [DNSName: Int] = [:]
        var storedFiles: [String: Int] = [:]
        for (i, item) in seq.enumerated() {
            let path = "secondaries[\(i)]"
            let line = item.mark?.line ?? 1
            var zone: DNSName?, primary: HostPort?, key: TSIGKey?, file: String?, tls: TLSPeer?
            var zoneNode: Node?, zoneText = ""
            for (k, v) in mapping(item, path, known: ["zone", "primary", "tsig", "file", "tls"]) {
                let p = "\(path).\(k)"
                switch k {
                case "zone":
                    zoneNode = v
                    if let t = string(v, p) {
                        zoneText = t
                        zone = zoneName(t, v, p)
                    }
                case "primary": primary = string(v, p).flatMap { peer($0, v, p) }
                case "file":
                    if let s = string(v, p) {
                        let resolved = Config.resolve(s, against: baseDirectory)
                        let standard = URL(fileURLWithPath: resolved).standardizedFileURL.path
                        once(
                            standard, in: &storedFiles, line: line, v, p, "\(resolved) is already the file of the zone")
                        file = resolved
                    }
                case "tls": tls = tlsPeer(v, p, baseDirectory: baseDirectory)
                default: key = self.key(v, p, in: keys)
                }
            }
            guard let zone else {
                if zoneNode == nil { fail(item, "\(path).zone", "every entry needs a zone") }
                continue
            }
            once(zone, in: &seen, line: line, zoneNode, "\(path).zone", "\(zoneText) is already listed")
            guard let primary else {
                fail(item, "\(path).primary", "every secondary zone needs a primary")
                continue
            }
            out.append((SecondaryZone(zone: zone, primary: primary, key: key, file: file, tls: tls), line))
        }
        return out
    }

    /// A stored copy must not be where `zones:` would load it as a zone file of its own.
    mutating func checkStoredFiles(_ c: Config) {
        func standard(_ p: String) -> String { URL(fileURLWithPath: p).standardizedFileURL.path }
        for (i, s) in c.secondaries.enumerated() {
            guard let stored = s.file else { continue }
            let path = standard(stored)
            for z in c.zones.map(standard) where path == z || (stored.hasSuffix(".zone") && standard(path + "/..") == z)
            {
                errors.append(
                    Problem(
                        file: file, line: c.lines.secondaries[i],
                        message:
                            "secondaries[\(i)].file: \(stored) would also be loaded as a zone file from zones: \(z); keep stored copies elsewhere"
                    ))
            }
        }
    }
}
