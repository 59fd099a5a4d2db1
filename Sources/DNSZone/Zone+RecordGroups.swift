import DNSWire

/// The first step of `Zone.build`: records grouped by owner (lower-cased) and type, as linked
/// lists of indices into the records in flat arrays (no array per owner or RRset: those
/// allocations were most of a big zone's build time). Identical records (owner, type, class,
/// rdata) are kept once: a linear check within the RRset, with a set once an RRset is large.
final class RecordGroups {
    struct SetInfo {
        var type: RRType
        var head: Int32
        var tail: Int32
        var count: Int32
        var next: Int32
    }

    // A class with constant fields: the build passes it around without copying six arrays.
    let records: [ResourceRecord]
    let ownerIndex: NameIndex
    /// The first RRset of each owner, in `sets`; owners in the order first seen.
    let firstSet: [Int32]
    let sets: [SetInfo]
    /// The next record of the same RRset, by record index.
    let nextRecord: [Int32]
    let ownerNames: [DNSName]
    /// Records kept (duplicates dropped).
    let recordCount: Int

    init(_ records: [ResourceRecord], origin: DNSName) throws(ZoneBuildError) {
        var ownerIndex = NameIndex(capacity: records.count / 2)
        var firstSet: [Int32] = []
        var sets: [SetInfo] = []
        var nextRecord = [Int32](repeating: -1, count: records.count)
        var ownerNames: [DNSName] = []
        var recordCount = 0
        var large: [Int: Set<[UInt8]>] = [:]  // key: set index
        var previousName: [UInt8] = []
        var previousOwner = -1
        for (i, r) in records.enumerated() {
            let o: Int
            if previousOwner >= 0, r.name.wire == previousName {
                // Records of one owner come together in zone files: no hashing for those.
                o = previousOwner
            } else {
                guard r.name.isSubdomain(of: origin) else {
                    throw ZoneBuildError(message: "\(r.name) is outside the zone \(origin)")
                }
                let (known, inserted) = ownerIndex.insert(r.name)
                o = known
                if inserted {
                    firstSet.append(-1)
                    ownerNames.append(r.name.lowercased)
                }
                previousName = r.name.wire
                previousOwner = o
            }
            var s = Int(firstSet[o])
            var last = -1
            while s >= 0, sets[s].type != r.type {
                last = s
                s = Int(sets[s].next)
            }
            if s < 0 {
                sets.append(SetInfo(type: r.type, head: Int32(i), tail: Int32(i), count: 1, next: -1))
                if last < 0 { firstSet[o] = Int32(sets.count - 1) } else { sets[last].next = Int32(sets.count - 1) }
                recordCount += 1
                continue
            }
            let count = sets[s].count
            if count < 32 {
                // A linear walk of a small set (a nested function would box the arrays it reads).
                var m = Int(sets[s].head)
                var duplicate = false
                while m >= 0 {
                    if records[m].rdata == r.rdata && records[m].rrClass == r.rrClass {
                        duplicate = true
                        break
                    }
                    m = Int(nextRecord[m])
                }
                if duplicate { continue }
                if count == 31 {
                    var all: Set<[UInt8]> = [r.rdata]
                    m = Int(sets[s].head)
                    while m >= 0 {
                        all.insert(records[m].rdata)
                        m = Int(nextRecord[m])
                    }
                    large[s] = all
                }
            } else if !large[s, default: []].insert(r.rdata).inserted {
                continue
            }
            nextRecord[Int(sets[s].tail)] = Int32(i)
            sets[s].tail = Int32(i)
            sets[s].count += 1
            recordCount += 1
        }
        self.records = records
        self.ownerIndex = ownerIndex
        self.firstSet = firstSet
        self.sets = sets
        self.nextRecord = nextRecord
        self.ownerNames = ownerNames
        self.recordCount = recordCount
    }

    /// Owner `o`'s RRset of `type`, if it has one.
    func set(ofOwner o: Int, _ type: RRType) -> Int? {
        var s = Int(firstSet[o])
        while s >= 0, sets[s].type != type { s = Int(sets[s].next) }
        return s >= 0 ? s : nil
    }

    /// The SOA at the apex; a zone without one cannot be built.
    func apexSOA(_ origin: DNSName) throws(ZoneBuildError) -> ResourceRecord {
        guard let apex = ownerIndex.index(of: origin), let soa = set(ofOwner: apex, .soa) else {
            throw ZoneBuildError(message: "no SOA record at the apex \(origin)")
        }
        return records[Int(sets[soa].head)]
    }

    /// The empty non-terminals: every name between the apex and an owner exists (RFC 8020). A
    /// parent already known has its own ancestors known too; most owners sit right below the
    /// apex, which is known, so their parent is never built.
    func emptyNonTerminals(below origin: DNSName) -> [DNSName] {
        var between: Set<DNSName> = []
        var names: [DNSName] = []
        let originLength = origin.wire.count
        for owner in ownerNames where owner.wire.count - 1 - Int(owner.wire[0]) != originLength {
            var n = owner
            while n != origin && !n.isRoot {
                n = n.parent
                if ownerIndex.index(of: n) != nil || !between.insert(n).inserted { break }
                names.append(n)
            }
        }
        return names
    }

    /// Owner `o`'s RRsets, types in numeric order: each record as RDLENGTH and RDATA laid out for
    /// copying, the lowest TTL of the set, and a rotation slot (from `counters`) per A/AAAA set.
    func rrsets(ofOwner o: Int, counters: inout Int) -> [RRset] {
        var order: [Int] = []
        var s = Int(firstSet[o])
        while s >= 0 {
            order.append(s)
            s = Int(sets[s].next)
        }
        if order.count > 1 { order.sort { sets[$0].type.rawValue < sets[$1].type.rawValue } }
        var rrsets: [RRset] = []
        rrsets.reserveCapacity(order.count)
        for t in order {
            let type = sets[t].type
            var size = 0
            var m = Int(sets[t].head)
            while m >= 0 {
                size += 2 + records[m].rdata.count
                m = Int(nextRecord[m])
            }
            var data: [UInt8] = []
            data.reserveCapacity(size)
            var ttl = UInt32.max
            m = Int(sets[t].head)
            while m >= 0 {
                let r = records[m]
                data.append(UInt8(r.rdata.count >> 8))
                data.append(UInt8(r.rdata.count & 0xFF))
                data += r.rdata
                ttl = min(ttl, r.ttl)
                m = Int(nextRecord[m])
            }
            var slot: Int32 = -1
            if type == .a || type == .aaaa {
                slot = Int32(counters)
                counters += 1
            }
            rrsets.append(RRset(type: type, ttl: ttl, count: Int(sets[t].count), data: data, slot: slot))
        }
        return rrsets
    }
}
