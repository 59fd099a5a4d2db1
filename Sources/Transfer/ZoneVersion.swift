import Balancer
import DNSWire
import DNSZone
import Health

/// One version of a zone as transferred: its SOA (with the published serial) and every other
/// record, in canonical order. Immutable; IXFR diffs are computed between two of these.
public struct ZoneVersion: Sendable {
    public let origin: DNSName
    public let soa: ResourceRecord
    public let records: [ResourceRecord]
    public var serial: UInt32 { SOA.serial(soa.rdata) }

    public init(origin: DNSName, soa: ResourceRecord, records: [ResourceRecord]) {
        self.origin = origin
        self.soa = soa
        self.records = records
    }

    /// The zone as loaded, every record, nothing rotated or filtered (RFC 5936 §2.2); with a plan
    /// and a health view, the health-filtered zone: only the addresses a pool answers now (its
    /// usable members, of the answering tier), or while every member is out, those `serve_all`
    /// answers (all, or the first tier's).
    public init(zone: Zone, zoneIndex: Int = -1, plan: BalancePlan? = nil, health: HealthView? = nil) {
        var out: [ResourceRecord] = []
        out.reserveCapacity(zone.recordCount)
        var soa: ResourceRecord?
        for (i, node) in zone.nodes.enumerated() {
            let owner = zone.names.name(i)
            for set in node.rrsets {
                var records = set.records(owner: owner)
                if set.type == .soa {
                    soa = records.first
                    continue
                }
                if let plan, let health, zoneIndex >= 0, set.slot >= 0,
                    let b = plan.binding(zone: zoneIndex, slot: set.slot)
                {
                    // Exactly the members answered now (the answering tier's usable ones), or
                    // while every member is out, the ones serve_all answers.
                    let answering = plan.answering(set: b, health: health)
                    records = records.indices.filter { $0 >= plan.sets[b].targets.count || answering.contains($0) }
                        .map { records[$0] }
                }
                out += records
            }
        }
        self.origin = zone.origin
        self.soa = soa ?? zone.soa.records(owner: zone.origin)[0]
        self.records = out
    }

    /// The same content with another serial in the SOA.
    public func withSerial(_ serial: UInt32) -> ZoneVersion {
        ZoneVersion(origin: origin, soa: SOA.setting(serial: serial, in: soa), records: records)
    }

    /// SOA first and last around every other record: the answer records of an AXFR (RFC 5936 §2.2).
    public var axfrRecords: [ResourceRecord] { [soa] + records + [soa] }

    /// The records without the SOA's RRSIGs (which change with every serial).
    public var withoutSOASignatures: ZoneVersion {
        ZoneVersion(
            origin: origin, soa: soa,
            records: records.filter { !($0.type == .rrsig && $0.rdata.starts(with: [0, UInt8(RRType.soa.rawValue)])) })
    }

    /// Same records, ignoring the SOA.
    public func sameContent(as other: ZoneVersion) -> Bool {
        records.count == other.records.count && Set(records) == Set(other.records)
    }
}

/// What changed from one version to the next (RFC 1995 §4: deleted records, then added ones).
public struct ZoneDiff: Sendable, Equatable {
    public let from: ResourceRecord
    public let to: ResourceRecord
    public let deleted: [ResourceRecord]
    public let added: [ResourceRecord]

    public init(from old: ZoneVersion, to new: ZoneVersion) {
        let a = Set(old.records), b = Set(new.records)
        self.from = old.soa
        self.to = new.soa
        self.deleted = old.records.filter { !b.contains($0) }
        self.added = new.records.filter { !a.contains($0) }
    }

    public init(from: ResourceRecord, to: ResourceRecord, deleted: [ResourceRecord], added: [ResourceRecord]) {
        self.from = from
        self.to = to
        self.deleted = deleted
        self.added = added
    }
}

/// Serial number arithmetic (RFC 1982 §3.2, SERIAL_BITS = 32).
public enum Serial {
    /// `a` is newer than `b`.
    public static func greater(_ a: UInt32, _ b: UInt32) -> Bool {
        a != b && ((a < b && b - a > 0x8000_0000) || (a > b && a - b < 0x8000_0000))
    }
}
