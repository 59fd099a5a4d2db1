import DNSWire
import Transfer

/// What the transfer services serve and pull, from the config: the `transfers:` zones, the
/// `secondaries:` zones (with their keys resolved) and `limits.zone_records`.
public struct TransferSetup: Sendable, Equatable {
    public var primaries: [PrimaryZone]
    public var secondaries: [SecondaryZone]
    public var keys: [TSIGKey]
    public var maxZoneRecords: Int

    public init(
        primaries: [PrimaryZone] = [], secondaries: [SecondaryZone] = [], keys: [TSIGKey] = [],
        maxZoneRecords: Int = 10_000_000
    ) {
        self.primaries = primaries
        self.secondaries = secondaries
        self.keys = keys
        self.maxZoneRecords = maxZoneRecords
    }
}
