/// A drain or an undrain as a fleet keeps it: which way, when (milliseconds since the epoch), and
/// by which member. Every member keeps the newest mark of each drain key (a bare address, or
/// `pool/address`), so a drain given to any member reaches all of them, and a later undrain given
/// to another one wins over it: the last writer wins, ties broken by member id, then toward
/// drained.
public struct DrainMark: Sendable, Hashable, Codable {
    public var drained: Bool
    /// Milliseconds since the epoch.
    public var at: Int64
    /// The member that took the order (empty without a fleet).
    public var by: String

    public init(drained: Bool, at: Int64, by: String) {
        self.drained = drained
        self.at = at
        self.by = by
    }

    public func newer(than other: DrainMark) -> Bool {
        if at != other.at { return at > other.at }
        if by != other.by { return by > other.by }
        return drained && !other.drained
    }
}
