import CarouselConfig
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One probe target: an address and how it is checked (DESIGN §6). Pools that share an address
/// and an equal check share the target, so it is probed once however many pools use it.
public struct TargetKey: Hashable, Sendable, CustomStringConvertible {
    /// Canonical IPv4 or IPv6 text (`inet_ntop`'s form), so `::1` and `0::1` are one target.
    public var address: String
    public var check: CheckConfig

    public init(address: String, check: CheckConfig) {
        self.address = IPText.canonical(address) ?? address
        self.check = check
    }

    /// What is probed, as stable text for logs and the state file:
    /// `http:8080/healthz host=www.example.com expect=200 body="ok"`. Timing (interval, timeout,
    /// rise, fall) is left out: it changes how often we look, not what we look at, so a saved
    /// state stays valid when only the timing changes.
    public var fingerprint: String { check.fingerprint }

    public var description: String { "\(address) \(fingerprint)" }
}

extension CheckConfig {
    /// See ``TargetKey/fingerprint``.
    public var fingerprint: String {
        switch type {
        case .none:
            return "none"
        case .tcp:
            return "tcp:\(port)"
        case .http, .https:
            var s = "\(type.rawValue):\(port)\(path)"
            if let host { s += " host=\(host)" }
            s += " expect=" + expect.map(String.init).joined(separator: ",")
            if let body { s += " body=\(quoted(body))" }
            if type == .https && insecure { s += " insecure" }
            return s
        case .dns:
            return "dns:\(port) \(query ?? ".") \(qtype) rcodes=" + rcodes.map(String.init).joined(separator: ",")
        case .exec:
            return "exec:\(port) " + command.map(shellWord).joined(separator: " ")
        }
    }
}

/// `"ok"` with `"` and `\` escaped, so a body with spaces stays one readable token.
func quoted(_ s: String) -> String {
    "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
}

/// A command word as a shell would need it to read it back: bare when safe, else single-quoted.
func shellWord(_ s: String) -> String {
    let safe =
        !s.isEmpty
        && s.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || "/._-=:,+@%".utf8.contains(b)
        }
    return safe ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// IP literals: recognising and canonicalising them with the C library, which is the authority
/// on what the socket calls will accept.
enum IPText {
    /// The canonical text of an IPv4 or IPv6 literal, or nil when `text` is not one.
    static func canonical(_ text: String) -> String? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return ntop(AF_INET, &v4) }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return ntop(AF_INET6, &v6) }
        return nil
    }

    static func isIPAddress(_ text: String) -> Bool { canonical(text) != nil }

    private static func ntop(_ family: Int32, _ addr: UnsafeRawPointer) -> String? {
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(family, addr, &buf, socklen_t(buf.count)) != nil else { return nil }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
