/// Canonical DNS name order (RFC 4034 §6.1), written once: every sort of names (the zone's
/// NSEC order, the presigner's chain, `DNSName.<`) goes through `precedes`.
///
/// Names are compared label by label from the right; two labels as lower-case byte strings, where
/// a label that is a prefix of the other comes first (`a` < `a\000` < `ab`); a name that runs out
/// of labels first comes first. A key that ends each label with a 0 byte instead of keeping its
/// length gets `a\000.example.` before `c.a.example.`, which broke the NSEC chain of such zones.
public enum CanonicalOrder {
    /// Appends the key `precedes` reads: the labels of `wire` from the right, lower-cased, each
    /// behind its length byte. The last `suffix` bytes of `wire` (a common origin's wire form,
    /// root included; 1 for the root alone) are left out.
    @inlinable
    public static func appendKey(
        of wire: UnsafeBufferPointer<UInt8>, droppingSuffix suffix: Int = 1, to key: inout [UInt8]
    ) {
        let end = wire.count - suffix
        guard end > 0 else { return }
        // A name has at most 127 labels.
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 128) { starts in
            var n = 0
            var p = 0
            while p < end && n < 128 {
                starts[n] = p
                n += 1
                p += 1 + Int(wire[p])
            }
            while n > 0 {
                n -= 1
                let s = starts[n]
                let length = Int(wire[s])
                key.append(UInt8(length))
                for j in 0..<length { key.append(asciiLower(wire[s + 1 + j])) }
            }
        }
    }

    /// The key of a whole name (see `appendKey`).
    public static func key(_ name: DNSName) -> [UInt8] {
        var key: [UInt8] = []
        key.reserveCapacity(name.wire.count)
        name.wire.withUnsafeBufferPointer { appendKey(of: $0, to: &key) }
        return key
    }

    /// True when the name whose key is `x` comes before the one whose key is `y` in canonical order.
    /// Inlinable: the zone build sorts a million names with it, from another module.
    @inlinable @inline(__always)
    public static func precedes(_ x: UnsafeBufferPointer<UInt8>, _ y: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        var j = 0
        while i < x.count && j < y.count {
            let (lx, ly) = (Int(x[i]), Int(y[j]))
            let n = min(lx, ly)
            var k = 1
            while k <= n {
                let (a, b) = (x[i + k], y[j + k])
                if a != b { return a < b }
                k += 1
            }
            if lx != ly { return lx < ly }
            i += 1 + lx
            j += 1 + ly
        }
        return i == x.count && j < y.count
    }

    /// `precedes` over two keys held in arrays.
    public static func precedes(_ x: [UInt8], _ y: [UInt8]) -> Bool {
        x.withUnsafeBufferPointer { a in y.withUnsafeBufferPointer { b in precedes(a, b) } }
    }
}
