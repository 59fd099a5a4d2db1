import DNSWire

/// Why a set of records cannot be turned into a zone at all (the loader's checks catch these
/// first with file and line; this is the last line of defence).
public struct ZoneBuildError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension Zone {
    /// Builds the lookup structures from checked records, in five steps: the records grouped by
    /// owner and type (`RecordGroups`, duplicates dropped), the SOA found, the empty
    /// non-terminals added (RFC 8020), every name laid out in canonical order (`NameTable`), and
    /// a node per name with its RRsets' bytes, its zone cut and its wildcard child.
    public static func build(origin: DNSName, file: String, records: [ResourceRecord]) throws(ZoneBuildError) -> Zone {
        let groups = try RecordGroups(records, origin: origin)
        let soa = try groups.apexSOA(origin)
        let between = groups.emptyNonTerminals(below: origin)
        // Entry k of `ordered` is owner `permutation[k]` when below `groups.ownerNames.count`.
        let permutation = Zone.canonicalOrder(groups.ownerNames + between, commonSuffix: origin)
        let owners = groups.ownerNames.count
        let ordered = permutation.map { Int($0) < owners ? groups.ownerNames[Int($0)] : between[Int($0) - owners] }
        let names = NameTable(ordered)
        let apex = names.find(origin)!
        var counterCount = 0
        let nodes = layOutNodes(
            ordered, permutation: permutation, names: names, apex: apex, groups: groups, counters: &counterCount)
        let (serial, minimum) = (SOA.serial(soa.rdata), SOA.minimum(soa.rdata))
        return Zone(
            origin: origin, file: file, nodes: nodes, names: names, apex: apex, serial: serial,
            negativeTTL: min(soa.ttl, minimum), recordCount: groups.recordCount, counterCount: counterCount
        )
    }

    /// One node per name in canonical order: the RRsets of an owner (types in numeric order,
    /// record bytes laid out for copying, a rotation slot per A/AAAA set), the zone cut the name
    /// lies at or under, and the wildcard child of its parent. Canonical order puts parents before
    /// children, so a parent's cut is known when its children are reached.
    static func layOutNodes(
        _ ordered: [DNSName], permutation: [Int32], names: NameTable, apex: Int, groups: RecordGroups,
        counters: inout Int
    ) -> [Node] {
        /// The entry of `name`'s parent, found without building the parent name.
        func parentEntry(_ name: DNSName) -> Int? {
            name.wire.withUnsafeBytes { names.find($0, from: 1 + Int($0[0])) }
        }
        var cuts = [Int32](repeating: -1, count: ordered.count)
        var wildcards = [Int32](repeating: -1, count: ordered.count)
        var nodes: [Node] = []
        nodes.reserveCapacity(ordered.count)
        for (i, name) in ordered.enumerated() {
            let p = Int(permutation[i])
            let rrsets = p < groups.ownerNames.count ? groups.rrsets(ofOwner: p, counters: &counters) : []
            if i != apex {
                let parentCut = parentEntry(name).map { cuts[$0] } ?? -1
                if parentCut >= 0 {
                    cuts[i] = parentCut
                } else if rrsets.contains(where: { $0.type == .ns }) {
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
        return nodes
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
