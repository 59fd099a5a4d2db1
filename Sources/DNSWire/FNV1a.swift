/// FNV-1a, the one hash Carousel computes itself: over case-folded names for its tables (hashes
/// stored beside the entries, so probes compare words, not names), and over file contents to tell
/// a touch from an edit. Not for anything an attacker chooses to collide (cookies use SipHash).
public enum FNV1a {
    public static let offset32: UInt32 = 2_166_136_261
    public static let prime32: UInt32 = 16_777_619
    public static let offset64: UInt64 = 0xcbf2_9ce4_8422_2325
    public static let prime64: UInt64 = 0x100_0000_01b3

    @inline(__always)
    public static func add(_ h: UInt32, _ byte: UInt8) -> UInt32 { (h ^ UInt32(byte)) &* prime32 }

    @inline(__always)
    public static func add(_ h: UInt64, _ byte: UInt8) -> UInt64 { (h ^ UInt64(byte)) &* prime64 }

    /// 32 bits over `bytes`, ASCII letters folded to lower case when `folded`.
    @inline(__always)
    public static func hash32(_ bytes: UnsafeRawBufferPointer, folded: Bool, into h: UInt32 = offset32) -> UInt32 {
        hash(bytes, folded: folded, from: h, prime: prime32)
    }

    /// 64 bits over `bytes`, ASCII letters folded to lower case when `folded`.
    @inline(__always)
    public static func hash64(_ bytes: UnsafeRawBufferPointer, folded: Bool = false, into h: UInt64 = offset64)
        -> UInt64
    {
        hash(bytes, folded: folded, from: h, prime: prime64)
    }

    @inline(__always)
    static func hash<H: FixedWidthInteger & UnsignedInteger>(
        _ bytes: UnsafeRawBufferPointer, folded: Bool, from h: H, prime: H
    ) -> H {
        var h = h
        for b in bytes { h = (h ^ H(folded ? asciiLower(b) : b)) &* prime }
        return h
    }
}
