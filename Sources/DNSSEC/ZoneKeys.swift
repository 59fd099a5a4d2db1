import DNSWire
import DNSZone
import Foundation
import Responder

/// `dnssec:` in carousel.yaml: a zone signed online with the key pairs of a directory.
public struct DNSSECZone: Sendable, Equatable {
    public var zone: DNSName
    /// The directory of BIND-format key files (relative paths taken from the config's directory).
    public var keys: String
    /// From a signature's making to its expiration; its inception is an hour before it is made.
    public var signatureLifetime: Int = 14 * 86400
    /// The DNSKEY RRset's TTL.
    public var dnskeyTTL: UInt32 = 3600

    public init(zone: DNSName, keys: String, signatureLifetime: Int = 14 * 86400, dnskeyTTL: UInt32 = 3600) {
        self.zone = zone
        self.keys = keys
        self.signatureLifetime = signatureLifetime
        self.dnskeyTTL = dnskeyTTL
    }
}

/// A signed zone's keys and what they do at a given time: which are in the DNSKEY RRset, which
/// sign, and when that next changes (a rollover driven by the keys' timing metadata).
public struct ZoneKeys: Sendable {
    public let config: DNSSECZone
    public let keys: [DNSSECKey]

    public init(config: DNSSECZone, keys: [DNSSECKey]) {
        self.config = config
        self.keys = keys
    }

    public static func load(_ config: DNSSECZone) -> Result<ZoneKeys, Problems> {
        KeyFiles.load(zone: config.zone, directory: config.keys).map { ZoneKeys(config: config, keys: $0) }
    }

    public func published(at now: Int64) -> [DNSSECKey] { keys.filter { $0.timing.isPublished(at: now) } }
    public func active(at now: Int64) -> [DNSSECKey] { keys.filter { $0.timing.isActive(at: now) } }

    /// The first key event after `now`, when the snapshot must be rebuilt.
    public func nextEvent(after now: Int64) -> Int64? {
        keys.flatMap(\.timing.events).filter { $0 > now }.min()
    }

    /// The DNSKEY records of the keys published at `now`.
    public func dnskeyRecords(at now: Int64) -> [ResourceRecord] {
        published(at: now).map {
            ResourceRecord(name: config.zone, type: .dnskey, ttl: config.dnskeyTTL, rdata: $0.rdata)
        }
    }

    /// The query path's view of the keys active at `now`: KSKs (SEP) sign the DNSKEY RRset, ZSKs
    /// everything else; a SEP key with no active ZSK beside it signs everything (a CSK), as does
    /// a ZSK with no active SEP key. Nil when no key is active (an error the caller reports).
    public func signing(at now: Int64) -> ZoneSigning? {
        let active = active(at: now)
        guard !active.isEmpty else { return nil }
        let anyZSK = active.contains { !$0.isKeySigning }
        let anyKSK = active.contains { $0.isKeySigning }
        var out: [SigningKey] = []
        for k in active {
            guard let signer = try? k.signer() else { continue }
            out.append(
                SigningKey(
                    algorithm: k.algorithm.rawValue, keyTag: k.keyTag, signsKeys: k.isKeySigning || !anyKSK,
                    signsZone: !k.isKeySigning || !anyZSK, signer: signer))
        }
        return ZoneSigning(
            signerName: config.zone.lowercased.wire, keys: out, lifetime: UInt32(config.signatureLifetime))
    }

    /// The zone as served signed: its records without any DNSSEC records of the file (Carousel
    /// signs; a presigned file's RRSIG, NSEC and NSEC3 records would be stale) and with the
    /// DNSKEY RRset of the keys published at `now`.
    public func zone(_ zone: Zone, at now: Int64) throws -> Zone {
        var records: [ResourceRecord] = []
        records.reserveCapacity(zone.recordCount + keys.count)
        for (i, node) in zone.nodes.enumerated() {
            let owner = zone.names.name(i)
            for set in node.rrsets where !ZoneKeys.replaced.contains(set.type) {
                records += set.records(owner: owner)
            }
        }
        records += dnskeyRecords(at: now)
        do {
            return try Zone.build(origin: zone.origin, file: zone.file, records: records)
        } catch {
            throw Problem(file: zone.file, line: 0, message: "\(error)")
        }
    }

    /// Types the signer makes itself.
    static let replaced: Set<RRType> = [.dnskey, .rrsig, .nsec, RRType(50), RRType(51)]
}
