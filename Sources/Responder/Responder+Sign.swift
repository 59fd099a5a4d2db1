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

        /// How zone `z`'s answers are signed; nil when the zone is not signed.
        @inline(__always)
        func signer(forZone z: Int) -> ZoneSigner? {
            guard z < signing.count, let zone = signing[z] else { return nil }
            return ZoneSigner(zone: zone, sign: self)
        }
    }

    /// What every writer of a signed answer needs, as one value: the zone's keys and signer name,
    /// and the answer's signing context. Nil where the zone is unsigned or the query has DO=0.
    struct ZoneSigner {
        let zone: ZoneSigning
        let sign: Sign
    }

    /// Type codes of NSEC bitmaps.
    static let nxname: UInt16 = 128

    /// Where the fields of an RRSIG's rdata sit (RFC 4034 §3.1); the signer's name follows them,
    /// then the signature. The signed data starts with the same fields (§3.1.8.1).
    enum RRSIGField {
        static let typeCovered = 0
        static let algorithm = 2
        static let labels = 3
        static let originalTTL = 4
        static let expiration = 8
        static let inception = 12
        static let keyTag = 16
        static let signerName = 18
    }

    /// Writes the RRSIGs of the RRset whose rdata were given to `s.add` since `s.begin()`: owned by
    /// `name` (uncompressed; written as `owner`, nil for a pointer to the question), of `type`,
    /// served with `ttl`. For each key that signs the set: the cache key, then on a hit the stored
    /// RRSIG, on a miss a new signature (unless the gate withholds it). False when they do not fit.
    static func writeRRSIGs(
        _ w: inout ResponseWriter, _ section: ResponseWriter.Section, owner: UnsafeRawBufferPointer?,
        name: UnsafeRawBufferPointer, type: RRType, ttl: UInt32, _ signer: ZoneSigner
    ) -> Bool {
        let s = signer.sign.scratch
        guard !s.overflow else { return false }
        s.sort()
        let canonical = lowercase(name, into: s.owner)
        let labels = labelCount(canonical)
        guard let keyEnd = writeCacheKey(s, owner: canonical, type: type, ttl: ttl) else { return false }
        var signedEnd = 0  // the signed data's length, once built
        let zone = signer.zone
        for key in zone.keys where type == .dnskey ? key.signsKeys : key.signsZone {
            // The key's part of the cache key: algorithm, tag, label count.
            s.key[keyEnd] = key.algorithm
            put16(s.key, keyEnd + 1, key.keyTag)
            s.key[keyEnd + 3] = UInt8(labels)
            let cacheKey = UnsafeRawBufferPointer(rebasing: s.key[0..<(keyEnd + 4)])
            let hash = FNV1a.hash64(cacheKey)
            if let hit = s.cache.find(hash, cacheKey, now: signer.sign.now) {
                s.counters.bump(s.counters.hits)
                let wrote = s.cache.entries[hit].rrsig.withUnsafeBytes {
                    w.writeRecord(section, owner: owner, type: .rrsig, ttl: ttl, rdata: $0)
                }
                if !wrote { return false }
                continue
            }
            guard signer.sign.makesSignatures else {
                s.counters.bump(s.counters.limited)
                return false
            }
            s.counters.bump(s.counters.misses)
            if signedEnd == 0 {
                guard let end = writeSignedRecords(s, owner: canonical, type: type, ttl: ttl, after: zone) else {
                    return false
                }
                signedEnd = end
            }
            guard let rrsig = sign(s, key, type: type, labels: labels, ttl: ttl, signedEnd: signedEnd, signer) else {
                continue  // a failed signature is counted; the set goes out with the others' RRSIGs
            }
            s.cache.store(hash, cacheKey, rrsig: rrsig, refreshAt: zone.refreshAt(signer.sign.now))
            s.counters.cached.store(s.cache.count, ordering: .relaxed)
            if !w.writeRecord(section, owner: owner, type: .rrsig, ttl: ttl, rdata: rrsig) { return false }
        }
        return true
    }

    /// The RRSIG's label count (RFC 4034 §3.1.3): the root and a leading `*` do not count.
    @inline(__always)
    static func labelCount(_ canonical: UnsafeRawBufferPointer) -> Int {
        var labels = 0
        var p = 0
        while p < canonical.count, canonical[p] != 0 {
            labels += 1
            p += 1 + Int(canonical[p])
        }
        if canonical.count >= 2, canonical[0] == 1, canonical[1] == UInt8(ascii: "*") { labels -= 1 }
        return labels
    }

    /// The cache's key of the set, compact, into `s.key`: the owner, type and TTL once, then each
    /// record's canonical RDLENGTH and RDATA in canonical order. Returns where the key's own part
    /// (algorithm, tag, labels: 4 bytes) goes; nil when the set is too big for the buffer.
    static func writeCacheKey(_ s: SigningScratch, owner canonical: UnsafeRawBufferPointer, type: RRType, ttl: UInt32)
        -> Int?
    {
        let key = s.key
        var o = canonical.count
        UnsafeMutableRawBufferPointer(rebasing: key[0..<o]).copyMemory(from: canonical)
        put16(key, o, type.rawValue)
        put32(key, o + 2, ttl)
        o += 6
        for k in 0..<s.records {
            let at = Int(s.offsets[k])
            let len = Int(s.rdata[at]) << 8 | Int(s.rdata[at + 1])
            guard o + len + 6 <= key.count else { return nil }
            UnsafeMutableRawBufferPointer(rebasing: key[o..<(o + 2 + len)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: s.rdata[at..<(at + 2 + len)]))
            o += 2 + len
        }
        return o
    }

    /// The records part of the signed data (RFC 4034 §3.1.8.1) into `s.data`, after room for the
    /// RRSIG's fields and the zone's signer name: each record with owner, type, class IN and the
    /// served TTL, in canonical order. Returns the signed data's length; nil when it does not fit.
    static func writeSignedRecords(
        _ s: SigningScratch, owner canonical: UnsafeRawBufferPointer, type: RRType, ttl: UInt32,
        after zone: ZoneSigning
    ) -> Int? {
        let d = s.data
        var p = RRSIGField.signerName + zone.signerName.count
        for k in 0..<s.records {
            let at = Int(s.offsets[k])
            let len = Int(s.rdata[at]) << 8 | Int(s.rdata[at + 1])
            guard p + canonical.count + 10 + len <= d.count else { return nil }
            UnsafeMutableRawBufferPointer(rebasing: d[p..<(p + canonical.count)]).copyMemory(from: canonical)
            p += canonical.count
            put16(d, p, type.rawValue)
            put16(d, p + 2, 1)
            put32(d, p + 4, ttl)
            UnsafeMutableRawBufferPointer(rebasing: d[(p + 8)..<(p + 10 + len)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: s.rdata[at..<(at + 2 + len)]))
            p += 10 + len
        }
        return p
    }

    /// Signs the data `writeSignedRecords` laid out with `key`: fills in the RRSIG's fields, calls
    /// the signer, and returns the RRSIG's rdata (in `s.rrsig`); nil, counted, when signing failed.
    static func sign(
        _ s: SigningScratch, _ key: SigningKey, type: RRType, labels: Int, ttl: UInt32, signedEnd: Int,
        _ signer: ZoneSigner
    ) -> UnsafeRawBufferPointer? {
        let d = s.data
        let zone = signer.zone
        let fields = RRSIGField.signerName + zone.signerName.count
        put16(d, RRSIGField.typeCovered, type.rawValue)
        d[RRSIGField.algorithm] = key.algorithm
        d[RRSIGField.labels] = UInt8(labels)
        put32(d, RRSIGField.originalTTL, ttl)
        put32(d, RRSIGField.expiration, signer.sign.now &+ zone.lifetime)
        put32(d, RRSIGField.inception, signer.sign.now &- ZoneSigning.inceptionSkew)
        put16(d, RRSIGField.keyTag, key.keyTag)
        zone.signerName.withUnsafeBytes {
            UnsafeMutableRawBufferPointer(rebasing: d[RRSIGField.signerName..<fields]).copyMemory(from: $0)
        }
        let out = s.rrsig
        let length = key.signer.sign(
            UnsafeRawBufferPointer(rebasing: d[0..<signedEnd]),
            into: UnsafeMutableRawBufferPointer(rebasing: out[fields...]))
        guard length > 0 else {
            s.counters.bump(s.counters.failures)
            return nil
        }
        s.counters.bump(key.algorithm == 15 ? s.counters.ed25519 : s.counters.ecdsa)
        UnsafeMutableRawBufferPointer(rebasing: out[0..<fields])
            .copyMemory(from: UnsafeRawBufferPointer(rebasing: d[0..<fields]))
        return UnsafeRawBufferPointer(rebasing: out[0..<(fields + length)])
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
        _ signer: ZoneSigner?
    ) -> Bool {
        guard writeRRset(&w, section, owner: owner, zone: zone, rrset: rrset, rotate: rotate, ttl: ttl) else {
            return false
        }
        guard let signer else { return true }
        addAll(rrset, signer.sign.scratch)
        return writeRRSIGs(&w, section, owner: owner, name: name, type: rrset.type, ttl: ttl ?? rrset.ttl, signer)
    }

    /// The compact denial's NSEC at `name` (RFC 9824 §3), with its RRSIGs, in authority. `node`
    /// is the name's node, whose types it lists (nil: the name does not exist, so `NXNAME`);
    /// `except` is left out (the type a pool answered NODATA for). At a zone cut only NS and DS
    /// are the parent's to list.
    static func writeDenial(
        _ w: inout ResponseWriter, owner: UnsafeRawBufferPointer?, name: UnsafeRawBufferPointer, zone: Zone,
        node: Int?, except: RRType? = nil, _ signer: ZoneSigner
    ) -> Bool {
        let s = signer.sign.scratch
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
        return writeRRSIGs(&w, .authority, owner: owner, name: name, type: .nsec, ttl: ttl, signer)
    }

    /// A negative answer's authority section: the SOA, and when signing its RRSIGs and the NSEC.
    static func writeNegative(
        _ w: inout ResponseWriter, owner: UnsafeRawBufferPointer?, name: UnsafeRawBufferPointer, zone: Zone,
        node: Int?, except: RRType? = nil, _ signer: ZoneSigner?
    ) -> Bool {
        guard let signer else { return writeSOA(&w, zone) }
        return writeSignedNegative(&w, owner: owner, name: name, zone: zone, node: node, except: except, signer)
    }

    /// A negative answer's authority section when signing: the SOA and its RRSIGs, then the NSEC.
    static func writeSignedNegative(
        _ w: inout ResponseWriter, owner: UnsafeRawBufferPointer?, name: UnsafeRawBufferPointer, zone: Zone,
        node: Int?, except: RRType? = nil, _ signer: ZoneSigner
    ) -> Bool {
        let soa = zone.soa
        let wrote = zone.origin.wire.withUnsafeBytes { apex in
            writeSigned(
                &w, .authority, owner: apex, name: apex, zone: zone, rrset: soa, rotate: false,
                ttl: zone.negativeTTL, signer)
        }
        return wrote && writeDenial(&w, owner: owner, name: name, zone: zone, node: node, except: except, signer)
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
