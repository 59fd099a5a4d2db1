#if canImport(Glibc)
    import Glibc
#endif

/// An IPv4 or IPv6 address as bytes in network order, and its text: the one home of address
/// parsing and printing (the C library's `inet_pton` and `inet_ntop` decide what is an address,
/// as the socket calls will; IPv6 prints in RFC 5952's canonical form).
public struct IPAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// 4 bytes (IPv4) or 16 (IPv6).
    public let bytes: [UInt8]

    public var isIPv4: Bool { bytes.count == 4 }

    /// From 4 or 16 bytes; nil for any other length.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = Array(bytes)
    }

    /// From an IPv4 or IPv6 literal (`192.0.2.1`, `2001:db8::1`); nil for anything else.
    public init?(_ text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
            return
        }
        return nil
    }

    /// The canonical text of an address given as text, or nil when it is not one.
    public static func canonical(_ text: String) -> String? { IPAddress(text)?.description }

    /// The canonical text of A (4 bytes) or AAAA (16 bytes) rdata; nil for other lengths.
    public static func text(_ bytes: UnsafeRawBufferPointer) -> String? {
        IPAddress(bytes: bytes)?.description
    }

    public var description: String {
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let ok = bytes.withUnsafeBytes {
            inet_ntop(isIPv4 ? AF_INET : AF_INET6, $0.baseAddress, &buf, socklen_t(buf.count))
        }
        guard ok != nil else { return "?" }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// IPv4 before IPv6, then by bytes.
    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        if a.bytes.count != b.bytes.count { return a.bytes.count < b.bytes.count }
        return a.bytes.lexicographicallyPrecedes(b.bytes)
    }
}

/// An address with a prefix length: `127.0.0.1` (a /32), `10.0.0.0/8`, `::1/128`.
public struct IPPrefix: Sendable, Hashable, CustomStringConvertible {
    /// 4 or 16 bytes, bits past the prefix cleared.
    public let bytes: [UInt8]
    public let length: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(String(parts[0])) else { return nil }
        let max = address.bytes.count * 8
        var length = max
        if parts.count == 2 {
            guard let n = Int(parts[1]), (0...max).contains(n) else { return nil }
            length = n
        }
        self.bytes = IPPrefix.masked(address.bytes, length)
        self.length = length
    }

    static func masked(_ b: [UInt8], _ length: Int) -> [UInt8] {
        b.enumerated().map { i, byte in
            let keep = min(8, max(0, length - i * 8))
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
        return IPPrefix.masked(a, length) == bytes
    }

    public var description: String { "\(IPAddress(bytes: bytes)?.description ?? "?")/\(length)" }
}

/// `127.0.0.1:5353`, `[::1]:5353` or `localhost:53`: where to listen, or a peer to reach.
public struct HostPort: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init?(_ text: String) {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { return nil }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        }
        guard !hostPart.isEmpty, let port = Int(portPart), (0...65535).contains(port) else { return nil }
        self.host = String(hostPart)
        self.port = port
    }

    /// A loopback host (`localhost`, `127.x`, `::1`): where the admin API may run without a token.
    public var isLoopback: Bool { host == "localhost" || host == "::1" || host.hasPrefix("127.") }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
