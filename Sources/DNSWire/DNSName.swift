/// A domain name, held in uncompressed wire format: length-prefixed labels ending with the root's
/// zero byte (RFC 1035 §3.1). The original case is kept (answers echo it); equality and hashing
/// ignore ASCII case, as DNS comparisons do (RFC 4343).
public struct DNSName: Sendable, Hashable, CustomStringConvertible, Comparable {
    /// Uncompressed wire bytes, original case, always ending with 0.
    public let wire: [UInt8]

    public static let root = DNSName(trustedWire: [0])

    /// Wraps bytes already known to be a valid uncompressed name.
    public init(trustedWire: [UInt8]) {
        self.wire = trustedWire
    }

    /// Validates `wire` as an uncompressed name: labels ≤ 63, total ≤ 255, ends at the root.
    public init(wire: [UInt8]) throws(DNSWireError) {
        var i = 0
        while true {
            guard i < wire.count else { throw .malformedName("name runs past its end") }
            let len = Int(wire[i])
            if len == 0 {
                guard i + 1 == wire.count else { throw .malformedName("bytes after the root label") }
                break
            }
            guard len <= 63 else { throw .malformedName("label longer than 63 bytes") }
            i += 1 + len
        }
        guard wire.count <= 255 else { throw .malformedName("name longer than 255 bytes") }
        self.wire = wire
    }

    /// The number of labels, not counting the root.
    public var labelCount: Int {
        var n = 0
        var i = 0
        while wire[i] != 0 {
            n += 1
            i += 1 + Int(wire[i])
        }
        return n
    }

    public var isRoot: Bool { wire.count == 1 }

    /// The labels as byte arrays, leftmost first.
    public var labels: [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        var i = 0
        while wire[i] != 0 {
            let len = Int(wire[i])
            out.append(wire[(i + 1)..<(i + 1 + len)])
            i += 1 + len
        }
        return out
    }

    /// The name with its leftmost label removed; the root's parent is the root.
    public var parent: DNSName {
        if isRoot { return self }
        return DNSName(trustedWire: Array(wire[(1 + Int(wire[0]))...]))
    }

    /// The name with ASCII letters folded to lower case.
    public var lowercased: DNSName {
        DNSName(trustedWire: wire.map(asciiLower))
    }

    /// `label.self`; throws if the result would be too long.
    public func prepending(label: some Collection<UInt8>) throws(DNSWireError) -> DNSName {
        guard !label.isEmpty, label.count <= 63 else { throw .malformedName("label length must be 1...63") }
        guard wire.count + label.count + 1 <= 255 else { throw .malformedName("name longer than 255 bytes") }
        return DNSName(trustedWire: [UInt8(label.count)] + label + wire)
    }

    /// True if the first label is exactly `*` (RFC 4592 §2.1.1).
    public var isWildcard: Bool { wire.count >= 2 && wire[0] == 1 && wire[1] == UInt8(ascii: "*") }

    /// True if `self` equals `other` or lies below it.
    public func isSubdomain(of other: DNSName) -> Bool {
        let n = wire.count, m = other.wire.count
        guard n >= m else { return false }
        // The suffix must start on a label boundary of self.
        var i = 0
        while n - i > m {
            i += 1 + Int(wire[i])
        }
        guard n - i == m else { return false }
        return DNSName.equalFolded(wire[i...], other.wire[...])
    }

    /// The name relative to `origin` as text (`www`, or `@` for the origin itself).
    public func relative(to origin: DNSName) -> String {
        if self == origin { return "@" }
        guard isSubdomain(of: origin) else { return description }
        let keep = labelCount - origin.labelCount
        return labels.prefix(keep).map(DNSName.presentLabel).joined(separator: ".")
    }

    /// Compares through buffer pointers: slices of `wire` retain and release the arrays, which
    /// made hash-table lookups of names retain-bound when loading big zones.
    public static func == (a: DNSName, b: DNSName) -> Bool {
        guard a.wire.count == b.wire.count else { return false }
        return a.wire.withUnsafeBufferPointer { x in
            b.wire.withUnsafeBufferPointer { y in
                for i in 0..<x.count where asciiLower(x[i]) != asciiLower(y[i]) { return false }
                return true
            }
        }
    }

    /// Folds the case-insensitive bytes into one word first (FNV-1a), then feeds the hasher once:
    /// per-byte `combine` calls made zone loading hash-bound.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(wire.withUnsafeBytes { FNV1a.hash64($0, folded: true) })
    }

    /// Canonical DNS order (RFC 4034 §6.1), by `CanonicalOrder`'s one rule.
    public static func < (a: DNSName, b: DNSName) -> Bool {
        CanonicalOrder.precedes(a.canonicalKey, b.canonicalKey)
    }

    /// The name's key in canonical order: the lower-cased labels from the right, each behind its
    /// length (`CanonicalOrder.appendKey`). Computing it once per name makes sorting a large set of
    /// names cheap; compare keys with `CanonicalOrder.precedes`, never byte by byte.
    public var canonicalKey: [UInt8] { CanonicalOrder.key(self) }

    static func equalFolded(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) where asciiLower(x) != asciiLower(y) { return false }
        return true
    }
}

@inlinable @inline(__always)
public func asciiLower(_ b: UInt8) -> UInt8 {
    (b &- 0x41) < 26 ? b | 0x20 : b
}
