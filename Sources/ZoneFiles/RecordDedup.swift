import DNSWire
import DNSZone

/// Finds repeats of a record (same owner ignoring case, type, class and rdata; RFC 2181 §5) among
/// the records kept so far, by index into the caller's array: an open-addressing table of
/// integers, so a record is never copied or retained to remember it (a `Set<ResourceRecord>`
/// was a sixth of a big zone's load time).
struct RecordDedup {
    /// The hash in the high half and index + 1 of a kept record in the low half (one cache line
    /// per probe), 0 when empty; a power of two in size, at most half full.
    private var slots: [UInt64] = Array(repeating: 0, count: 16)
    private var count = 0

    mutating func reserveCapacity(_ n: Int) {
        var size = slots.count
        while size < n * 2 { size <<= 1 }
        if size > slots.count { rehash(size) }
    }

    /// True when `record` repeats one of `records`; otherwise remembers it as `records.count`
    /// (the caller appends it next).
    mutating func isRepeat(_ record: ResourceRecord, in records: [LoadedRecord]) -> Bool {
        let h = RecordDedup.hash(record)
        let mask = slots.count - 1
        var s = Int(h) & mask
        while slots[s] != 0 {
            if UInt32(slots[s] >> 32) == h {
                let other = records[Int(slots[s] & 0xFFFF_FFFF) - 1].record
                if other.type == record.type && other.rrClass == record.rrClass && other.rdata == record.rdata
                    && other.name == record.name
                {
                    return true
                }
            }
            s = (s + 1) & mask
        }
        slots[s] = UInt64(h) << 32 | UInt64(records.count + 1)
        count += 1
        if count * 2 > slots.count { rehash(slots.count * 2) }
        return false
    }

    private mutating func rehash(_ size: Int) {
        slots = HashSlots.rehashed(slots, to: size)
    }

    /// FNV-1a over the lower-cased owner, the type, the class and the rdata.
    static func hash(_ r: ResourceRecord) -> UInt32 {
        var h = r.name.wire.withUnsafeBytes { FNV1a.hash32($0, folded: true) }
        h = (h ^ UInt32(r.type.rawValue)) &* FNV1a.prime32
        h = (h ^ UInt32(r.rrClass.rawValue)) &* FNV1a.prime32
        h = r.rdata.withUnsafeBytes { FNV1a.hash32($0, folded: false, into: h) }
        return h
    }
}
