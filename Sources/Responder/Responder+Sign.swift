import DNSWire
import DNSZone

#if canImport(Glibc)
    import Glibc
#endif

/// Online signing (RFC 4035 §3.1): each RRset an answer holds is followed by its RRSIGs, made over
/// exactly the records served with the TTL served, and taken from the thread's signature cache
/// when the same set was signed before. Denial is compact (RFC 9824): one NSEC at the name asked
/// for, next name `\000.<name>`, listing the types the name has (NODATA) or `NXNAME` (a name that
/// does not exist, answered NOERROR unless the query set the CO flag).
extension Responder {
    /// What signing one answer needs: nil when the query has DO=0.
    struct Sign {
        let signing: [ZoneSigning?]
        let now: UInt32
        let scratch: SigningScratch
        let compactOK: Bool
        /// False when RRL will drop or slip this answer (`SigningGate`): a signature cache miss
        /// then makes no signature and the answer is cut to TC=1.
        let makesSignatures: Bool

        @inline(__always)
        func zone(_ z: Int) -> ZoneSigning? { z < signing.count ? signing[z] : nil }
    }

    /// Type codes of NSEC bitmaps.
    static let nxname: UInt16 = 128

    /// Writes the RRSIGs of the RRset whose rdata were given to `s.add` since `s.begin()`: owned by
    /// `name` (uncompressed; written as `owner`, nil for a pointer to the question), of `type`,
    /// served with `ttl`. False when they do not fit.
    static func writeRRSIGs(
        _ w: inout ResponseWriter, _ section: ResponseWriter.Section, owner: UnsafeRawBufferPointer?,
        name: UnsafeRawBufferPointer, type: RRType, ttl: UInt32, _ zs: ZoneSigning, _ sign: Sign
    ) -> Bool {
        let s = sign.scratch
        guard !s.overflow else { return false }
        s.sort()
        let canonical = lowercase(name, into: s.owner)
        // Labels (RFC 4034 §3.1.3): the root and a leading `*` do not count.
        var labels = 0
        var p = 0
        while p < canonical.count, canonical[p] != 0 {
            labels += 1
            p += 1 + Int(canonical[p])
        }
        if canonical.count >= 2, canonical[0] == 1, canonical[1] == UInt8(ascii: "*") { labels -= 1 }
        // The cache's key, compact: the owner, type and TTL once, then each record's canonical
        // RDLENGTH and RDATA in canonical order, then the key's algorithm and tag and the label
        // count. The signed data (RFC 4034 §3.1.8.1: the RRSIG's fields and signer, then every
        // record with owner, type, class and TTL) is built only on a miss.
        let fixed = 18 + zs.signerName.count
        let key = s.key
        var o = canonical.count
        UnsafeMutableRawBufferPointer(rebasing: key[0..<o]).copyMemory(from: canonical)
        put16(key, o, type.rawValue)
        put32(key, o + 2, ttl)
        o += 6
        for k in 0..<s.records {
            let at = Int(s.offsets[k])
            let len = Int(s.rdata[at]) << 8 | Int(s.rdata[at + 1])
            guard o + len + 6 <= key.count else { return false }
            UnsafeMutableRawBufferPointer(rebasing: key[o..<(o + 2 + len)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: s.rdata[at..<(at + 2 + len)]))
            o += 2 + len
        }
        let keyEnd = o
        let d = s.data
        var end = 0  // the signed data's length, once built
        for signing in zs.keys where type == .dnskey ? signing.signsKeys : signing.signsZone {
            key[keyEnd] = signing.algorithm
            put16(key, keyEnd + 1, signing.keyTag)
            key[keyEnd + 3] = UInt8(labels)
            let cacheKey = UnsafeRawBufferPointer(rebasing: key[0..<(keyEnd + 4)])
            let hash = FNV1a.hash64(cacheKey)
            let wrote: Bool
            if let hit = s.cache.find(hash, cacheKey, now: sign.now) {
                s.counters.bump(s.counters.hits)
                wrote = s.cache.entries[hit].rrsig.withUnsafeBytes {
                    w.writeRecord(section, owner: owner, type: .rrsig, ttl: ttl, rdata: $0)
                }
            } else {
                guard sign.makesSignatures else {
                    s.counters.bump(s.counters.limited)
                    return false
                }
                s.counters.bump(s.counters.misses)
                if end == 0 {
                    var p = fixed
                    for k in 0..<s.records {
                        let at = Int(s.offsets[k])
                        let len = Int(s.rdata[at]) << 8 | Int(s.rdata[at + 1])
                        guard p + canonical.count + 10 + len <= d.count else { return false }
                        UnsafeMutableRawBufferPointer(rebasing: d[p..<(p + canonical.count)]).copyMemory(
                            from: canonical)
                        p += canonical.count
                        put16(d, p, type.rawValue)
                        put16(d, p + 2, 1)
                        put32(d, p + 4, ttl)
                        UnsafeMutableRawBufferPointer(rebasing: d[(p + 8)..<(p + 10 + len)])
                            .copyMemory(from: UnsafeRawBufferPointer(rebasing: s.rdata[at..<(at + 2 + len)]))
                        p += 10 + len
                    }
                    end = p
                }
                put16(d, 0, type.rawValue)
                d[2] = signing.algorithm
                d[3] = UInt8(labels)
                put32(d, 4, ttl)
                put32(d, 8, sign.now &+ zs.lifetime)
                put32(d, 12, sign.now &- ZoneSigning.inceptionSkew)
                put16(d, 16, signing.keyTag)
                zs.signerName.withUnsafeBytes {
                    UnsafeMutableRawBufferPointer(rebasing: d[18..<fixed]).copyMemory(from: $0)
                }
                let out = s.rrsig
                let length = signing.signer.sign(
                    UnsafeRawBufferPointer(rebasing: d[0..<end]),
                    into: UnsafeMutableRawBufferPointer(rebasing: out[fixed...]))
                guard length > 0 else {
                    s.counters.bump(s.counters.failures)
                    continue
                }
                s.counters.bump(signing.algorithm == 15 ? s.counters.ed25519 : s.counters.ecdsa)
                UnsafeMutableRawBufferPointer(rebasing: out[0..<fixed])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: d[0..<fixed]))
                let rrsig = UnsafeRawBufferPointer(rebasing: out[0..<(fixed + length)])
                s.cache.store(hash, cacheKey, rrsig: rrsig, refreshAt: zs.refreshAt(sign.now))
                s.counters.cached.store(s.cache.count, ordering: .relaxed)
                wrote = w.writeRecord(section, owner: owner, type: .rrsig, ttl: ttl, rdata: rrsig)
            }
            if !wrote { return false }
        }
        return true
    }

    /// Gives every record of `rrset` to the signer's scratch.
    static func addAll(_ rrset: RRset, _ s: SigningScratch) {
        s.begin()
        rrset.data.withUnsafeBytes { d in
            var o = 0
            for _ in 0..<rrset.count {
                let len = Int(d[o]) << 8 | Int(d[o + 1])
                s.add(UnsafeRawBufferPointer(rebasing: d[(o + 2)..<(o + 2 + len)]), type: rrset.type)
                o += 2 + len
            }
        }
    }

    /// Writes a whole RRset and, when signing, its RRSIGs.
    static func writeSigned(
        _ w: inout ResponseWriter, _ section: ResponseWriter.Section, owner: UnsafeRawBufferPointer?,
        name: UnsafeRawBufferPointer, zone: Zone, rrset: RRset, rotate: Bool, ttl: UInt32? = nil,
        _ zs: ZoneSigning?, _ sign: Sign?
    ) -> Bool {
        guard writeRRset(&w, section, owner: owner, zone: zone, rrset: rrset, rotate: rotate, ttl: ttl) else {
            return false
        }
        guard let zs, let sign else { return true }
        addAll(rrset, sign.scratch)
        return writeRRSIGs(&w, section, owner: owner, name: name, type: rrset.type, ttl: ttl ?? rrset.ttl, zs, sign)
    }

    /// The compact denial's NSEC at `name` (RFC 9824 §3), with its RRSIGs, in authority. `node`
    /// is the name's node, whose types it lists (nil: the name does not exist, so `NXNAME`);
    /// `except` is left out (the type a pool answered NODATA for). At a zone cut only NS and DS
    /// are the parent's to list.
    static func writeDenial(
        _ w: inout ResponseWriter, owner: UnsafeRawBufferPointer?, name: UnsafeRawBufferPointer, zone: Zone,
        node: Int?, except: RRType? = nil, _ zs: ZoneSigning, _ sign: Sign
    ) -> Bool {
        let s = sign.scratch
        let buf = s.nsec
        // The next name: `\000` prepended to the owner, the name's immediate successor in
        // canonical order (RFC 4034 §6.1); a name too long for it keeps itself.
        let canonical = lowercase(name, into: s.owner)
        var n = 0
        if canonical.count + 2 <= 255 {
            buf[0] = 1
            buf[1] = 0
            n = 2
        }
        UnsafeMutableRawBufferPointer(rebasing: buf[n..<(n + canonical.count)]).copyMemory(from: canonical)
        n += canonical.count
        // The type bitmap (RFC 4034 §4.1.2): sorted type codes, windows of 256.
        let types = UnsafeMutableRawBufferPointer(rebasing: buf[(256 + 8)...])
        var count = 0
        func addType(_ t: UInt16) {
            guard count < types.count / 2 - 1 else { return }
            types.storeBytes(of: t, toByteOffset: count * 2, as: UInt16.self)
            count += 1
        }
        addType(RRType.rrsig.rawValue)
        addType(RRType.nsec.rawValue)
        if let node {
            let isCut = zone.nodes[node].cut == Int32(node)
            for r in zone.nodes[node].rrsets where r.type != except {
                if isCut && r.type != .ns && r.type != .ds { continue }
                if r.type == .rrsig || r.type == .nsec { continue }
                addType(r.type.rawValue)
            }
        } else {
            addType(nxname)
        }
        func type(_ k: Int) -> UInt16 { types.load(fromByteOffset: k * 2, as: UInt16.self) }
        for i in 1..<max(count, 1) {
            let v = type(i)
            var j = i - 1
            while j >= 0 && type(j) > v {
                types.storeBytes(of: type(j), toByteOffset: (j + 1) * 2, as: UInt16.self)
                j -= 1
            }
            types.storeBytes(of: v, toByteOffset: (j + 1) * 2, as: UInt16.self)
        }
        var k = 0
        while k < count {
            let window = type(k) >> 8
            let start = n
            buf[n] = UInt8(window)
            n += 2
            var length = 0
            while k < count && type(k) >> 8 == window {
                let low = Int(type(k) & 0xFF)
                let byte = low / 8
                while length <= byte {
                    buf[n + length] = 0
                    length += 1
                }
                buf[n + byte] |= 0x80 >> UInt8(low % 8)
                k += 1
            }
            buf[start + 1] = UInt8(length)
            n += length
        }
        let rdata = UnsafeRawBufferPointer(rebasing: buf[0..<n])
        let ttl = zone.negativeTTL
        guard w.writeRecord(.authority, owner: owner, type: .nsec, ttl: ttl, rdata: rdata) else { return false }
        s.begin()
        s.add(rdata, type: .nsec)
        return writeRRSIGs(&w, .authority, owner: owner, name: name, type: .nsec, ttl: ttl, zs, sign)
    }

    /// A negative answer's authority section: the SOA, and when signing its RRSIGs and the NSEC.
    static func writeNegative(
        _ w: inout ResponseWriter, owner: UnsafeRawBufferPointer?, name: UnsafeRawBufferPointer, zone: Zone,
        node: Int?, except: RRType? = nil, _ zs: ZoneSigning?, _ sign: Sign?
    ) -> Bool {
        guard let zs, let sign else { return writeSOA(&w, zone) }
        return writeSignedNegative(&w, owner: owner, name: name, zone: zone, node: node, except: except, zs, sign)
    }

    /// A negative answer's authority section when signing: the SOA and its RRSIGs, then the NSEC.
    static func writeSignedNegative(
        _ w: inout ResponseWriter, owner: UnsafeRawBufferPointer?, name: UnsafeRawBufferPointer, zone: Zone,
        node: Int?, except: RRType? = nil, _ zs: ZoneSigning, _ sign: Sign
    ) -> Bool {
        let soa = zone.soa
        let wrote = zone.origin.wire.withUnsafeBytes { apex in
            writeSigned(
                &w, .authority, owner: apex, name: apex, zone: zone, rrset: soa, rotate: false,
                ttl: zone.negativeTTL, zs, sign)
        }
        return wrote && writeDenial(&w, owner: owner, name: name, zone: zone, node: node, except: except, zs, sign)
    }

    /// Copies an uncompressed name lower-cased into `buffer` (length bytes are 0...63, never
    /// letters, so lower-casing every byte is exact).
    @inline(__always)
    static func lowercase(_ name: UnsafeRawBufferPointer, into buffer: UnsafeMutableRawBufferPointer)
        -> UnsafeRawBufferPointer
    {
        var end = 0
        while end < name.count, name[end] != 0 { end += 1 + Int(name[end]) }
        let n = min(end + 1, name.count, buffer.count)
        for i in 0..<n { buffer[i] = asciiLower(name[i]) }
        return UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<n])
    }

    @inline(__always)
    static func put16(_ d: UnsafeMutableRawBufferPointer, _ at: Int, _ v: UInt16) {
        d[at] = UInt8(v >> 8)
        d[at + 1] = UInt8(v & 0xFF)
    }

    @inline(__always)
    static func put32(_ d: UnsafeMutableRawBufferPointer, _ at: Int, _ v: UInt32) {
        put16(d, at, UInt16(v >> 16))
        put16(d, at + 2, UInt16(v & 0xFFFF))
    }
}
