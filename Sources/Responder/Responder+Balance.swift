import Balancer
import DNSWire
import DNSZone
import Health

/// Answers for a pool's address set: the balancer picks which records and in what order; this
/// writes them (or applies the pool's all-down policy). `subnet` is where the client is (the ECS
/// option's, else the resolver's address): a sticky pool's key, whose prefix becomes the answer's
/// ECS scope.
extension Responder {
    static func writeBalanced(
        _ w: inout ResponseWriter, owner: UnsafeRawBufferPointer?, name: UnsafeRawBufferPointer, zone: Zone, node: Int,
        rrset: RRset, set b: Int, _ plan: BalancePlan, _ health: HealthView, _ scratch: ResponderScratch,
        _ reply: Resolution, subnet: ClientSubnet?, _ signer: ZoneSigner? = nil
    ) -> Resolution {
        var reply = reply
        let set = plan.sets[b]
        var client: StickyKey?
        if plan.pools[set.pool].order == .sticky {
            client = subnet.map { StickyKey($0, prefixes: plan.pools[set.pool].pool.sticky) }
            reply.stickyScope = client?.prefix ?? 0
        }
        switch plan.select(b, zone: zone, rrset: rrset, health: health, client: client, scratch: scratch.balancer) {
        case .records(let count, let ttl):
            scratch.answers.reserve(plan.counterKeys.count)
            scratch.answers.record(set, picks: scratch.balancer.picks, count: count)
            // Signed: the RRSIG covers exactly the records chosen, with the TTL served.
            if signer != nil { scratch.signing.begin() }
            let ok = rrset.data.withUnsafeBytes { d in
                for k in 0..<count {
                    let o = set.offsets[Int(scratch.balancer.picks[k])]
                    let len = Int(d[o]) << 8 | Int(d[o + 1])
                    let rdata = UnsafeRawBufferPointer(rebasing: d[(o + 2)..<(o + 2 + len)])
                    guard w.writeRecord(.answer, owner: owner, type: rrset.type, ttl: ttl, rdata: rdata) else {
                        return false
                    }
                    if signer != nil { scratch.signing.add(rdata, type: rrset.type) }
                }
                return true
            }
            if !ok {
                reply.truncation = .empty
            } else if let signer,
                !writeRRSIGs(&w, .answer, owner: owner, name: name, type: rrset.type, ttl: ttl, signer)
            {
                reply.truncation = .empty
            }
        case .servfail:
            reply.rcode = RCode.servFail.rawValue
            reply.authoritative = false
            reply.error = .poolDown(set.pool)
        case .nodata:
            if !writeNegative(&w, owner: owner, name: name, zone: zone, node: node, except: rrset.type, signer) {
                reply.truncation = .empty
            }
        case .fallback(let ttl):
            let pool = plan.pools[set.pool]
            let fallback = rrset.type == .a ? pool.fallbackA : pool.fallbackAAAA
            if fallback.isEmpty {
                if !writeNegative(&w, owner: owner, name: name, zone: zone, node: node, except: rrset.type, signer) {
                    reply.truncation = .empty
                }
                return reply
            }
            if signer != nil { scratch.signing.begin() }
            for rdata in fallback {
                let ok = rdata.withUnsafeBytes {
                    if signer != nil { scratch.signing.add($0, type: rrset.type) }
                    return w.writeRecord(.answer, owner: owner, type: rrset.type, ttl: ttl, rdata: $0)
                }
                if !ok {
                    reply.truncation = .empty
                    return reply
                }
            }
            if let signer,
                !writeRRSIGs(&w, .answer, owner: owner, name: name, type: rrset.type, ttl: ttl, signer)
            {
                reply.truncation = .empty
            }
        }
        return reply
    }
}
