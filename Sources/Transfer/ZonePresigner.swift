import DNSWire
import Foundation
import Responder

/// A signed zone as secondaries get it (they cannot sign): every authoritative RRset with its
/// RRSIGs and a full NSEC chain (RFC 4035 §2; compact denial is for online answers only). The
/// signatures of RRsets that did not change are kept from the last version, so an IXFR carries
/// only the RRSIG and NSEC records that moved; a signature is made again once less than a quarter
/// of its lifetime is left (minus a jitter, so a zone's signatures do not all fall due together).
public final class ZonePresigner: @unchecked Sendable {
    struct Made {
        let rrsig: [UInt8]
        let refreshAt: Int64
    }
    /// Signatures by what they cover (canonical RRset bytes and the key), kept for one version.
    var made: [[UInt8]: Made] = [:]
    /// The earliest time a signature of the last version falls due.
    public private(set) var nextRefresh: Int64?
    public private(set) var signaturesMade = 0

    public init() {}

    /// `version` with RRSIGs for every authoritative RRset but the SOA, and the NSEC chain.
    /// `signSOA` adds the SOA's once the serial is known.
    public func sign(_ version: ZoneVersion, with signing: ZoneSigning, now: Int64) -> ZoneVersion {
        let origin = version.origin
        let records = version.records.filter { ![RRType.rrsig, .nsec, .nsec3, .nsec3param].contains($0.type) }
        // RRsets by owner, owners in canonical order.
        var byOwner: [DNSName: [RRType: [ResourceRecord]]] = [:]
        for r in records { byOwner[r.name.lowercased, default: [:]][r.type, default: []].append(r) }
        let cuts = Set(byOwner.keys.filter { $0 != origin.lowercased && byOwner[$0]?[.ns] != nil })
        func occluded(_ n: DNSName) -> Bool {
            var p = n
            while p.labelCount > origin.labelCount {
                p = p.parent
                if cuts.contains(p) { return true }
            }
            return false
        }
        let owners = byOwner.keys.filter { !occluded($0) }.map { ($0.canonicalKey, $0) }.sorted {
            CanonicalOrder.precedes($0.0, $1.0)
        }
        .map(\.1)
        let negativeTTL = min(version.soa.ttl, SOA.minimum(version.soa.rdata))
        var out = records
        var used: [[UInt8]: Made] = [:]
        var earliest: Int64?
        for (i, owner) in owners.enumerated() {
            let sets = byOwner[owner]!
            let isCut = cuts.contains(owner)
            let next = owners[(i + 1) % owners.count]
            var types = Set(sets.keys.map(\.rawValue))
            if isCut { types = types.filter { $0 == RRType.ns.rawValue || $0 == RRType.ds.rawValue } }
            types.insert(RRType.rrsig.rawValue)
            types.insert(RRType.nsec.rawValue)
            // The SOA travels beside the records (ZoneVersion.soa), never among them.
            if owner == origin.lowercased { types.insert(RRType.soa.rawValue) }
            let nsec = ResourceRecord(
                name: owner, type: .nsec, ttl: negativeTTL, rdata: next.lowercased.wire + Self.bitmap(types.sorted()))
            out.append(nsec)
            for (type, set) in sets.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                if type == .soa { continue }
                if isCut && type != .ds { continue }
                out += sign(set, signing, now: now, used: &used, earliest: &earliest)
            }
            out += sign([nsec], signing, now: now, used: &used, earliest: &earliest)
        }
        made = used
        nextRefresh = earliest
        return ZoneVersion(origin: origin, soa: version.soa, records: out)
    }

    /// Adds the SOA's RRSIGs (after the serial is set).
    public func signSOA(_ version: ZoneVersion, with signing: ZoneSigning, now: Int64) -> ZoneVersion {
        var used = made
        var earliest = nextRefresh
        let sigs = sign([version.soa], signing, now: now, used: &used, earliest: &earliest)
        made = used
        nextRefresh = earliest
        return ZoneVersion(origin: version.origin, soa: version.soa, records: version.records + sigs)
    }

    func sign(
        _ set: [ResourceRecord], _ signing: ZoneSigning, now: Int64, used: inout [[UInt8]: Made], earliest: inout Int64?
    ) -> [ResourceRecord] {
        let first = set[0]
        let owner = first.name.lowercased.wire
        var labels = first.name.labelCount
        if first.name.isWildcard { labels -= 1 }
        let ttl = first.ttl
        let canonical = set.map { Self.canonicalRDATA($0) }.sorted { $0.lexicographicallyPrecedes($1) }
        var rrs: [UInt8] = []
        var last: [UInt8]?
        for d in canonical where d != last {
            last = d
            rrs += owner
            rrs += [UInt8(first.type.rawValue >> 8), UInt8(first.type.rawValue & 0xFF), 0, 1]
            rrs += [UInt8(ttl >> 24), UInt8(ttl >> 16 & 0xFF), UInt8(ttl >> 8 & 0xFF), UInt8(ttl & 0xFF)]
            rrs += [UInt8(d.count >> 8), UInt8(d.count & 0xFF)] + d
        }
        var out: [ResourceRecord] = []
        for key in signing.keys where first.type == .dnskey ? key.signsKeys : key.signsZone {
            let cacheKey = rrs + [key.algorithm, UInt8(key.keyTag >> 8), UInt8(key.keyTag & 0xFF), UInt8(labels)]
            if let m = used[cacheKey] ?? made[cacheKey], m.refreshAt > now {
                used[cacheKey] = m
                earliest = min(earliest ?? m.refreshAt, m.refreshAt)
                out.append(ResourceRecord(name: first.name, type: .rrsig, ttl: ttl, rdata: m.rrsig))
                continue
            }
            let inception = UInt32(truncatingIfNeeded: now - Int64(ZoneSigning.inceptionSkew))
            let expiration = UInt32(truncatingIfNeeded: now + Int64(signing.lifetime))
            var fixed: [UInt8] = [UInt8(first.type.rawValue >> 8), UInt8(first.type.rawValue & 0xFF), key.algorithm]
            fixed += [UInt8(labels)]
            for v in [ttl, expiration, inception] {
                fixed += [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
            }
            fixed += [UInt8(key.keyTag >> 8), UInt8(key.keyTag & 0xFF)] + signing.signerName
            let data = fixed + rrs
            var signature = [UInt8](repeating: 0, count: 512)
            let n = data.withUnsafeBytes { d in signature.withUnsafeMutableBytes { key.signer.sign(d, into: $0) } }
            guard n > 0 else { continue }
            signaturesMade += 1
            let rrsig = fixed + signature[0..<n]
            // Due when a quarter of the lifetime is left, less up to a sixteenth (the jitter).
            let lifetime = Int64(signing.lifetime)
            let refreshAt = now + lifetime - lifetime / 4 - Int64.random(in: 0...max(1, lifetime / 16))
            used[cacheKey] = Made(rrsig: rrsig, refreshAt: refreshAt)
            earliest = min(earliest ?? refreshAt, refreshAt)
            out.append(ResourceRecord(name: first.name, type: .rrsig, ttl: ttl, rdata: rrsig))
        }
        return out
    }

    /// RDATA in canonical form (RFC 4034 §6.2): the names of the types it lists lower-cased.
    static func canonicalRDATA(_ r: ResourceRecord) -> [UInt8] { CanonicalRData.canonical(r.type, r.rdata) }

    /// An NSEC type bitmap (RFC 4034 §4.1.2) of sorted type codes.
    static func bitmap(_ types: [UInt16]) -> [UInt8] {
        var out: [UInt8] = []
        var k = 0
        while k < types.count {
            let window = types[k] >> 8
            var bits = [UInt8](repeating: 0, count: 32)
            var length = 0
            while k < types.count && types[k] >> 8 == window {
                let low = Int(types[k] & 0xFF)
                bits[low / 8] |= 0x80 >> UInt8(low % 8)
                length = max(length, low / 8 + 1)
                k += 1
            }
            out += [UInt8(window), UInt8(length)] + bits[0..<length]
        }
        return out
    }
}
