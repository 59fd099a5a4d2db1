import DNSWire

/// A growing map from names (ignoring ASCII case) to 0, 1, 2, … in insertion order, for loading:
/// open addressing with the hash stored beside the index, so a probe compares names only when
/// the hashes match (a `[DNSName: Int]` compares at every probe; that made big zones' loads
/// name-comparison bound).
public struct NameIndex: Sendable {
    /// Hash in the high half, index + 1 in the low half, 0 when empty; at most half full.
    private var slots: [UInt64] = Array(repeating: 0, count: 16)
    public private(set) var names: [DNSName] = []

    public init(capacity: Int = 0) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = Array(repeating: 0, count: size)
        names.reserveCapacity(capacity)
    }

    public var count: Int { names.count }

    public func index(of name: DNSName) -> Int? {
        let h = NameIndex.hash(name)
        let mask = slots.count - 1
        var s = Int(h) & mask
        while slots[s] != 0 {
            let i = Int(slots[s] & 0xFFFF_FFFF) - 1
            if UInt32(slots[s] >> 32) == h, names[i] == name { return i }
            s = (s + 1) & mask
        }
        return nil
    }

    /// The index of `name`, adding it (as given) when new.
    public mutating func insert(_ name: DNSName) -> (index: Int, inserted: Bool) {
        let h = NameIndex.hash(name)
        let mask = slots.count - 1
        var s = Int(h) & mask
        while slots[s] != 0 {
            let i = Int(slots[s] & 0xFFFF_FFFF) - 1
            if UInt32(slots[s] >> 32) == h, names[i] == name { return (i, false) }
            s = (s + 1) & mask
        }
        slots[s] = UInt64(h) << 32 | UInt64(names.count + 1)
        names.append(name)
        if names.count * 2 > slots.count { grow() }
        return (names.count - 1, true)
    }

    private mutating func grow() {
        slots = HashSlots.rehashed(slots, to: slots.count * 2)
    }

    /// FNV-1a over the lower-cased wire bytes.
    static func hash(_ name: DNSName) -> UInt32 {
        name.wire.withUnsafeBytes { FNV1a.hash32($0, folded: true) }
    }
}
