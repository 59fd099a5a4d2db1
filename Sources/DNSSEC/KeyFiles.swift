import DNSWire
import Foundation

/// Reading and writing BIND's key files: `K<zone>.+<alg>+<tag>.key` (the DNSKEY record, with the
/// timing metadata as comments) and `.private` (`Private-key-format: v1.x`, the key and the
/// timing fields). `dnssec-keygen`, `dnssec-settime` and `ldns-keygen` write these; so does
/// `carousel dnssec keygen`. Errors are `file:line: message`.
public enum KeyFiles {
    /// Every key pair in `directory` for `zone`. A `.key` without its `.private`, a `.private`
    /// readable by group or others, an algorithm other than 13 or 15, or a key of another zone is
    /// an error.
    public static func load(zone: DNSName, directory: String) -> Result<[DNSSECKey], Problems> {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: directory) else {
            return .failure(Problems([Problem(file: directory, line: 0, message: "cannot read the key directory")]))
        }
        let stem = "K" + (zone.isRoot ? "." : String(zone.lowercased.description.dropLast())) + ".+"
        var keys: [DNSSECKey] = []
        var problems: [Problem] = []
        for name in names.sorted() where name.hasSuffix(".key") && name.lowercased().hasPrefix(stem.lowercased()) {
            let path = directory + "/" + name
            switch read(keyFile: path, zone: zone) {
            case .success(let k): keys.append(k)
            case .failure(let p): problems += p.errors
            }
        }
        if !problems.isEmpty { return .failure(Problems(problems)) }
        if keys.isEmpty {
            return .failure(
                Problems([
                    Problem(
                        file: directory, line: 1,
                        message: "no key files for \(zone) (K\(stem.dropFirst())*.key); make one with "
                            + "`carousel dnssec keygen \(zone) --dir \(directory)`")
                ]))
        }
        return .success(keys)
    }

    /// One key pair: `path` is the `.key` file; its `.private` sits beside it.
    public static func read(keyFile path: String, zone: DNSName) -> Result<DNSSECKey, Problems> {
        func fail(_ file: String, _ line: Int, _ message: String) -> Result<DNSSECKey, Problems> {
            .failure(Problems([Problem(file: file, line: line, message: message)]))
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            return fail(path, 1, "cannot read the key file")
        }
        var record: (line: Int, fields: [String])?
        var timing = KeyTiming()
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix(";") {
                // BIND's comments: "; Publish: 20261202030000 (Wed Dec  2 03:00:00 2026)".
                let words = line.dropFirst().split(separator: " ")
                if words.count >= 2, let t = timestamp(String(words[1])) {
                    setTiming(&timing, String(words[0].dropLast()), t)
                }
                continue
            }
            if line.isEmpty { continue }
            guard record == nil else { return fail(path, i + 1, "more than one record in a key file") }
            // ldns-keygen ends the record with a comment: `;{id = 473 (ksk), size = 256b}`.
            let data = line.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0]
            record = (i + 1, data.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init))
        }
        guard let (line, fields) = record else { return fail(path, 1, "no DNSKEY record") }
        guard let at = fields.firstIndex(where: { $0.uppercased() == "DNSKEY" }), at >= 1, fields.count >= at + 5
        else {
            return fail(path, line, "expected OWNER [TTL] [IN] DNSKEY FLAGS 3 ALGORITHM KEY")
        }
        guard let owner = try? DNSName(fields[0]), owner.lowercased == zone.lowercased else {
            return fail(path, line, "the key's owner \(fields[0]) is not the zone \(zone)")
        }
        guard let flags = UInt16(fields[at + 1]), flags == 256 || flags == 257 else {
            return fail(path, line, "flags \(fields[at + 1]): expected 256 (ZSK) or 257 (KSK or CSK)")
        }
        guard fields[at + 2] == "3" else { return fail(path, line, "protocol \(fields[at + 2]): expected 3") }
        guard let number = UInt8(fields[at + 3]), let algorithm = DNSSECAlgorithm(rawValue: number) else {
            return fail(
                path, line, "algorithm \(fields[at + 3]) is not supported: use 13 (ECDSAP256SHA256) or 15 (ED25519)")
        }
        guard let publicKey = Data(base64Encoded: fields[(at + 4)...].joined()) else {
            return fail(path, line, "the public key is not base64")
        }
        let expected = algorithm == .ecdsaP256SHA256 ? 64 : 32
        guard publicKey.count == expected else {
            return fail(
                path, line, "the public key is \(publicKey.count) bytes; \(algorithm.mnemonic) keys have \(expected)")
        }
        let privatePath = String(path.dropLast(4)) + ".private"
        var st = stat()
        guard stat(privatePath, &st) == 0 else {
            return fail(privatePath, 1, "the private key file is missing (every .key needs its .private)")
        }
        if st.st_mode & 0o077 != 0 {
            return fail(
                privatePath, 1,
                "readable by group or others (mode \(String(st.st_mode & 0o777, radix: 8))): "
                    + "`chmod 600 \(privatePath)`")
        }
        guard let privateText = try? String(contentsOfFile: privatePath, encoding: .utf8) else {
            return fail(privatePath, 1, "cannot read the private key file")
        }
        var privateKey: [UInt8]?
        var sawFormat = false
        for (i, raw) in privateText.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let l = raw.trimmingCharacters(in: .whitespaces)
            guard !l.isEmpty, let colon = l.firstIndex(of: ":") else { continue }
            let field = String(l[..<colon])
            let value = l[l.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch field {
            case "Private-key-format":
                guard value.hasPrefix("v1.") else {
                    return fail(privatePath, i + 1, "Private-key-format \(value): expected v1.2 or v1.3")
                }
                sawFormat = true
            case "Algorithm":
                guard UInt8(value.split(separator: " ").first ?? "") == algorithm.rawValue else {
                    return fail(
                        privatePath, i + 1, "algorithm \(value) does not match the .key's \(algorithm.rawValue)")
                }
            case "PrivateKey":
                guard let d = Data(base64Encoded: value), d.count == 32 else {
                    return fail(privatePath, i + 1, "PrivateKey: expected 32 bytes of base64")
                }
                privateKey = Array(d)
            case "Created", "Publish", "Activate", "Inactive", "Delete":
                guard let t = timestamp(value) else {
                    return fail(privatePath, i + 1, "\(field): expected YYYYMMDDHHMMSS (UTC)")
                }
                setTiming(&timing, field, t)
            default:
                continue
            }
        }
        guard sawFormat else { return fail(privatePath, 1, "not a BIND private key file (no Private-key-format)") }
        guard let privateKey else { return fail(privatePath, 1, "no PrivateKey field") }
        var key = DNSSECKey(
            zone: zone, flags: flags, algorithm: algorithm, publicKey: Array(publicKey), privateKey: privateKey,
            timing: timing)
        key.file = path
        // The private key must be the public key's other half.
        guard (try? key.signer()) != nil, key.matchesPrivateKey else {
            return fail(privatePath, 1, "the private key does not belong to the public key in \(path)")
        }
        return .success(key)
    }

    /// Writes `key` as BIND does (the `.private` with mode 0600); returns the `.key` file's path.
    public static func write(_ key: DNSSECKey, directory: String) throws -> String {
        let stem = directory + "/" + key.fileStem
        func line(_ name: String, _ t: Int64?) -> String? {
            t.map { "\(name): \(format($0))" }
        }
        let role = key.isKeySigning ? "key-signing" : "zone-signing"
        var keyText = "; This is a \(role) key, keyid \(key.keyTag), for \(key.zone)\n"
        let timing = key.timing
        for (name, t) in [
            ("Created", timing.created), ("Publish", timing.publish), ("Activate", timing.activate),
            ("Inactive", timing.inactive), ("Delete", timing.delete),
        ] {
            if let t { keyText += "; \(name): \(format(t))\n" }
        }
        keyText += key.dnskeyRecord + "\n"
        var privateText = "Private-key-format: v1.3\n"
        privateText += "Algorithm: \(key.algorithm.rawValue) (\(key.algorithm.mnemonic))\n"
        privateText += "PrivateKey: \(Data(key.privateKey).base64EncodedString())\n"
        for (name, t) in [
            ("Created", timing.created), ("Publish", timing.publish), ("Activate", timing.activate),
            ("Inactive", timing.inactive), ("Delete", timing.delete),
        ] {
            if let l = line(name, t) { privateText += l + "\n" }
        }
        let privatePath = stem + ".private"
        let fd = open(privatePath, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            throw Problem(file: privatePath, line: 1, message: "cannot create: \(String(cString: strerror(errno)))")
        }
        let bytes = Array(privateText.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == bytes.count else { throw Problem(file: privatePath, line: 1, message: "short write") }
        try keyText.write(toFile: stem + ".key", atomically: true, encoding: .utf8)
        return stem + ".key"
    }

    /// `YYYYMMDDHHMMSS` in UTC (BIND's timing fields), or seconds since the epoch.
    public static func timestamp(_ s: String) -> Int64? {
        let d = Array(s.utf8)
        guard d.count == 14, d.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
            if d.count <= 10, let n = Int64(s) { return n }
            return nil
        }
        func n(_ a: Int, _ b: Int) -> Int64 { Int64(String(decoding: d[a..<b], as: UTF8.self))! }
        let (y, m, day, h, mi, sec) = (n(0, 4), n(4, 6), n(6, 8), n(8, 10), n(10, 12), n(12, 14))
        guard (1...12).contains(m), (1...31).contains(day), h < 24, mi < 60, sec < 61 else { return nil }
        // Days from the civil date (Howard Hinnant's algorithm).
        let yy = m <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let mp = (m + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        return days * 86400 + h * 3600 + mi * 60 + sec
    }

    public static func format(_ t: Int64) -> String {
        let days = t >= 0 ? t / 86400 : (t - 86399) / 86400
        let secs = t - days * 86400
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return String(format: "%04d%02d%02d%02d%02d%02d", y, m, d, secs / 3600, secs / 60 % 60, secs % 60)
    }

    static func setTiming(_ t: inout KeyTiming, _ field: String, _ v: Int64) {
        switch field {
        case "Created": t.created = v
        case "Publish": t.publish = v
        case "Activate": t.activate = v
        case "Inactive": t.inactive = v
        case "Delete": t.delete = v
        default: break
        }
    }
}
