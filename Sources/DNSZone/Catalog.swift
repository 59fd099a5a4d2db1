import DNSWire

/// A zone this server is configured to answer for but holds no data of: a secondary zone before
/// its first transfer, or past EXPIRE without word from its primary. Names in it get SERVFAIL
/// (as NSD and Knot answer), with `reason` as the Extended DNS Error's text (RFC 8914 §4.25).
public struct UnavailableZone: Sendable {
    public let origin: DNSName
    /// UTF-8 text for the EDE option, short enough for any answer (at most 200 bytes).
    public let reason: [UInt8]

    public init(origin: DNSName, reason: String) {
        self.origin = origin
        self.reason = Array(reason.utf8.prefix(200))
    }
}

/// Every zone this server answers for, as one immutable snapshot: reloads build a new catalog and
/// swap it in, so a lookup never sees half of a change.
public final class Catalog: Sendable {
    public let zones: [Zone]
    let origins: NameTable
    /// Zones configured here that have no data now (see `UnavailableZone`), looked up only when
    /// there are any.
    public let unavailable: [UnavailableZone]
    let unavailableOrigins: NameTable
    /// For each zone, the index of the closest enclosing zone on this server, or -1 (for DS at a
    /// cut between two zones we both serve, answered from the parent: RFC 4035 §3.1.4.1).
    let parents: [Int32]

    public init(zones: [Zone], unavailable: [UnavailableZone] = []) {
        let served = Set(zones.map(\.origin))
        self.unavailable = unavailable.filter { !served.contains($0.origin) }
        self.unavailableOrigins = NameTable(self.unavailable.map(\.origin))
        let unique = Dictionary(zones.map { ($0.origin, $0) }, uniquingKeysWith: { first, _ in first })
        let sorted = unique.values.sorted { $0.origin < $1.origin }
        self.zones = sorted
        self.origins = NameTable(sorted.map(\.origin))
        var parents = [Int32](repeating: -1, count: sorted.count)
        for (i, z) in sorted.enumerated() {
            var n = z.origin
            while !n.isRoot {
                n = n.parent
                if let p = origins.find(n) {
                    parents[i] = Int32(p)
                    break
                }
            }
        }
        self.parents = parents
    }

    public static let empty = Catalog(zones: [])

    public func zone(named origin: DNSName) -> Zone? {
        origins.find(origin).map { zones[$0] }
    }

    /// The zone with the longest origin that is a suffix of the name at `from` (RFC 1034 §4.3.2
    /// step 2), and where that origin starts in `bytes`.
    @inline(__always)
    public func findZone(_ bytes: UnsafeRawBufferPointer, from: Int) -> (zone: Int, originAt: Int)? {
        if zones.isEmpty { return nil }
        var p = from
        while true {
            if let z = origins.find(bytes, from: p) { return (z, p) }
            let len = Int(bytes[p])
            if len == 0 { return nil }
            p += 1 + len
        }
    }

    /// The unavailable zone that holds the name at `from` and is closer to it than the zone found
    /// (whose origin starts at `originAt`, or nil), and where its origin starts: a longest match
    /// over both kinds of zone.
    @inline(__always)
    func unavailableZone(_ bytes: UnsafeRawBufferPointer, from: Int, before originAt: Int?) -> (Int, at: Int)? {
        var p = from
        while originAt.map({ p < $0 }) ?? true {
            if let u = unavailableOrigins.find(bytes, from: p) { return (u, p) }
            let len = Int(bytes[p])
            if len == 0 { return nil }
            p += 1 + len
        }
        return nil
    }
}
