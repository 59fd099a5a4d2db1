import Balancer
import DNSWire
import DNSZone
import Health

/// The authoritative answer algorithm (RFC 1034 §4.3.2) over a catalog: look up, follow CNAMEs
/// (and CNAMEs synthesized from DNAMEs, RFC 6672) within the zones served here, and put each
/// outcome into the right section.
extension Responder {
    /// At most this many CNAMEs are followed; a loop stops at the first repeated name.
    static let maxChain = 8

    /// Returns (rcode, AA, truncated).
    static func resolve(
        _ q: Query, _ p: UnsafeRawBufferPointer, _ snap: Snapshot, _ health: HealthView, _ w: inout ResponseWriter,
        _ scratch: ResponderScratch
    ) -> (UInt16, Bool, Bool) {
        let catalog = snap.catalog
        var result = catalog.lookup(p, from: q.qnameStart, type: q.qtype)
        scratch.answerKey = answerKey(result)
        // The current name: the question's (owner written as a pointer to it) or a CNAME target
        // copied into scratch.
        var name = UnsafeRawBufferPointer(rebasing: p[q.qnameStart..<q.qnameEnd])
        var ownerIsQName = true
        var aa = false
        var hop = 0
        while true {
            let owner = ownerIsQName ? nil : name
            switch result {
            case .refused:
                // Outside our zones: REFUSED for the question, or the end of a CNAME chain.
                return (hop == 0 ? RCode.refused.rawValue : RCode.noError.rawValue, aa, false)
            case .answer(let z, let n, let r, _):
                if hop == 0 { aa = true }
                let zone = catalog.zones[z]
                let rrset = zone.nodes[n].rrsets[r]
                if let b = snap.plan.binding(zone: z, slot: rrset.slot) {
                    return writeBalanced(&w, owner: owner, zone: zone, rrset: rrset, set: b, snap.plan, health, scratch, aa: aa)
                }
                let ok = writeRRset(&w, .answer, owner: owner, zone: zone, rrset: rrset, rotate: true)
                return (RCode.noError.rawValue, aa, !ok)
            case .nodata(let z):
                if hop == 0 { aa = true }
                return (RCode.noError.rawValue, aa, !writeSOA(&w, catalog.zones[z]))
            case .nxDomain(let z):
                if hop == 0 { aa = true }
                // RFC 6604 §2.1: after a CNAME chain the rcode speaks of the last name.
                return (RCode.nxDomain.rawValue, aa, !writeSOA(&w, catalog.zones[z]))
            case .referral(let z, let cut):
                return (RCode.noError.rawValue, aa, !writeReferral(&w, catalog.zones[z], cut: cut))
            case .dname(let z, let n, let r):
                if hop == 0 { aa = true }
                let zone = catalog.zones[z]
                let dname = zone.nodes[n].rrsets[r]
                guard zone.names.withName(n, { writeRRset(&w, .answer, owner: $0, zone: zone, rrset: dname, rotate: false) })
                else {
                    return (RCode.noError.rawValue, aa, true)
                }
                // The name with the DNAME's owner replaced by its target (RFC 6672 §2.2).
                let ownerLength = zone.names.withName(n) { $0.count }
                var nameLength = 0
                while name[nameLength] != 0 { nameLength += 1 + Int(name[nameLength]) }
                nameLength += 1
                let keep = nameLength - ownerLength
                let length = dname.data.withUnsafeBytes { d -> Int in
                    let l = Int(d[0]) << 8 | Int(d[1])
                    guard keep + l <= 255 else { return 0 }
                    // Lower-cased, as NSD writes it (the owner keeps the client's case).
                    for i in 0..<keep { scratch.synthesized[i] = asciiLower(name[i]) }
                    UnsafeMutableRawBufferPointer(rebasing: scratch.synthesized[keep..<(keep + l)])
                        .copyMemory(from: UnsafeRawBufferPointer(rebasing: d[2..<(2 + l)]))
                    return keep + l
                }
                guard length > 0 else { return (RCode.yxDomain.rawValue, aa, false) }
                let target = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(scratch.synthesized)[0..<length])
                // The CNAME, with the DNAME's TTL (§3.3), under the name being answered.
                guard w.writeRecord(.answer, owner: owner, type: .cname, ttl: dname.ttl, rdata: target) else {
                    return (RCode.noError.rawValue, aa, true)
                }
                hop += 1
                guard hop < maxChain else { return (RCode.noError.rawValue, aa, false) }
                scratch.name.copyMemory(from: target)
                name = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(scratch.name)[0..<length])
                ownerIsQName = false
                result = catalog.lookup(name, from: 0, type: q.qtype)
            case .cname(let z, let n, let r, _):
                if hop == 0 { aa = true }
                let zone = catalog.zones[z]
                let cname = zone.nodes[n].rrsets[r]
                guard writeRRset(&w, .answer, owner: owner, zone: zone, rrset: cname, rotate: false) else {
                    return (RCode.noError.rawValue, aa, true)
                }
                scratch.visited[hop] = z << 32 | n
                hop += 1
                guard hop < maxChain else { return (RCode.noError.rawValue, aa, false) }
                // Follow the (single) target: copy it out of the zone data, look it up again.
                let len = cname.data.withUnsafeBytes { d in
                    let l = Int(d[0]) << 8 | Int(d[1])
                    scratch.name.copyMemory(from: UnsafeRawBufferPointer(rebasing: d[2..<(2 + l)]))
                    return l
                }
                name = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(scratch.name)[0..<len])
                ownerIsQName = false
                result = catalog.lookup(name, from: 0, type: q.qtype)
                if case .cname(let z2, let n2, _, _) = result {
                    for i in 0..<hop where scratch.visited[i] == z2 << 32 | n2 {
                        return (RCode.noError.rawValue, aa, false)  // a loop: stop here.
                    }
                }
            }
        }
    }

    /// RRL's identity of an answer (as BIND's): the RRset for data (a wildcard's RRset for every
    /// name it synthesises), the zone for NXDOMAIN and NODATA (so random names under one zone
    /// count together), the cut for a referral.
    @inline(__always)
    static func answerKey(_ result: LookupResult) -> UInt64 {
        func key(_ kind: UInt64, _ a: Int, _ b: Int = 0, _ c: Int = 0) -> UInt64 {
            ((kind &* 0x1_0000_01b3 &+ UInt64(truncatingIfNeeded: a)) &* 0x1_0000_01b3 &+ UInt64(truncatingIfNeeded: b))
                &* 0x1_0000_01b3 &+ UInt64(truncatingIfNeeded: c)
        }
        switch result {
        case .answer(let z, let n, let r, _), .cname(let z, let n, let r, _): return key(1, z, n, r)
        case .nodata(let z): return key(2, z)
        case .nxDomain(let z): return key(3, z)
        case .referral(let z, let cut): return key(4, z, cut)
        case .dname(let z, let n, let r): return key(5, z, n, r)
        case .refused: return 0
        }
    }

    /// Writes every record of an RRset. Address sets rotate: each answer starts one record later
    /// than the last (DESIGN §5), wrapping around; stored order never changes.
    static func writeRRset(
        _ w: inout ResponseWriter, _ section: ResponseWriter.Section, owner: UnsafeRawBufferPointer?,
        zone: Zone, rrset: RRset, rotate: Bool, ttl: UInt32? = nil
    ) -> Bool {
        let start = rotate && rrset.slot >= 0 && rrset.count > 1 ? Int(zone.nextRotation(rrset.slot) % UInt32(rrset.count)) : 0
        return rrset.data.withUnsafeBytes { d in
            var offset = 0
            for _ in 0..<start { offset += 2 + (Int(d[offset]) << 8 | Int(d[offset + 1])) }
            for k in 0..<rrset.count {
                if k == rrset.count - start { offset = 0 }
                let len = Int(d[offset]) << 8 | Int(d[offset + 1])
                let rdata = UnsafeRawBufferPointer(rebasing: d[(offset + 2)..<(offset + 2 + len)])
                guard w.writeRecord(section, owner: owner, type: rrset.type, ttl: ttl ?? rrset.ttl, rdata: rdata) else {
                    return false
                }
                offset += 2 + len
            }
            return true
        }
    }

    /// The zone's SOA in the authority section of a negative answer, with the negative TTL
    /// (RFC 2308 §3: the lesser of the SOA's TTL and its MINIMUM field).
    static func writeSOA(_ w: inout ResponseWriter, _ zone: Zone) -> Bool {
        zone.origin.wire.withUnsafeBytes { owner in
            writeRRset(&w, .authority, owner: owner, zone: zone, rrset: zone.soa, rotate: false, ttl: zone.negativeTTL)
        }
    }

    /// A referral (RFC 1034 §4.3.2 step 3b): AA clear, the cut's NS set in authority, and the
    /// addresses of name servers inside this zone (glue) in additional. Glue that does not fit
    /// truncates the answer (RFC 9471 §3).
    static func writeReferral(_ w: inout ResponseWriter, _ zone: Zone, cut: Int) -> Bool {
        let cutNode = zone.nodes[cut]
        guard let nsIndex = cutNode.rrsetIndex(.ns) else { return true }
        let ns = cutNode.rrsets[nsIndex]
        let ok = zone.names.withName(cut) { owner in
            writeRRset(&w, .authority, owner: owner, zone: zone, rrset: ns, rotate: false)
        }
        guard ok else { return false }
        return ns.data.withUnsafeBytes { d in
            var offset = 0
            for _ in 0..<ns.count {
                let len = Int(d[offset]) << 8 | Int(d[offset + 1])
                let target = UnsafeRawBufferPointer(rebasing: d[(offset + 2)..<(offset + 2 + len)])
                offset += 2 + len
                guard let t = zone.names.find(target, from: 0) else { continue }
                // In-domain glue (at or below the cut) is required; sibling glue elsewhere in the
                // zone is optional and left out when it does not fit (RFC 9471 §3).
                let inDomain = zone.nodes[t].cut == Int32(cut)
                let node = zone.nodes[t]
                for r in node.rrsets.indices where node.rrsets[r].type == .a || node.rrsets[r].type == .aaaa {
                    let mark = w.mark
                    guard writeRRset(&w, .additional, owner: target, zone: zone, rrset: node.rrsets[r], rotate: false) else {
                        if inDomain { return false }
                        w.rewind(to: mark)
                        continue
                    }
                }
            }
            return true
        }
    }
}

/// Per-thread memory the responder reuses for every query: no allocation per query.
public final class ResponderScratch: @unchecked Sendable {
    public let compression = CompressionScratch()
    public let balancer = BalancerScratch()
    /// A CNAME target being followed (a name is at most 255 bytes).
    let name = UnsafeMutableRawBufferPointer.allocate(byteCount: 256, alignment: 1)
    /// A name being synthesized from a DNAME (built here, then moved to `name`).
    let synthesized = UnsafeMutableRawBufferPointer.allocate(byteCount: 256, alignment: 1)
    /// (zone, node) pairs of the CNAMEs followed so far, for loop detection.
    let visited = UnsafeMutablePointer<Int>.allocate(capacity: Responder.maxChain)
    /// The `Outcome.answerKey` of the query being answered.
    var answerKey: UInt64 = 0

    public init() {}

    deinit {
        name.deallocate()
        synthesized.deallocate()
        visited.deallocate()
    }
}
