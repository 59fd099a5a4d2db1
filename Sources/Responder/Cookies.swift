import DNSWire

#if canImport(Glibc)
    import Glibc
#endif

/// The address a query came from (4 or 16 bytes), for DNS Cookies: a server cookie is bound to
/// it. `.unknown` where the transport does not say, and then no server cookie is made.
public struct ClientAddress: Sendable {
    /// The address bytes in network order, in the first `length` bytes.
    var bytes: (UInt64, UInt64) = (0, 0)
    public private(set) var length = 0

    public static let unknown = ClientAddress()

    init() {}

    /// From 4 (IPv4) or 16 (IPv6) bytes; anything else is `.unknown`.
    public init(_ raw: UnsafeRawBufferPointer) {
        guard raw.count == 4 || raw.count == 16 else { return }
        withUnsafeMutableBytes(of: &bytes) { $0.copyMemory(from: raw) }
        length = raw.count
    }

    public init(_ raw: [UInt8]) {
        self = raw.withUnsafeBytes { ClientAddress($0) }
    }
}

/// DNS Cookies (RFC 7873) with the interoperable server cookie of RFC 9018: version 1, three
/// reserved bytes, a 32-bit timestamp and SipHash-2-4 over client cookie | version | reserved |
/// timestamp | client address, keyed by a 128-bit server secret. Servers of an anycast set that
/// share the secret accept each other's cookies, whatever their make.
public enum DNSCookies {
    /// What a query's COOKIE option showed.
    public enum Status: Sendable, Equatable {
        /// No COOKIE option.
        case none
        /// A client cookie alone, or a server cookie that is not ours, too old, from the future,
        /// or for another address: answered as usual, with a fresh server cookie to learn.
        case learning
        /// A server cookie we made for this client less than an hour ago: the client's address
        /// is not spoofed (it received our earlier answer).
        case valid
    }

    /// The length of the COOKIE option we send: the client cookie and a 16-byte server cookie.
    public static let responseLength = 24

    /// Writes the COOKIE option's data for the response into `out` (24 bytes) from the query's
    /// option `cookie` (8 or 16–40 bytes) and says what the query's cookie was. A valid server
    /// cookie less than half an hour old is sent back as it came; otherwise a new one is made
    /// (RFC 9018 §4.3).
    /// A cookie made with `previous` (the secret before a rollover, RFC 9018 §5) is valid too,
    /// and is answered with a new one made with `secret`.
    public static func respond(
        to cookie: UnsafeRawBufferPointer, client: ClientAddress, secret: CookieSecret, previous: CookieSecret? = nil,
        now: UInt32, into out: UnsafeMutableRawBufferPointer
    ) -> Status {
        out.copyMemory(from: UnsafeRawBufferPointer(rebasing: cookie[0..<8]))
        var verdict = Status.learning
        if cookie.count == 24, cookie[8] == 1 {
            let stamp =
                UInt32(cookie[12]) << 24 | UInt32(cookie[13]) << 16 | UInt32(cookie[14]) << 8 | UInt32(cookie[15])
            let age = Int32(bitPattern: now &- stamp)  // RFC 1982 arithmetic: wraps in 2106
            if age <= 3600 && age >= -300 {
                let theirs = UInt64(
                    littleEndian: UnsafeRawBufferPointer(rebasing: cookie[16..<24]).loadUnaligned(as: UInt64.self))
                let stamped = UnsafeRawBufferPointer(rebasing: cookie[8..<16])
                if hash(cookie, stamp: stamped, client: client, secret: secret) == theirs {
                    verdict = .valid
                    if age < 1800 {
                        out.copyMemory(from: cookie)
                        return verdict
                    }
                } else if let previous, hash(cookie, stamp: stamped, client: client, secret: previous) == theirs {
                    verdict = .valid
                }
            }
        }
        out[8] = 1
        out[9] = 0
        out[10] = 0
        out[11] = 0
        out[12] = UInt8(now >> 24)
        out[13] = UInt8(now >> 16 & 0xFF)
        out[14] = UInt8(now >> 8 & 0xFF)
        out[15] = UInt8(now & 0xFF)
        let h = hash(
            UnsafeRawBufferPointer(out), stamp: UnsafeRawBufferPointer(rebasing: out[8..<16]), client: client,
            secret: secret)
        UnsafeMutableRawBufferPointer(rebasing: out[16..<24]).storeBytes(of: h.littleEndian, as: UInt64.self)
        return verdict
    }

    /// SipHash-2-4 of client cookie (the first 8 bytes of `cookie`) | `stamp` (version, reserved,
    /// timestamp: 8 bytes) | the client's address, as its 8 bytes in memory order (little-endian,
    /// as RFC 9018's test vectors have it).
    static func hash(
        _ cookie: UnsafeRawBufferPointer, stamp: UnsafeRawBufferPointer, client: ClientAddress, secret: CookieSecret
    ) -> UInt64 {
        withUnsafeTemporaryAllocation(byteCount: 32, alignment: 8) { buffer in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: cookie[0..<8]))
            UnsafeMutableRawBufferPointer(rebasing: buffer[8..<16]).copyMemory(from: stamp)
            withUnsafeBytes(of: client.bytes) {
                UnsafeMutableRawBufferPointer(rebasing: buffer[16..<(16 + client.length)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<client.length]))
            }
            return SipHash24.hash(
                UnsafeRawBufferPointer(rebasing: buffer[0..<(16 + client.length)]), key: (secret.k0, secret.k1))
        }
    }

    /// Seconds since the epoch (the vDSO's coarse clock: no system call).
    @inline(__always)
    public static func now() -> UInt32 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME_COARSE, &ts)
        return UInt32(truncatingIfNeeded: ts.tv_sec)
    }
}

/// SipHash-2-4 (Aumasson and Bernstein, 2012), 64-bit output: the PRF RFC 9018 names.
enum SipHash24 {
    @inline(__always)
    static func rotl(_ x: UInt64, _ b: UInt64) -> UInt64 { (x << b) | (x >> (64 - b)) }

    static func hash(_ m: UnsafeRawBufferPointer, key: (UInt64, UInt64)) -> UInt64 {
        var v0: UInt64 = 0x736f_6d65_7073_6575 ^ key.0
        var v1: UInt64 = 0x646f_7261_6e64_6f6d ^ key.1
        var v2: UInt64 = 0x6c79_6765_6e65_7261 ^ key.0
        var v3: UInt64 = 0x7465_6462_7974_6573 ^ key.1
        @inline(__always) func round() {
            v0 = v0 &+ v1
            v1 = rotl(v1, 13)
            v1 ^= v0
            v0 = rotl(v0, 32)
            v2 = v2 &+ v3
            v3 = rotl(v3, 16)
            v3 ^= v2
            v0 = v0 &+ v3
            v3 = rotl(v3, 21)
            v3 ^= v0
            v2 = v2 &+ v1
            v1 = rotl(v1, 17)
            v1 ^= v2
            v2 = rotl(v2, 32)
        }
        let blocks = m.count / 8
        for i in 0..<blocks {
            let word = UInt64(littleEndian: m.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))
            v3 ^= word
            round()
            round()
            v0 ^= word
        }
        var last = UInt64(m.count & 0xFF) << 56
        for i in 0..<(m.count & 7) { last |= UInt64(m[blocks * 8 + i]) << UInt64(8 * i) }
        v3 ^= last
        round()
        round()
        v0 ^= last
        v2 ^= 0xFF
        round()
        round()
        round()
        round()
        return v0 ^ v1 ^ v2 ^ v3
    }
}

/// The 128-bit key of the server cookies.
public struct CookieSecret: Sendable, Equatable {
    public var k0: UInt64
    public var k1: UInt64

    public init(k0: UInt64, k1: UInt64) {
        self.k0 = k0
        self.k1 = k1
    }

    /// From its 16 bytes as written (hex in the config, as RFC 9018's test vectors and other
    /// servers write it): two little-endian words, as SipHash takes its key. Nil for another length.
    public init?(_ bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        var k0: UInt64 = 0
        var k1: UInt64 = 0
        for i in (0..<8).reversed() {
            k0 = k0 << 8 | UInt64(bytes[i])
            k1 = k1 << 8 | UInt64(bytes[8 + i])
        }
        self.init(k0: k0, k1: k1)
    }

    /// Random, for a server without a configured secret: cookies last as long as the process.
    public static func random() -> CookieSecret {
        var g = SystemRandomNumberGenerator()
        return CookieSecret(k0: g.next(), k1: g.next())
    }
}

extension ClientAddress {
    /// The address as a subnet of its full length (the key of a sticky pool without ECS).
    @inline(__always)
    public var subnet: ClientSubnet? {
        switch length {
        case 4:
            return ClientSubnet(
                family: .ipv4, sourcePrefix: 32, high: UInt64(bigEndian: bytes.0) & 0xFFFF_FFFF_0000_0000, low: 0)
        case 16:
            return ClientSubnet(
                family: .ipv6, sourcePrefix: 128, high: UInt64(bigEndian: bytes.0), low: UInt64(bigEndian: bytes.1))
        default:
            return nil
        }
    }
}
