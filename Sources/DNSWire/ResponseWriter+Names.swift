/// Name compression (RFC 1035 §4.1.4): every label start written so far is remembered, and a name
/// is written as its new labels followed by a pointer to the longest suffix already present.
/// Matching ignores ASCII case, so a zone's owner names point at the client's spelling of them.
extension ResponseWriter {
    /// Writes an uncompressed name, compressing against earlier names when `compress` is set.
    mutating func writeName(_ name: UnsafeRawBufferPointer, compress: Bool) -> Bool {
        var p = 0
        while p < name.count, name[p] != 0 {
            if compress, let target = findSuffix(name, from: p) {
                guard count + 2 <= limit else { return false }
                put16(0xC000 | UInt16(target))
                return true
            }
            let len = Int(name[p])
            guard p + 1 + len <= name.count, count + 1 + len <= limit else { return false }
            remember(count)
            (base + count).copyMemory(from: name.baseAddress! + p, byteCount: 1 + len)
            count += 1 + len
            p += 1 + len
        }
        guard count + 1 <= limit else { return false }
        put8(0)
        return true
    }

    /// Writes a name given as a `DNSName`.
    public mutating func writeName(_ name: DNSName, compress: Bool = true) -> Bool {
        name.wire.withUnsafeBytes { writeName($0, compress: compress) }
    }

    @inline(__always)
    mutating func remember(_ offset: Int) {
        guard offset < 0x3FFF, tableCount < tableCapacity else { return }
        table[tableCount] = UInt16(offset)
        tableCount += 1
    }

    func findSuffix(_ name: UnsafeRawBufferPointer, from p: Int) -> Int? {
        let first = name[p]
        for k in 0..<tableCount {
            let t = Int(table[k])
            if base.load(fromByteOffset: t, as: UInt8.self) == first, suffixMatches(at: t, name, p) {
                return t
            }
        }
        return nil
    }

    /// Compares the (possibly compressed) name at `offset` in the message with `name[p...]`.
    func suffixMatches(at offset: Int, _ name: UnsafeRawBufferPointer, _ p: Int) -> Bool {
        var o = offset
        var q = p
        var hops = 0
        while true {
            var l = base.load(fromByteOffset: o, as: UInt8.self)
            while l & 0xC0 == 0xC0 {
                hops += 1
                if hops > WireName.maxPointerHops { return false }
                o = Int(l & 0x3F) << 8 | Int(base.load(fromByteOffset: o + 1, as: UInt8.self))
                l = base.load(fromByteOffset: o, as: UInt8.self)
            }
            guard q < name.count, l == name[q] else { return false }
            if l == 0 { return true }
            for j in 1...Int(l) {
                if asciiLower(base.load(fromByteOffset: o + j, as: UInt8.self)) != asciiLower(name[q + j]) {
                    return false
                }
            }
            o += 1 + Int(l)
            q += 1 + Int(l)
        }
    }

    @inline(__always) mutating func put8(_ v: UInt8) {
        base.storeBytes(of: v, toByteOffset: count, as: UInt8.self)
        count += 1
    }
    @inline(__always) mutating func put16(_ v: UInt16) {
        set16(count, v)
        count += 2
    }
    @inline(__always) mutating func put32(_ v: UInt32) {
        set16(count, UInt16(v >> 16))
        set16(count + 2, UInt16(v & 0xFFFF))
        count += 4
    }
    @inline(__always) func set16(_ at: Int, _ v: UInt16) {
        base.storeBytes(of: UInt8(v >> 8), toByteOffset: at, as: UInt8.self)
        base.storeBytes(of: UInt8(v & 0xFF), toByteOffset: at + 1, as: UInt8.self)
    }
}

/// Memory a writer reuses across messages: the compression table. One per thread or connection.
public final class CompressionScratch: @unchecked Sendable {
    public let offsets: UnsafeMutablePointer<UInt16>
    public let capacity: Int

    public init(capacity: Int = 256) {
        self.capacity = capacity
        self.offsets = .allocate(capacity: capacity)
    }

    deinit { offsets.deallocate() }
}
