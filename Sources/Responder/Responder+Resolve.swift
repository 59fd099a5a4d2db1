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

    /// Writes the answer to the question of `q` and says how it came out.
    static func resolve(
        _ q: Query, _ p: UnsafeRawBufferPointer, _ snap: Snapshot, _ health: HealthView, _ w: inout ResponseWriter,
        _ scratch: ResponderScratch, client: ClientAddress, gate: SigningGate?
    ) -> Resolution {
        let catalog = snap.catalog
        var result = catalog.lookup(p, from: q.qnameStart, type: q.qtype)
        var reply = Resolution(answerKey: answerKey(result))
        // Signing (DO=1 for a signed zone): RRSIGs after each RRset, a compact denial for negatives;
        // no new signature for an answer RRL is about to drop or slip.
        let sign =
            q.edns?.dnssecOK == true && !snap.signing.isEmpty
            ? Sign(
                signing: snap.signing, now: DNSCookies.now(), scratch: scratch.signing,
                compactOK: q.edns?.compactOK == true, makesSignatures: !(gate?.limits(reply.answerKey) ?? false))
            : nil
        // The current name: the question's (owner written as a pointer to it) or a CNAME target
        // copied into scratch.
        var name = UnsafeRawBufferPointer(rebasing: p[q.qnameStart..<q.qnameEnd])
        var ownerIsQName = true
        var hop = 0
        // AA speaks of the first name (RFC 1034 §4.3.2 step 3a): set by the first answer from a
        // zone of ours, kept through the chain.
        func authoritative() { if hop == 0 { reply.authoritative = true } }
        func cut(_ how: Truncation) -> Resolution {
            reply.truncation = how
            return reply
        }
        while true {
            let owner = ownerIsQName ? nil : name
            switch result {
            case .refused:
                // Outside our zones: REFUSED for the question, or the end of a CNAME chain.
                if hop == 0 { return .refused(.notAuthoritative) }
                return reply
            case .unavailable(let u):
                // RFC 6604 §2.1: after a CNAME chain the rcode speaks of the last name; an error
                // is not authoritative data, so AA goes.
                reply.rcode = RCode.servFail.rawValue
                reply.authoritative = false
                reply.error = .zoneUnavailable(u)
                return reply
            case .answer(let z, let n, let r, _):
                authoritative()
                let zone = catalog.zones[z]
                let rrset = zone.nodes[n].rrsets[r]
                let signer = sign?.signer(forZone: z)
                if let b = snap.plan.binding(zone: z, slot: rrset.slot) {
                    return writeBalanced(
                        &w, owner: owner, name: name, zone: zone, node: n, rrset: rrset, set: b, snap.plan, health,
                        scratch, reply, subnet: q.clientSubnet ?? client.subnet, signer)
                }
                // A wildcard's answer is signed as the name asked for (RFC 9824 §3 spirit: no
                // proof of a closer name is then needed), so `name`, not the `*` owner.
                guard
                    writeSigned(&w, .answer, owner: owner, name: name, zone: zone, rrset: rrset, rotate: true, signer)
                else {
                    return cut(.empty)
                }
                if q.qtype == .ns { writeNSAddresses(&w, zone, rrset, signer) }
                return reply
            case .nodata(let z, let n):
                authoritative()
                let ok = writeNegative(
                    &w, owner: owner, name: name, zone: catalog.zones[z], node: n, sign?.signer(forZone: z))
                return ok ? reply : cut(.empty)
            case .nxDomain(let z):
                authoritative()
                let zone = catalog.zones[z]
                if let signer = sign?.signer(forZone: z) {
                    // Compact denial: the name "exists" with only NXNAME; NXDOMAIN only for CO=1
                    // (RFC 9824 §3.2, §5).
                    if signer.sign.compactOK { reply.rcode = RCode.nxDomain.rawValue }
                    return writeSignedNegative(&w, owner: owner, name: name, zone: zone, node: nil, signer)
                        ? reply : cut(.empty)
                }
                // RFC 6604 §2.1: after a CNAME chain the rcode speaks of the last name.
                reply.rcode = RCode.nxDomain.rawValue
                return writeSOA(&w, zone) ? reply : cut(.empty)
            case .referral(let z, let cut):
                reply.truncation = writeReferral(&w, catalog.zones[z], cut: cut, sign?.signer(forZone: z))
                return reply
            case .dname(let z, let n, let r):
                authoritative()
                let zone = catalog.zones[z]
                let dname = zone.nodes[n].rrsets[r]
                let signer = sign?.signer(forZone: z)
                guard
                    zone.names.withName(
                        n,
                        {
                            writeSigned(
                                &w, .answer, owner: $0, name: $0, zone: zone, rrset: dname, rotate: false, signer)
                        })
                else { return cut(.empty) }
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
                guard length > 0 else {
                    reply.rcode = RCode.yxDomain.rawValue
                    return reply
                }
                let target = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(scratch.synthesized)[0..<length])
                // The CNAME, with the DNAME's TTL (§3.3), under the name being answered.
                guard w.writeRecord(.answer, owner: owner, type: .cname, ttl: dname.ttl, rdata: target) else {
                    return cut(.empty)
                }
                hop += 1
                guard hop < maxChain else { return reply }
                scratch.name.copyMemory(from: target)
                name = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(scratch.name)[0..<length])
                ownerIsQName = false
                result = catalog.lookup(name, from: 0, type: q.qtype)
            case .cname(let z, let n, let r, _):
                authoritative()
                let zone = catalog.zones[z]
                let cname = zone.nodes[n].rrsets[r]
                guard
                    writeSigned(
                        &w, .answer, owner: owner, name: name, zone: zone, rrset: cname, rotate: false,
                        sign?.signer(forZone: z))
                else {
                    return cut(.empty)
                }
                scratch.visited[hop] = z << 32 | n
                hop += 1
                guard hop < maxChain else { return reply }
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
                        return reply  // a loop: stop here.
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
        case .nodata(let z, _): return key(2, z)
        case .nxDomain(let z): return key(3, z)
        case .referral(let z, let cut): return key(4, z, cut)
        case .dname(let z, let n, let r): return key(5, z, n, r)
        case .refused, .unavailable: return 0
        }
    }
}

/// Per-thread memory the responder reuses for every query: no allocation per query.
public final class ResponderScratch: @unchecked Sendable {
    public let compression = CompressionScratch()
    public let balancer = BalancerScratch()
    /// This thread's answers per pool member (read by asking the thread for a copy).
    public let answers = AnswerCounts()
    /// A CNAME target being followed (a name is at most 255 bytes).
    let name = UnsafeMutableRawBufferPointer.allocate(byteCount: 256, alignment: 1)
    /// A name being synthesized from a DNAME (built here, then moved to `name`).
    let synthesized = UnsafeMutableRawBufferPointer.allocate(byteCount: 256, alignment: 1)
    /// (zone, node) pairs of the CNAMEs followed so far, for loop detection.
    let visited = UnsafeMutablePointer<Int>.allocate(capacity: Responder.maxChain)
    /// Signing's memory and this thread's signature cache.
    public let signing: SigningScratch
    /// The COOKIE option's data for the response, made before the answer.
    let cookie = UnsafeMutableRawBufferPointer.allocate(byteCount: DNSCookies.responseLength, alignment: 8)

    /// `signatureCacheEntries`: small for a scratch made for one message (explain, transfers).
    public init(signatureCacheEntries: Int = SignatureCache.defaultEntries) {
        signing = SigningScratch(cacheEntries: signatureCacheEntries)
    }

    deinit {
        name.deallocate()
        synthesized.deallocate()
        visited.deallocate()
        cookie.deallocate()
    }
}
