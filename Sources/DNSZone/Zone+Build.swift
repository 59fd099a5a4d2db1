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
        var byOwner: [DNSName: [RRType: [ResourceRecord]]] = [:]
        var typeOrder: [DNSName: [RRType]] = [:]
        var seen = Set<ResourceRecord>()
        var recordCount = 0
        for r in records {
            guard r.name.isSubdomain(of: origin) else {
                throw ZoneBuildError(message: "\(r.name) is outside the zone \(origin)")
            }
            var key = r
            key.name = r.name.lowercased
            key.ttl = 0
            guard seen.insert(key).inserted else { continue }
            recordCount += 1
            let owner = r.name.lowercased
            if byOwner[owner]?[r.type] == nil { typeOrder[owner, default: []].append(r.type) }
            byOwner[owner, default: [:]][r.type, default: []].append(r)
        }
        guard let apexSets = byOwner[origin.lowercased], let soa = apexSets[.soa]?.first else {
            throw ZoneBuildError(message: "no SOA record at the apex \(origin)")
        }
        // Empty non-terminals: every name between the apex and an owner exists (RFC 8020).
        var allNames = Set(byOwner.keys)
        for owner in byOwner.keys {
            var n = owner
            while n != origin && !n.isRoot {
                n = n.parent
                allNames.insert(n)
            }
        }
        let ordered = allNames.map { ($0.canonicalKey, $0) }.sorted { $0.0.lexicographicallyPrecedes($1.0) }.map(\.1)
        let names = NameTable(ordered)
        let index = Dictionary(uniqueKeysWithValues: ordered.enumerated().map { ($1, $0) })
        let apex = index[origin.lowercased]!

        var counterCount = 0
        var cuts = [Int32](repeating: -1, count: ordered.count)
        var wildcards = [Int32](repeating: -1, count: ordered.count)
        var rrsetsOf = [[RRset]](repeating: [], count: ordered.count)
        // Canonical order puts parents before children, so a parent's cut is known first.
        for (i, name) in ordered.enumerated() {
            let sets = byOwner[name] ?? [:]
            let types = (typeOrder[name] ?? []).sorted { $0.rawValue < $1.rawValue }
            rrsetsOf[i] = types.map { type in
                let rs = sets[type]!
                var data: [UInt8] = []
                data.reserveCapacity(rs.reduce(0) { $0 + 2 + $1.rdata.count })
                for r in rs {
                    data.append(UInt8(r.rdata.count >> 8))
                    data.append(UInt8(r.rdata.count & 0xFF))
                    data += r.rdata
                }
                var slot: Int32 = -1
                if type == .a || type == .aaaa {
                    slot = Int32(counterCount)
                    counterCount += 1
                }
                return RRset(type: type, ttl: rs.map(\.ttl).min()!, count: rs.count, data: data, slot: slot)
            }
            if i != apex {
                let parentCut = index[name.parent].map { cuts[$0] } ?? -1
                if parentCut >= 0 {
                    cuts[i] = parentCut
                } else if sets[.ns] != nil {
                    cuts[i] = Int32(i)
                }
            }
            if name.isWildcard, let p = index[name.parent] {
                wildcards[p] = Int32(i)
            }
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
