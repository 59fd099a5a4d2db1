import DNSWire

/// A zone's current version and the diffs that led to it, bounded: what IXFR answers from
/// (RFC 1995 §2). Older diffs fall off; a client further behind gets the whole zone.
public struct ZoneJournal: Sendable {
    public private(set) var current: ZoneVersion
    /// Oldest first; each diff's `to` serial is the next one's `from`, the last one's is current.
    public private(set) var diffs: [ZoneDiff] = []
    public let maxDiffs: Int
    /// Diffs whose records add up to more than this are dropped, oldest first (a diff bigger
    /// than the zone is no saving over AXFR).
    public let maxRecords: Int

    public init(_ version: ZoneVersion, maxDiffs: Int = 64, maxRecords: Int? = nil) {
        self.current = version
        self.maxDiffs = maxDiffs
        self.maxRecords = maxRecords ?? max(1000, version.records.count)
    }

    /// Makes `next` current with its own serial. Returns false (and keeps the journal) when it
    /// holds the same records and serial.
    @discardableResult
    public mutating func advance(to next: ZoneVersion) -> Bool {
        if next.serial == current.serial && next.sameContent(as: current) { return false }
        if Serial.greater(next.serial, current.serial) {
            diffs.append(ZoneDiff(from: current, to: next))
        } else {
            diffs = []  // the serial went backwards (or stayed): no client can follow by IXFR
        }
        current = next
        trim()
        return true
    }

    /// Makes `next` current when the caller knows what changed (`diff`, from the current version
    /// to `next`): no comparison of the two versions' records, for zones that change a few
    /// records at a time among many (a fleet's observations). `next`'s serial must be newer.
    public mutating func advance(to next: ZoneVersion, diff: ZoneDiff) {
        precondition(Serial.greater(next.serial, current.serial), "a known diff needs a newer serial")
        diffs.append(diff)
        current = next
        trim()
    }

    mutating func trim() {
        while diffs.count > maxDiffs { diffs.removeFirst() }
        var total = diffs.reduce(0) { $0 + $1.added.count + $1.deleted.count }
        while total > maxRecords, let first = diffs.first {
            total -= first.added.count + first.deleted.count
            diffs.removeFirst()
        }
    }

    /// The next serial for a new version of the same zone: the source's serial when it moved
    /// forward, else one more than the current (never backwards, RFC 1982).
    public func nextSerial(source: UInt32) -> UInt32 {
        Serial.greater(source, current.serial) ? source : current.serial &+ 1
    }

    public enum Answer: Equatable {
        /// The client has the current version: one SOA.
        case upToDate
        /// The diffs from the client's serial to the current one.
        case incremental([ZoneDiff])
        /// Unknown serial: the whole zone (RFC 1995 §4).
        case full
    }

    public func answer(clientSerial: UInt32) -> Answer {
        if clientSerial == current.serial || Serial.greater(clientSerial, current.serial) { return .upToDate }
        guard let start = diffs.firstIndex(where: { SOA.serial($0.from.rdata) == clientSerial }) else { return .full }
        return .incremental(Array(diffs[start...]))
    }

    /// The answer records of an IXFR response (RFC 1995 §4): the current SOA, then per diff
    /// the old SOA, deletions, the new SOA, additions; the current SOA again at the end.
    public func ixfrRecords(clientSerial: UInt32) -> [ResourceRecord] {
        switch answer(clientSerial: clientSerial) {
        case .upToDate: return [current.soa]
        case .full: return current.axfrRecords
        case .incremental(let ds):
            var out = [current.soa]
            for d in ds { out += [d.from] + d.deleted + [d.to] + d.added }
            out.append(current.soa)
            return out
        }
    }
}
