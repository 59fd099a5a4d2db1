/// The slot layout of the loader's open-addressing tables (`NameIndex`, `RecordDedup`) and of
/// `NameTable`: the key's 32-bit hash in the high half, entry index + 1 in the low half (0 is an
/// empty slot), so a probe compares hashes without touching the entries.
public enum HashSlots {
    /// `old`'s entries placed into `size` slots (a power of two), by linear probing.
    public static func rehashed(_ old: [UInt64], to size: Int) -> [UInt64] {
        var slots = [UInt64](repeating: 0, count: size)
        let mask = size - 1
        for e in old where e != 0 {
            var s = Int(e >> 32) & mask
            while slots[s] != 0 { s = (s + 1) & mask }
            slots[s] = e
        }
        return slots
    }
}
