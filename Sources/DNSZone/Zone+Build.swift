import DNSWire

/// Why a set of records cannot be turned into a zone at all (the loader's checks catch these
/// first with file and line; this is the last line of defence).
public struct ZoneBuildError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension Zone {
    /// Builds the lookup structures from checked records: one node per owner plus every empty
    /// non-terminal between the apex and an owner, zone cuts and wildcard parents precomputed,
    /// and the record bytes laid out for copying.
    public static func build(origin: DNSName, file: String, records: [ResourceRecord]) throws(ZoneBuildError) -> Zone {
        // Records grouped by owner (lower-cased) and type, as linked lists of indices into
        // `records` in flat arrays (no array per owner or RRset: those allocations were most of
        // a big zone's build time). Identical records (owner, type, class, rdata) are kept once:
        // a linear check within the RRset, with a set once an RRset is large.
        struct SetInfo {
            var type: RRType
            var head: Int32
            var tail: Int32
            var count: Int32
            var next: Int32
        }
        var ownerIndex = NameIndex(capacity: records.count / 2)
        var firstSet: [Int32] = []
        var sets: [SetInfo] = []
        var nextRecord = [Int32](repeating: -1, count: records.count)
        var ownerNames: [DNSName] = []
        var large: [Int: Set<[UInt8]>] = [:]  // key: set index
        var recordCount = 0
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
        large = [:]
        func setOf(_ o: Int, _ type: RRType) -> Int? {
            var s = Int(firstSet[o])
            while s >= 0, sets[s].type != type { s = Int(sets[s].next) }
            return s >= 0 ? s : nil
        }
        let apexOwner = ownerIndex.index(of: origin)
        guard let apexOwner, let soaSet = setOf(apexOwner, .soa) else {
            throw ZoneBuildError(message: "no SOA record at the apex \(origin)")
        }
        let soa = records[Int(sets[soaSet].head)]
        // Empty non-terminals: every name between the apex and an owner exists (RFC 8020). A
        // parent already known has its own ancestors known too; most owners sit right below the
        // apex, which is known, so their parent is never built.
        var between: Set<DNSName> = []
        var betweenNames: [DNSName] = []
        let originLength = origin.wire.count
        for owner in ownerNames where owner.wire.count - 1 - Int(owner.wire[0]) != originLength {
            var n = owner
            while n != origin && !n.isRoot {
                n = n.parent
                if ownerIndex.index(of: n) != nil || !between.insert(n).inserted { break }
                betweenNames.append(n)
            }
        }
        between = []
        // Entry k of `ordered` is owner `permutation[k]` when below `ownerNames.count`.
        let permutation = Zone.canonicalOrder(ownerNames + betweenNames, commonSuffix: origin)
        let ordered = permutation.map {
            Int($0) < ownerNames.count ? ownerNames[Int($0)] : betweenNames[Int($0) - ownerNames.count]
        }
        let names = NameTable(ordered)
        /// The entry of `name`'s parent, found without building the parent name.
        func parentEntry(_ name: DNSName) -> Int? {
            name.wire.withUnsafeBytes { names.find($0, from: 1 + Int($0[0])) }
        }
        let apex = names.find(origin)!

        var counterCount = 0
        var cuts = [Int32](repeating: -1, count: ordered.count)
        var wildcards = [Int32](repeating: -1, count: ordered.count)
        var nodes: [Node] = []
        nodes.reserveCapacity(ordered.count)
        // Canonical order puts parents before children, so a parent's cut is known first.
        for (i, name) in ordered.enumerated() {
            var rrsets: [RRset] = []
            var hasNS = false
            let p = Int(permutation[i])
            if p < ownerNames.count {
                let o = p
                var order: [Int] = []
                var s = Int(firstSet[o])
                while s >= 0 {
                    order.append(s)
                    s = Int(sets[s].next)
                }
                if order.count > 1 { order.sort { sets[$0].type.rawValue < sets[$1].type.rawValue } }
                rrsets.reserveCapacity(order.count)
                for t in order {
                    let type = sets[t].type
                    if type == .ns { hasNS = true }
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
                        slot = Int32(counterCount)
                        counterCount += 1
                    }
                    rrsets.append(RRset(type: type, ttl: ttl, count: Int(sets[t].count), data: data, slot: slot))
                }
            }
            if i != apex {
                let parentCut = parentEntry(name).map { cuts[$0] } ?? -1
                if parentCut >= 0 {
                    cuts[i] = parentCut
                } else if hasNS {
                    cuts[i] = Int32(i)
                }
            }
            if name.isWildcard, let p = parentEntry(name) {
                wildcards[p] = Int32(i)
            }
            nodes.append(Node(rrsets: rrsets, cut: -1, wildcard: -1))
        }
        // Cuts are final as each node is reached; wildcards only once their children are.
        for i in nodes.indices {
            nodes[i] = Node(rrsets: nodes[i].rrsets, cut: cuts[i], wildcard: wildcards[i])
        }
        let (serial, minimum) = (SOA.serial(soa.rdata), SOA.minimum(soa.rdata))
        return Zone(
            origin: origin, file: file, nodes: nodes, names: names, apex: apex, serial: serial,
            negativeTTL: min(soa.ttl, minimum), recordCount: recordCount, counterCount: counterCount
        )
    }

    /// The order that puts `names` in canonical DNS order (RFC 4034 §6.1, `CanonicalOrder`), by
    /// keys laid out in one arena and sorted as indices: no allocation per name or per comparison.
    /// Every name ends with `commonSuffix`, which is left out of the keys.
    static func canonicalOrder(_ names: [DNSName], commonSuffix: DNSName) -> [Int32] {
        let suffix = commonSuffix.wire.count
        var arena: [UInt8] = []
        arena.reserveCapacity(names.reduce(0) { $0 + $1.wire.count - suffix + 1 })
        var start = [Int](repeating: 0, count: names.count + 1)
        for (i, name) in names.enumerated() {
            start[i] = arena.count
            name.wire.withUnsafeBufferPointer { CanonicalOrder.appendKey(of: $0, droppingSuffix: suffix, to: &arena) }
        }
        start[names.count] = arena.count
        var order = Array(0..<Int32(names.count))
        arena.withUnsafeBufferPointer { a in
            start.withUnsafeBufferPointer { start in
                order.sort { x, y in
                    CanonicalOrder.precedes(
                        UnsafeBufferPointer(rebasing: a[start[Int(x)]..<start[Int(x) + 1]]),
                        UnsafeBufferPointer(rebasing: a[start[Int(y)]..<start[Int(y) + 1]]))
                }
            }
        }
        return order
    }
}
