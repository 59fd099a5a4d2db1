import DNSWire

/// Reads the answer records of an AXFR or IXFR response as they arrive, message by message, and
/// says when the transfer is complete (RFC 5936 §2.2, RFC 1995 §4). The client side of Carousel
/// as a secondary.
public struct TransferCollector: Sendable {
    public enum Result: Sendable, Equatable {
        /// The server has nothing newer (a single SOA).
        case upToDate(ResourceRecord)
        /// The whole zone: SOA and the other records.
        case full(soa: ResourceRecord, records: [ResourceRecord])
        /// Diffs to apply in order.
        case incremental([ZoneDiff])
    }

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case notSOA
        case malformed(String)
        public var description: String {
            switch self {
            case .notSOA: "the response does not start with an SOA"
            case .malformed(let s): s
            }
        }
    }

    let ixfr: Bool
    let ourSerial: UInt32?
    var records: [ResourceRecord] = []
    public private(set) var result: Result?
    /// The most records a transfer may bring (`limits.zone_records`): past it the transfer is
    /// refused as it arrives, before a primary can fill the memory.
    public var maxRecords = Int.max

    /// `ourSerial` is the serial the IXFR request offered (nil for AXFR).
    public init(ixfr: Bool, ourSerial: UInt32?) {
        self.ixfr = ixfr
        self.ourSerial = ourSerial
    }

    /// Adds one message's answer records; returns true once the transfer is complete.
    public mutating func add(_ answer: [ResourceRecord]) throws(Failure) -> Bool {
        records += answer
        // An AXFR brings the zone and its SOA once more at the end. (An IXFR brings two SOAs per
        // diff besides: one that passes the limit falls back to AXFR, which is held to it.)
        if records.count - 1 > maxRecords {
            throw .malformed("more than \(maxRecords) records arrived (limits.zone_records)")
        }
        guard let first = records.first else { return false }
        guard first.type == .soa else { throw .notSOA }
        let n = SOA.serial(first.rdata)
        if records.count == 1 {
            // One SOA alone ends an IXFR whose client is up to date (or a UDP reply).
            if ixfr, let ours = ourSerial, !Serial.greater(n, ours) {
                result = .upToDate(first)
                return true
            }
            return false
        }
        // IXFR form: the second record is the SOA a first difference starts from, which carries
        // an older serial. SOA n, SOA n is the AXFR form of a zone of only its SOA.
        if ixfr && records[1].type == .soa && !(records.count == 2 && SOA.serial(records[1].rdata) == n) {
            return try incremental(n)
        }
        // AXFR form: ends at the second SOA.
        if let last = records.last, records.count >= 2, last.type == .soa {
            result = .full(soa: first, records: Array(records[1..<(records.count - 1)]).filter { $0.type != .soa })
            return true
        }
        return false
    }

    mutating func incremental(_ n: UInt32) throws(Failure) -> Bool {
        var diffs: [ZoneDiff] = []
        var i = 1
        while i < records.count {
            let from = records[i]
            guard from.type == .soa else { throw .malformed("expected an SOA to start a difference sequence") }
            if SOA.serial(from.rdata) == n && i == records.count - 1 {
                result = .incremental(diffs)
                return true
            }
            var j = i + 1
            var deleted: [ResourceRecord] = []
            while j < records.count, records[j].type != .soa {
                deleted.append(records[j])
                j += 1
            }
            guard j < records.count else { return false }
            let to = records[j]
            j += 1
            var added: [ResourceRecord] = []
            while j < records.count, records[j].type != .soa {
                added.append(records[j])
                j += 1
            }
            guard j < records.count else { return false }
            diffs.append(ZoneDiff(from: from, to: to, deleted: deleted, added: added))
            i = j
        }
        return false
    }

    /// Applies diffs to a zone's records; nil when a diff does not start from the serial reached.
    public static func apply(_ diffs: [ZoneDiff], to soa: ResourceRecord, records: [ResourceRecord])
        -> (soa: ResourceRecord, records: [ResourceRecord])?
    {
        var soa = soa
        var set = records
        for d in diffs {
            guard SOA.serial(d.from.rdata) == SOA.serial(soa.rdata) else { return nil }
            let gone = Set(d.deleted)
            set.removeAll { gone.contains($0) }
            set += d.added
            soa = d.to
        }
        return (soa, set)
    }
}
