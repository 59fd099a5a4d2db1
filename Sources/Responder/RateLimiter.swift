import Atomics

#if canImport(Glibc)
    import Glibc
#endif

/// Response rate limiting (RRL, as in BIND, NSD and Knot): a spoofed flood that tries to use
/// Carousel to amplify traffic at a victim meets a cap on the responses per second that one
/// client prefix gets for one answer. Over the cap, every `slip`-th response goes out truncated
/// (TC=1), so a real client behind the prefix retries over TCP, which cannot be spoofed; the
/// rest are dropped.
///
/// The table is a fixed array of 64-bit cells shared by every event loop and updated with one
/// compare-and-swap: no locks, no allocation per query. A cell holds the second it counts, a tag
/// of the (prefix, answer) key and the count. Two keys that land on one cell in the same second
/// take it from each other (the count restarts), so a collision can let a flood through briefly
/// but never limits an innocent client; with 2^17 cells that needs ~100,000 busy keys a second.
public final class RateLimiter: @unchecked Sendable {
    public enum Action: Sendable, Equatable {
        case pass, slip, drop
    }

    static let cellCount = 1 << 17
    private let cells: UnsafeMutablePointer<UnsafeAtomic<UInt64>.Storage>

    public init() {
        cells = .allocate(capacity: RateLimiter.cellCount)
        cells.initialize(repeating: UnsafeAtomic<UInt64>.Storage(0), count: RateLimiter.cellCount)
    }

    deinit {
        cells.deinitialize(count: RateLimiter.cellCount)
        cells.deallocate()
    }

    /// The cell of a (client, answer) key and the 16-bit tag (bits the index does not use) that
    /// tells keys sharing the cell apart.
    @inline(__always)
    private func cell(client: UInt64, answer: UInt64) -> (index: Int, tag: UInt64) {
        var h = client &* 0x9e37_79b9_7f4a_7c15 ^ answer
        h ^= h >> 29
        h &*= 0xbf58_476d_1ce4_e5b9
        h ^= h >> 32
        return (Int(truncatingIfNeeded: h) & (RateLimiter.cellCount - 1), UInt64(truncatingIfNeeded: h >> 48))
    }

    /// Whether the next `check` of this client and answer would be over the limit, without
    /// counting anything: a signer asks before it makes a signature that RRL would drop.
    public func wouldLimit(client: UInt64, answer: UInt64, now: UInt32, limit: Int) -> Bool {
        let (index, tag) = cell(client: client, answer: answer)
        let old = UnsafeAtomic<UInt64>(at: cells + index).load(ordering: .relaxed)
        let second = UInt64(now & 0xff_ffff)
        return old >> 40 == second && (old >> 24) & 0xffff == tag && old & 0xff_ffff >= UInt64(limit)
    }

    /// Counts one response to `client` (a prefix key, see `prefixKey`) for `answer` (the
    /// `QueryOutcome.answerKey`) in second `now`, and says what to do with it.
    @inline(__always)
    public func check(client: UInt64, answer: UInt64, now: UInt32, limit: Int, slip: Int) -> Action {
        let (index, tag) = cell(client: client, answer: answer)
        let cell = UnsafeAtomic<UInt64>(at: cells + index)
        let second = UInt64(now & 0xff_ffff)
        var old = cell.load(ordering: .relaxed)
        var count: UInt64
        while true {
            // [second: 24 bits][tag: 16 bits][count: 24 bits]
            if old >> 40 == second && (old >> 24) & 0xffff == tag {
                count = min((old & 0xff_ffff) + 1, 0xff_ffff)
            } else {
                count = 1
            }
            let new = second << 40 | tag << 24 | count
            let (done, seen) = cell.compareExchange(expected: old, desired: new, ordering: .relaxed)
            if done { break }
            old = seen
        }
        if count <= UInt64(limit) { return .pass }
        if slip > 0 && (count - UInt64(limit)) % UInt64(slip) == 0 { return .slip }
        return .drop
    }

    /// The key of a client's prefix: the first `v4Bits` of an IPv4 address, or `v6Bits` of an
    /// IPv6 one (`bytes` is the address in network order: 4 or 16 bytes).
    @inline(__always)
    public static func prefixKey(_ bytes: UnsafeRawBufferPointer, v4Bits: Int, v6Bits: Int) -> UInt64 {
        if bytes.count == 4 {
            let a = UInt64(bytes[0]) << 24 | UInt64(bytes[1]) << 16 | UInt64(bytes[2]) << 8 | UInt64(bytes[3])
            return a & (0xffff_ffff << UInt64(32 - v4Bits)) & 0xffff_ffff | 1 << 63  // bit 63: IPv4
        }
        var hi: UInt64 = 0
        var lo: UInt64 = 0
        for i in 0..<8 { hi = hi << 8 | UInt64(bytes[i]) }
        for i in 8..<16 { lo = lo << 8 | UInt64(bytes[i]) }
        if v6Bits < 64 {
            hi &= ~(UInt64.max >> UInt64(v6Bits))
            lo = 0
        } else if v6Bits < 128 {
            lo &= ~(UInt64.max >> UInt64(v6Bits - 64))
        }
        return (hi ^ lo &* 0x9e37_79b9_7f4a_7c15) & ~(1 << 63)
    }

    /// Seconds on a coarse monotonic clock (cheap: read from the vDSO).
    @inline(__always)
    public static func now() -> UInt32 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts)
        return UInt32(truncatingIfNeeded: ts.tv_sec)
    }
}
