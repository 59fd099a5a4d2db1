import DNSWire

/// One probe target: an address and how it is checked. Pools that share an address and an equal
/// check share the target, so it is probed once however many pools use it.
public struct TargetKey: Hashable, Sendable, CustomStringConvertible {
    /// Canonical IPv4 or IPv6 text (`inet_ntop`'s form), so `::1` and `0::1` are one target.
    public var address: String
    public var check: Check

    public init(address: String, check: Check) {
        self.address = IPAddress.canonical(address) ?? address
        self.check = check
    }

    /// See ``Check/fingerprint``.
    public var fingerprint: String { check.fingerprint }

    public var description: String { "\(address) \(fingerprint)" }
}
