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
    /// and a health view, the health-filtered zone: the addresses of a pool that are down or
    /// drained are left out, unless every member is (then all stay, as `serve_all` does).
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
                    let bs = plan.sets[b]
                    let down = (0..<records.count).map { k in
                        k < bs.targets.count
                            && (bs.drained[k]
                                || (bs.targets[k] >= 0
                                    && (!health.isUp(bs.targets[k]) || health.isDrained(bs.targets[k]))))
                    }
                    if !down.allSatisfy({ $0 }) {
                        records = zip(records, down).filter { !$0.1 }.map(\.0)
                    }
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

/// SOA rdata fields (RFC 1035 §3.3.13): serial, refresh, retry, expire, minimum follow the names.
public enum SOA {
    static func fieldsStart(_ rdata: [UInt8]) -> Int? {
        let r = ResourceRecord.embeddedNameRanges(type: .soa, rdata: rdata)
        guard r.count == 2, r[1].upperBound + 20 <= rdata.count else { return nil }
        return r[1].upperBound
    }

    static func field(_ rdata: [UInt8], _ k: Int) -> UInt32 {
        guard let s = fieldsStart(rdata) else { return 0 }
        let i = s + 4 * k
        return UInt32(rdata[i]) << 24 | UInt32(rdata[i + 1]) << 16 | UInt32(rdata[i + 2]) << 8 | UInt32(rdata[i + 3])
    }

    public static func serial(_ rdata: [UInt8]) -> UInt32 { field(rdata, 0) }
    public static func refresh(_ rdata: [UInt8]) -> UInt32 { field(rdata, 1) }
    public static func retry(_ rdata: [UInt8]) -> UInt32 { field(rdata, 2) }
    public static func expire(_ rdata: [UInt8]) -> UInt32 { field(rdata, 3) }

    public static func setting(serial: UInt32, in soa: ResourceRecord) -> ResourceRecord {
        guard let s = fieldsStart(soa.rdata) else { return soa }
        var r = soa
        r.rdata[s] = UInt8(serial >> 24)
        r.rdata[s + 1] = UInt8(serial >> 16 & 0xFF)
        r.rdata[s + 2] = UInt8(serial >> 8 & 0xFF)
        r.rdata[s + 3] = UInt8(serial & 0xFF)
        return r
    }
}

/// Serial number arithmetic (RFC 1982 §3.2, SERIAL_BITS = 32).
public enum Serial {
    /// `a` is newer than `b`.
    public static func greater(_ a: UInt32, _ b: UInt32) -> Bool {
        a != b && ((a < b && b - a > 0x8000_0000) || (a > b && a - b < 0x8000_0000))
    }
}
