import DNSWire

/// The outcome of looking a name up, in the RFC's own terms (RFC 1034 §4.3.2). Zones, nodes and
/// RRsets are indices into the catalog, so a result costs no reference counting.
public enum LookupResult: Equatable, Sendable {
    /// The RRset answers the question; `wildcard` when synthesized from `*` (RFC 4592 §3.3.1).
    case answer(zone: Int, node: Int, rrset: Int, wildcard: Bool)
    /// The name is an alias: answer with the CNAME, then look up its target (RFC 1034 §3.6.2).
    case cname(zone: Int, node: Int, rrset: Int, wildcard: Bool)
    /// The name exists (perhaps as an empty non-terminal) but has no data of this type (RFC 2308 §2.2);
    /// `node` is the name's (a wildcard's, when synthesized), whose types a signed answer lists.
    case nodata(zone: Int, node: Int)
    /// The name does not exist in the zone (RFC 2308 §2.1).
    case nxDomain(zone: Int)
    /// The name is below a DNAME's owner: answer with the DNAME and a CNAME synthesized from it,
    /// then look up the new name (RFC 6672 §3.2).
    case dname(zone: Int, node: Int, rrset: Int)
    /// The name is at or below a zone cut: refer to the child's servers (RFC 1034 §4.3.2 step 3b).
    case referral(zone: Int, cut: Int)
    /// Not in any zone served here; Carousel never recurses (RFC 1034 §4.3.1).
    case refused
    /// In a zone configured here that has no data now (`Catalog.unavailable[index]`): SERVFAIL.
    case unavailable(Int)
}

extension Catalog {
    /// Looks up the uncompressed name at `from` in `bytes`, with no allocation.
    public func lookup(_ bytes: UnsafeRawBufferPointer, from: Int, type: RRType) -> LookupResult {
        let found = findZone(bytes, from: from)
        if !unavailable.isEmpty, let (u, at) = unavailableZone(bytes, from: from, before: found?.originAt) {
            // DS at the apex of an unavailable child is its parent's to answer (RFC 4035 §3.1.4.1).
            if !(type == .ds && at == from && found != nil) { return .unavailable(u) }
        }
        guard var (z, originAt) = found else { return .refused }
        // DS belongs to the parent side of a cut (RFC 4035 §3.1.4.1): at the apex of a zone whose
        // parent we also serve, answer from the parent.
        if type == .ds, originAt == from, parents[z] >= 0 {
            z = Int(parents[z])
            var end = from
            while bytes[end] != 0 { end += 1 + Int(bytes[end]) }
            originAt = end + 1 - zones[z].origin.wire.count
        }
        let zone = zones[z]
        if let n = zone.names.find(bytes, from: from) {
            let node = zone.nodes[n]
            if node.cut >= 0 {
                // At the cut itself DS is parent-side authoritative data; all else is referred.
                if !(node.cut == Int32(n) && type == .ds) {
                    return .referral(zone: z, cut: Int(node.cut))
                }
            }
            return answer(zone: z, node: n, type: type, wildcard: false)
        }
        // Closest encloser: walk up until a name exists (the apex always does).
        var p = from + 1 + Int(bytes[from])
        var encloser = zone.apex
        while p < originAt {
            if let e = zone.names.find(bytes, from: p) {
                encloser = e
                break
            }
            p += 1 + Int(bytes[p])
        }
        let ce = zone.nodes[encloser]
        if ce.cut >= 0 { return .referral(zone: z, cut: Int(ce.cut)) }
        // RFC 6672 §2.3: a DNAME redirects every name below its owner (nothing else may exist
        // there, ZoneChecker sees to that), never the owner itself.
        if let d = ce.rrsetIndex(.dname) { return .dname(zone: z, node: encloser, rrset: d) }
        // RFC 4592 §3.3.1: only the closest encloser's own `*` child can match.
        if ce.wildcard >= 0 {
            return answer(zone: z, node: Int(ce.wildcard), type: type, wildcard: true)
        }
        return .nxDomain(zone: z)
    }

    public func lookup(_ name: DNSName, type: RRType) -> LookupResult {
        name.wire.withUnsafeBytes { lookup($0, from: 0, type: type) }
    }

    @inline(__always)
    func answer(zone z: Int, node n: Int, type: RRType, wildcard: Bool) -> LookupResult {
        let node = zones[z].nodes[n]
        if let r = node.rrsetIndex(type) {
            return .answer(zone: z, node: n, rrset: r, wildcard: wildcard)
        }
        // RFC 8482 §4.2: answer ANY with one RRset, never the whole node.
        if type == .any, !node.rrsets.isEmpty {
            return .answer(zone: z, node: n, rrset: 0, wildcard: wildcard)
        }
        if let c = node.rrsetIndex(.cname) {
            return .cname(zone: z, node: n, rrset: c, wildcard: wildcard)
        }
        return .nodata(zone: z, node: n)
    }
}
