import Foundation
import Yams

/// A TSIG key (RFC 8945): `{ name: xfr, algorithm: hmac-sha256, secret: "base64…" }`.
public struct TSIGKeyConfig: Sendable, Equatable {
    public var name: String
    /// `hmac-sha256`, `hmac-sha1`, `hmac-sha384` or `hmac-sha512`.
    public var algorithm: String
    public var secret: [UInt8]
    public var line: Int

    public init(name: String, algorithm: String, secret: [UInt8], line: Int = 1) {
        self.name = name
        self.algorithm = algorithm
        self.secret = secret
        self.line = line
    }

    public static let algorithms = ["hmac-md5", "hmac-sha1", "hmac-sha256", "hmac-sha384", "hmac-sha512"]
}

/// One `transfers:` entry: Carousel as a primary for `zone`.
public struct TransferConfig: Sendable, Equatable {
    public var zone: String
    /// Who may AXFR/IXFR: addresses or prefixes. Empty means nobody.
    public var allow: [AddressPrefix] = []
    /// The key a transfer request must be signed with; nil means none is required.
    public var tsig: String? = nil
    /// Secondaries told of every new version (UDP NOTIFY, RFC 1996).
    public var notify: [ListenAddress] = []
    /// Transfer the health-filtered zone: a pool member going down is a new version.
    public var publishHealth = false
    public var line: Int

    public init(zone: String, line: Int = 1) {
        self.zone = zone
        self.line = line
    }
}

/// One `secondaries:` entry: Carousel as a secondary of `primary` for `zone`.
public struct SecondaryConfig: Sendable, Equatable {
    public var zone: String
    public var primary: ListenAddress
    public var tsig: String? = nil
    /// Where the last good copy is stored (master-file text, written after every transfer; its
    /// modification time is when the primary last confirmed it). Read at start, so the zone is
    /// served before the primary answers, until EXPIRE after that time. Nil: memory only.
    public var file: String? = nil
    public var line: Int

    public init(zone: String, primary: ListenAddress, line: Int = 1) {
        self.zone = zone
        self.primary = primary
        self.line = line
    }
}

/// An IPv4 or IPv6 address with a prefix length: `127.0.0.1`, `10.0.0.0/8`, `::1/128`.
public struct AddressPrefix: Sendable, Hashable, CustomStringConvertible {
    /// 4 or 16 bytes, bits past the prefix cleared.
    public var bytes: [UInt8]
    public var length: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let addr = AddressPrefix.parseAddress(String(parts[0])) else { return nil }
        let max = addr.count * 8
        var len = max
        if parts.count == 2 {
            guard let n = Int(parts[1]), (0...max).contains(n) else { return nil }
            len = n
        }
        self.bytes = AddressPrefix.masked(addr, len)
        self.length = len
    }

    /// 4 bytes for a dotted quad, 16 for IPv6 text; nil otherwise.
    public static func parseAddress(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    static func masked(_ b: [UInt8], _ len: Int) -> [UInt8] {
        b.enumerated().map { i, byte in
            let keep = min(8, max(0, len - i * 8))
            return keep == 8 ? byte : byte & ~(UInt8(0xFF) >> keep)
        }
    }

    /// True if `address` (4 or 16 bytes) lies inside the prefix. An IPv4-mapped IPv6 address
    /// (`::ffff:127.0.0.1`) matches IPv4 prefixes.
    public func contains(_ address: [UInt8]) -> Bool {
        var a = address
        if a.count == 16 && bytes.count == 4 && a[0..<10].allSatisfy({ $0 == 0 }) && a[10] == 0xFF && a[11] == 0xFF {
            a = Array(a[12...])
        }
        guard a.count == bytes.count else { return false }
        return AddressPrefix.masked(a, length) == bytes
    }

    public var description: String {
        let text: String
        if bytes.count == 4 {
            text = bytes.map(String.init).joined(separator: ".")
        } else {
            var b = bytes
            var buf = [CChar](repeating: 0, count: 64)
            inet_ntop(AF_INET6, &b, &buf, 64)
            text = buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        }
        return "\(text)/\(length)"
    }
}

extension YAMLReader {
    mutating func tsigKeys(_ node: Node) -> [TSIGKeyConfig] {
        guard case .sequence(let seq) = node else {
            fail(node, "tsig_keys", "expected a list of keys")
            return []
        }
        var out: [TSIGKeyConfig] = []
        var seen: [String: Int] = [:]
        for (i, item) in seq.enumerated() {
            let path = "tsig_keys[\(i)]"
            let line = item.mark?.line ?? 1
            var name: String?, algorithm = "hmac-sha256", secret: [UInt8]?
            for (k, v) in mapping(item, path, known: ["name", "algorithm", "secret"]) {
                let p = "\(path).\(k)"
                switch k {
                case "name": name = string(v, p)
                case "algorithm":
                    if let s = string(v, p) {
                        let a = s.lowercased()
                        if TSIGKeyConfig.algorithms.contains(a) {
                            algorithm = a
                        } else {
                            fail(v, p, "\"\(s)\" is not one of \(TSIGKeyConfig.algorithms.joined(separator: ", "))")
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
            if let first = seen[name.lowercased()] {
                fail(item, "\(path).name", "key \(name) is already defined at line \(first)")
            }
            seen[name.lowercased()] = line
            guard let secret else {
                fail(item, "\(path).secret", "every key needs a secret")
                continue
            }
            out.append(TSIGKeyConfig(name: name, algorithm: algorithm, secret: secret, line: line))
        }
        return out
    }

    mutating func transfers(_ node: Node) -> [TransferConfig] {
        guard case .sequence(let seq) = node else {
            fail(node, "transfers", "expected a list of zones")
            return []
        }
        var out: [TransferConfig] = []
        for (i, item) in seq.enumerated() {
            let path = "transfers[\(i)]"
            let entries = mapping(item, path, known: ["zone", "allow", "tsig", "notify", "publish_health"])
            guard let zoneNode = entries.first(where: { $0.0 == "zone" })?.1,
                let zone = string(zoneNode, "\(path).zone")
            else {
                fail(item, "\(path).zone", "every entry needs a zone")
                continue
            }
            var t = TransferConfig(zone: zone, line: item.mark?.line ?? 1)
            for (k, v) in entries {
                let p = "\(path).\(k)"
                switch k {
                case "allow":
                    for s in strings(v, p) ?? [] {
                        if let a = AddressPrefix(s) {
                            t.allow.append(a)
                        } else {
                            fail(v, p, "\"\(s)\" is not an address or prefix (127.0.0.1, 10.0.0.0/8, ::1/128)")
                        }
                    }
                case "tsig": t.tsig = string(v, p)
                case "notify":
                    for s in strings(v, p) ?? [] {
                        if let a = ListenAddress(s) {
                            t.notify.append(a)
                        } else if AddressPrefix.parseAddress(s) != nil {
                            t.notify.append(ListenAddress(host: s, port: 53))
                        } else {
                            fail(v, p, "\"\(s)\" is not ADDRESS:PORT")
                        }
                    }
                case "publish_health": if let b = bool(v, p) { t.publishHealth = b }
                default: break
                }
            }
            out.append(t)
        }
        return out
    }

    mutating func secondaries(_ node: Node) -> [SecondaryConfig] {
        guard case .sequence(let seq) = node else {
            fail(node, "secondaries", "expected a list of zones")
            return []
        }
        var out: [SecondaryConfig] = []
        for (i, item) in seq.enumerated() {
            let path = "secondaries[\(i)]"
            var zone: String?, primary: ListenAddress?, tsig: String?, file: String?
            for (k, v) in mapping(item, path, known: ["zone", "primary", "tsig", "file"]) {
                let p = "\(path).\(k)"
                switch k {
                case "zone": zone = string(v, p)
                case "primary":
                    if let s = string(v, p) {
                        if let a = ListenAddress(s) {
                            primary = a
                        } else if AddressPrefix.parseAddress(s) != nil {
                            primary = ListenAddress(host: s, port: 53)
                        } else {
                            fail(v, p, "\"\(s)\" is not ADDRESS:PORT")
                        }
                    }
                case "file": file = string(v, p)
                default: tsig = string(v, p)
                }
            }
            guard let zone else {
                fail(item, "\(path).zone", "every entry needs a zone")
                continue
            }
            guard let primary else {
                fail(item, "\(path).primary", "every secondary zone needs a primary")
                continue
            }
            var s = SecondaryConfig(zone: zone, primary: primary, line: item.mark?.line ?? 1)
            s.tsig = tsig
            s.file = file
            out.append(s)
        }
        return out
    }

    /// Cross-checks: named keys exist, a zone appears once per list, and not as both.
    mutating func checkTransfers(_ c: Config) {
        let keys = Set(c.tsigKeys.map { $0.name.lowercased() })
        func norm(_ z: String) -> String {
            z.lowercased().hasSuffix(".") ? String(z.lowercased().dropLast()) : z.lowercased()
        }
        var primaries: [String: Int] = [:]
        for (i, t) in c.transfers.enumerated() {
            if let k = t.tsig, !keys.contains(k.lowercased()) {
                errors.append(
                    ConfigError(
                        file: file, line: t.line, message: "transfers[\(i)].tsig: no key named \(k) in tsig_keys"))
            }
            if let first = primaries[norm(t.zone)] {
                errors.append(
                    ConfigError(
                        file: file, line: t.line,
                        message: "transfers[\(i)].zone: \(t.zone) is already listed at line \(first)"))
            }
            primaries[norm(t.zone)] = t.line
        }
        var secondaries: [String: Int] = [:]
        var storedFiles: [String: Int] = [:]
        for (i, s) in c.secondaries.enumerated() {
            if let k = s.tsig, !keys.contains(k.lowercased()) {
                errors.append(
                    ConfigError(
                        file: file, line: s.line, message: "secondaries[\(i)].tsig: no key named \(k) in tsig_keys"))
            }
            if let first = secondaries[norm(s.zone)] {
                errors.append(
                    ConfigError(
                        file: file, line: s.line,
                        message: "secondaries[\(i)].zone: \(s.zone) is already listed at line \(first)"))
            }
            secondaries[norm(s.zone)] = s.line
            if let stored = s.file {
                func standard(_ p: String) -> String { URL(fileURLWithPath: p).standardizedFileURL.path }
                let path = standard(stored)
                for z in c.zones.map(standard)
                where path == z || (stored.hasSuffix(".zone") && standard(path + "/..") == z) {
                    errors.append(
                        ConfigError(
                            file: file, line: s.line,
                            message:
                                "secondaries[\(i)].file: \(stored) would also be loaded as a zone file from zones: \(z); keep stored copies elsewhere"
                        ))
                }
                if let other = storedFiles[path] {
                    errors.append(
                        ConfigError(
                            file: file, line: s.line,
                            message: "secondaries[\(i)].file: \(stored) is already the file of the zone at line \(other)"))
                }
                storedFiles[path] = s.line
            }
        }
    }
}

extension Config {
    /// The pools whose names lie outside every `secondaries:` zone: those are the ones that must
    /// match records of a zone file (a secondary zone's records arrive only at run time).
    public var poolsOutsideSecondaries: [PoolConfig] {
        func labels(_ s: String) -> [Substring] {
            let t = s.lowercased()
            return (t.hasSuffix(".") ? t.dropLast() : Substring(t)).split(separator: ".").reversed()
        }
        let zones = secondaries.map { labels($0.zone) }
        return pools.filter { p in
            var name = labels(p.name)
            if name.last == "*" { name.removeLast() }
            return !zones.contains { z in name.count >= z.count && Array(name.prefix(z.count)) == z }
        }
    }
}
