import DNSWire
import DNSZone

/// Writing a zone's RRsets into a response: whole sets (rotated for addresses), the SOA of a
/// negative answer, referrals with their glue, and the addresses of in-zone name servers.
extension Responder {
    /// Writes every record of an RRset. Address sets rotate: each answer starts one record later
    /// than the last, wrapping around; stored order never changes.
    static func writeRRset(
        _ w: inout ResponseWriter, _ section: ResponseWriter.Section, owner: UnsafeRawBufferPointer?,
        zone: Zone, rrset: RRset, rotate: Bool, ttl: UInt32? = nil
    ) -> Bool {
        let start =
            rotate && rrset.slot >= 0 && rrset.count > 1 ? Int(zone.nextRotation(rrset.slot) % UInt32(rrset.count)) : 0
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
    /// addresses of its name servers inside this zone (glue) in additional: in-domain glue first
    /// (at or below the cut, which resolvers need to follow the referral), then sibling glue
    /// (elsewhere in the zone), A records before AAAA as NSD orders them. Glue that does not fit
    /// is left out; only missing in-domain glue sets TC, and the referral keeps what fitted
    /// (RFC 9471 §3, as Knot does). An NS set that does not fit truncates the whole answer.
    ///
    /// Signed (RFC 4035 §3.1.4): the NS set stays unsigned (the child's data), followed by the DS
    /// set and its RRSIGs, or by an NSEC at the cut proving there is no DS (an insecure child).
    static func writeReferral(
        _ w: inout ResponseWriter, _ zone: Zone, cut: Int, _ signer: ZoneSigner? = nil
    ) -> Truncation {
        let cutNode = zone.nodes[cut]
        guard let nsIndex = cutNode.rrsetIndex(.ns) else { return .none }
        let ns = cutNode.rrsets[nsIndex]
        let wrote = zone.names.withName(cut) { owner in
            guard writeRRset(&w, .authority, owner: owner, zone: zone, rrset: ns, rotate: false) else { return false }
            guard let signer else { return true }
            if let ds = cutNode.rrsetIndex(.ds) {
                return writeSigned(
                    &w, .authority, owner: owner, name: owner, zone: zone, rrset: cutNode.rrsets[ds], rotate: false,
                    signer)
            }
            return writeDenial(&w, owner: owner, name: owner, zone: zone, node: cut, signer)
        }
        guard wrote else { return .empty }
        var missingRequired = false
        for pass in 0..<4 {  // in-domain A, in-domain AAAA, sibling A, sibling AAAA
            let inDomain = pass < 2
            let type: RRType = pass & 1 == 0 ? .a : .aaaa
            let complete = writeAddresses(&w, of: ns, in: zone, type: type) {
                (zone.nodes[$0].cut == Int32(cut)) == inDomain
            }
            if !complete && inDomain { missingRequired = true }
        }
        return missingRequired ? .kept : .none
    }

    /// The addresses of the in-zone targets of an NS RRset answered at a zone's apex (RFC 1035
    /// §6.3.2's additional section processing, as NSD and Knot add them even with minimal
    /// responses). Out-of-zone targets are not looked up; what does not fit is left out without TC.
    /// Signed, each set that is the zone's own data (not below a cut) comes with its RRSIGs, or is
    /// left out when they do not fit (RFC 4035 §3.1.1).
    static func writeNSAddresses(
        _ w: inout ResponseWriter, _ zone: Zone, _ ns: RRset, _ signer: ZoneSigner? = nil
    ) {
        _ = writeAddresses(&w, of: ns, in: zone, type: .a, signer) { _ in true }
        _ = writeAddresses(&w, of: ns, in: zone, type: .aaaa, signer) { _ in true }
    }

    /// Writes, in additional, the `type` RRset of every NS target of `ns` that is a name in `zone`
    /// and that `include` accepts (by node index). A set that does not fit is left out and the
    /// others still tried; returns false when any was left out.
    static func writeAddresses(
        _ w: inout ResponseWriter, of ns: RRset, in zone: Zone, type: RRType, _ signer: ZoneSigner? = nil,
        include: (Int) -> Bool
    ) -> Bool {
        var complete = true
        ns.data.withUnsafeBytes { d in
            var offset = 0
            for _ in 0..<ns.count {
                let len = Int(d[offset]) << 8 | Int(d[offset + 1])
                let target = UnsafeRawBufferPointer(rebasing: d[(offset + 2)..<(offset + 2 + len)])
                offset += 2 + len
                guard let t = zone.names.find(target, from: 0), include(t), let r = zone.nodes[t].rrsetIndex(type)
                else {
                    continue
                }
                let mark = w.mark
                let authoritative = zone.nodes[t].cut < 0
                if !writeSigned(
                    &w, .additional, owner: target, name: target, zone: zone, rrset: zone.nodes[t].rrsets[r],
                    rotate: false, authoritative ? signer : nil)
                {
                    w.rewind(to: mark)
                    complete = false
                }
            }
        }
        return complete
    }
}
