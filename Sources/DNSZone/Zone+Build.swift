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
        // Records grouped by owner (lower-cased) and type, as indices into `records`, in the order
        // the types first appear. Identical records (owner, type, class, rdata) are kept once: a
        // linear check within the RRset, with a set once an RRset is large.
        struct Owner {
            var types: [RRType] = []
            var members: [[Int]] = []
        }
        var ownerIndex: [DNSName: Int] = [:]
        ownerIndex.reserveCapacity(records.count)
        var owners: [Owner] = []
        var ownerNames: [DNSName] = []
        var large: [Int: Set<[UInt8]>] = [:]  // key: owner << 16 | type position
        var recordCount = 0
        for (i, r) in records.enumerated() {
            guard r.name.isSubdomain(of: origin) else {
                throw ZoneBuildError(message: "\(r.name) is outside the zone \(origin)")
            }
            let name = r.name.lowercased
            let o: Int
            if let known = ownerIndex[name] {
                o = known
            } else {
                o = owners.count
                ownerIndex[name] = o
                owners.append(Owner())
                ownerNames.append(name)
            }
            if let t = owners[o].types.firstIndex(of: r.type) {
                let count = owners[o].members[t].count
                if count < 32 {
                    let duplicate = owners[o].members[t].contains {
                        records[$0].rdata == r.rdata && records[$0].rrClass == r.rrClass
                    }
                    if duplicate { continue }
                    if count == 31 { large[o << 16 | t] = Set(owners[o].members[t].map { records[$0].rdata } + [r.rdata]) }
                } else if !large[o << 16 | t, default: []].insert(r.rdata).inserted {
                    continue
                }
                owners[o].members[t].append(i)
            } else {
                owners[o].types.append(r.type)
                owners[o].members.append([i])
            }
            recordCount += 1
        }
        let apexOwner = ownerIndex[origin.lowercased]
        guard let apexOwner, let soaAt = owners[apexOwner].types.firstIndex(of: .soa) else {
            throw ZoneBuildError(message: "no SOA record at the apex \(origin)")
        }
        let soa = records[owners[apexOwner].members[soaAt][0]]
        // Empty non-terminals: every name between the apex and an owner exists (RFC 8020). A
        // parent already known has its own ancestors known too.
        var allNames = Set(ownerNames)
        allNames.reserveCapacity(ownerNames.count * 2)
        for owner in ownerNames {
            var n = owner
            while n != origin && !n.isRoot {
                n = n.parent
                if !allNames.insert(n).inserted { break }
            }
        }
        let ordered = allNames.map { ($0.canonicalKey, $0) }.sorted { $0.0.lexicographicallyPrecedes($1.0) }.map(\.1)
        let names = NameTable(ordered)
        var index: [DNSName: Int] = [:]
        index.reserveCapacity(ordered.count)
        for (i, name) in ordered.enumerated() { index[name] = i }
        let apex = index[origin.lowercased]!

        var counterCount = 0
        var cuts = [Int32](repeating: -1, count: ordered.count)
        var wildcards = [Int32](repeating: -1, count: ordered.count)
        var rrsetsOf: [[RRset]] = []
        rrsetsOf.reserveCapacity(ordered.count)
        // Canonical order puts parents before children, so a parent's cut is known first.
        for (i, name) in ordered.enumerated() {
            var rrsets: [RRset] = []
            var hasNS = false
            if let o = ownerIndex[name] {
                let owner = owners[o]
                let order = owner.types.indices.sorted { owner.types[$0].rawValue < owner.types[$1].rawValue }
                rrsets.reserveCapacity(order.count)
                for t in order {
                    let type = owner.types[t]
                    if type == .ns { hasNS = true }
                    let members = owner.members[t]
                    var data: [UInt8] = []
                    data.reserveCapacity(members.reduce(0) { $0 + 2 + records[$1].rdata.count })
                    var ttl = UInt32.max
                    for m in members {
                        let r = records[m]
                        data.append(UInt8(r.rdata.count >> 8))
                        data.append(UInt8(r.rdata.count & 0xFF))
                        data += r.rdata
                        ttl = min(ttl, r.ttl)
                    }
                    var slot: Int32 = -1
                    if type == .a || type == .aaaa {
                        slot = Int32(counterCount)
                        counterCount += 1
                    }
                    rrsets.append(RRset(type: type, ttl: ttl, count: members.count, data: data, slot: slot))
                }
            }
            if i != apex {
                let parentCut = index[name.parent].map { cuts[$0] } ?? -1
                if parentCut >= 0 {
                    cuts[i] = parentCut
                } else if hasNS {
                    cuts[i] = Int32(i)
                }
            }
            if name.isWildcard, let p = index[name.parent] {
                wildcards[p] = Int32(i)
            }
            rrsetsOf.append(rrsets)
        }
        let nodes = (0..<ordered.count).map { Node(rrsets: rrsetsOf[$0], cut: cuts[$0], wildcard: wildcards[$0]) }
        let (serial, minimum) = soaFields(soa.rdata)
        return Zone(
            origin: origin, file: file, nodes: nodes, names: names, apex: apex, serial: serial,
            negativeTTL: min(soa.ttl, minimum), recordCount: recordCount, counterCount: counterCount
        )
    }

    /// SERIAL and MINIMUM from SOA rdata (RFC 1035 §3.3.13): they follow the two names.
    static func soaFields(_ rdata: [UInt8]) -> (serial: UInt32, minimum: UInt32) {
        let ranges = ResourceRecord.embeddedNameRanges(type: .soa, rdata: rdata)
        guard ranges.count == 2, ranges[1].upperBound + 20 <= rdata.count else { return (0, 0) }
        func u32(_ i: Int) -> UInt32 {
            UInt32(rdata[i]) << 24 | UInt32(rdata[i + 1]) << 16 | UInt32(rdata[i + 2]) << 8 | UInt32(rdata[i + 3])
        }
        let b = ranges[1].upperBound
        return (u32(b), u32(b + 16))
    }
}
