import DNSWire

/// An immutable open-addressing hash table from names to small integers, looked up straight from
/// packet bytes without building a key: the query path hashes and compares the name in place,
/// folding ASCII case (RFC 4343). Keys are kept lower-cased in one contiguous arena.
public struct NameTable: Sendable {
    /// Lower-cased wire names, back to back.
    let arena: [UInt8]
    /// Per entry: start of its key in `arena`; the key's length is implied by its labels.
    let keyStart: [UInt32]
    /// Per slot: the key's hash in the high 32 bits, entry index + 1 in the low 32 (0 = empty),
    /// so a probe touches one cache line, not two. Capacity is a power of two, at most half full.
    let slots: [UInt64]
    let mask: Int

    public var count: Int { keyStart.count }

    /// Builds a table whose entry `i` is `names[i]`. Duplicate names keep the first entry.
    public init(_ names: [DNSName]) {
        var arena: [UInt8] = []
        arena.reserveCapacity(names.reduce(0) { $0 + $1.wire.count })
        var keyStart: [UInt32] = []
        keyStart.reserveCapacity(names.count)
        var capacity = 8
        while capacity < names.count * 2 { capacity <<= 1 }
        var slots = [UInt64](repeating: 0, count: capacity)
        let mask = capacity - 1
        for (index, name) in names.enumerated() {
            keyStart.append(UInt32(arena.count))
            arena += name.wire.map(asciiLower)
            let h = name.wire.withUnsafeBytes { NameTable.hash($0, from: 0) }
            var s = Int(h) & mask
            var duplicate = false
            while slots[s] != 0 {
                let other = names[Int(slots[s] & 0xffff_ffff) - 1]
                if UInt32(slots[s] >> 32) == h && other == name { duplicate = true; break }
                s = (s + 1) & mask
            }
            if !duplicate { slots[s] = UInt64(h) << 32 | UInt64(index + 1) }
        }
        self.arena = arena
        self.keyStart = keyStart
        self.slots = slots
        self.mask = mask
    }

    /// Looks up the uncompressed name that starts at `from` in `bytes` (ending at its root label).
    @inline(__always)
    public func find(_ bytes: UnsafeRawBufferPointer, from: Int) -> Int? {
        let h = NameTable.hash(bytes, from: from)
        var s = Int(h) & mask
        return slots.withUnsafeBufferPointer { slots in
            arena.withUnsafeBufferPointer { arena in
                while true {
                    let slot = slots[s]
                    if slot == 0 { return nil }
                    let e = Int(slot & 0xffff_ffff)
                    if UInt32(slot >> 32) == h && NameTable.equal(bytes, from, arena, Int(keyStart[e - 1])) {
                        return e - 1
                    }
                    s = (s + 1) & mask
                }
            }
        }
    }

    public func find(_ name: DNSName) -> Int? {
        name.wire.withUnsafeBytes { find($0, from: 0) }
    }

    /// The lower-cased wire bytes of entry `i`, without copying (for the query path).
    @inline(__always)
    public func withName<T>(_ i: Int, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        arena.withUnsafeBytes { a in
            let start = Int(keyStart[i])
            var end = start
            while a[end] != 0 { end += 1 + Int(a[end]) }
            return body(UnsafeRawBufferPointer(rebasing: a[start...end]))
        }
    }

    /// The lower-cased key of entry `i` as a name.
    public func name(_ i: Int) -> DNSName {
        let start = Int(keyStart[i])
        var end = start
        while arena[end] != 0 { end += 1 + Int(arena[end]) }
        return DNSName(trustedWire: Array(arena[start...end]))
    }

    /// FNV-1a over the lower-cased bytes of the name at `from`, up to and including the root.
    @inline(__always)
    static func hash(_ b: UnsafeRawBufferPointer, from: Int) -> UInt32 {
        var h = FNV1a.offset32
        var i = from
        while true {
            let len = b[i]
            h = FNV1a.add(h, len)
            if len == 0 { return h }
            for j in 1...Int(len) { h = FNV1a.add(h, asciiLower(b[i + j])) }
            i += 1 + Int(len)
        }
    }

    @inline(__always)
    static func equal(_ a: UnsafeRawBufferPointer, _ ai: Int, _ key: UnsafeBufferPointer<UInt8>, _ ki: Int) -> Bool {
        var i = ai, k = ki
        while true {
            let len = a[i]
            if len != key[k] { return false }
            if len == 0 { return true }
            for j in 1...Int(len) where asciiLower(a[i + j]) != key[k + j] { return false }
            i += 1 + Int(len)
            k += 1 + Int(len)
        }
    }
}
