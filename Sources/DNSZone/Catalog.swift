import DNSWire

/// Every zone this server answers for, as one immutable snapshot: reloads build a new catalog and
/// swap it in (DESIGN §4), so a lookup never sees half of a change.
public final class Catalog: Sendable {
    public let zones: [Zone]
    let origins: NameTable
    /// For each zone, the index of the closest enclosing zone on this server, or -1 (for DS at a
    /// cut between two zones we both serve, answered from the parent: RFC 4035 §3.1.4.1).
    let parents: [Int32]

    public init(zones: [Zone]) {
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
}
