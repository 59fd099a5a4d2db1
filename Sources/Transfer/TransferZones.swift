import DNSWire

/// A zone Carousel serves to secondaries (`transfers:`): who may transfer it, with which key,
/// whom to NOTIFY of each new version, and whether versions follow health.
public struct PrimaryZone: Sendable, Hashable {
    public var zone: DNSName
    /// Who may AXFR/IXFR; empty means nobody.
    public var allow: [IPPrefix]
    /// The key a request must be signed with; nil: none required.
    public var key: TSIGKey?
    /// Secondaries told of every new version (UDP NOTIFY, RFC 1996).
    public var notify: [HostPort]
    /// Transfer the health-filtered zone: a pool member going down is a new version.
    public var publishHealth: Bool

    public init(
        zone: DNSName, allow: [IPPrefix] = [], key: TSIGKey? = nil, notify: [HostPort] = [], publishHealth: Bool = false
    ) {
        self.zone = zone
        self.allow = allow
        self.key = key
        self.notify = notify
        self.publishHealth = publishHealth
    }
}

/// A zone Carousel pulls from a primary (`secondaries:`).
public struct SecondaryZone: Sendable, Hashable {
    public var zone: DNSName
    public var primary: HostPort
    /// Requests are signed with it, and every answer's signature checked; nil: unsigned.
    public var key: TSIGKey?
    /// Where the last good copy is stored (master-file text, written after every transfer; its
    /// modification time is when the primary last confirmed it), nil: memory only.
    public var file: String?
    /// Pull over TLS (XoT, RFC 9103) with the primary's certificate checked; nil: plain TCP.
    public var tls: TLSPeer?

    public init(zone: DNSName, primary: HostPort, key: TSIGKey? = nil, file: String? = nil, tls: TLSPeer? = nil) {
        self.zone = zone
        self.primary = primary
        self.key = key
        self.file = file
        self.tls = tls
    }
}

/// How a secondary authenticates its primary over TLS (RFC 8310's profiles): the certificate's
/// name checked against `verifyName`, signed by a CA of `ca` (a PEM bundle; nil: the system's),
/// or the key pinned (`pins`: SHA-256 digests of the SubjectPublicKeyInfo, RFC 7858 §4.2) with
/// no CA at all.
public struct TLSPeer: Sendable, Hashable {
    public var verifyName: String?
    public var ca: String?
    public var pins: [[UInt8]]

    public init(verifyName: String? = nil, ca: String? = nil, pins: [[UInt8]] = []) {
        self.verifyName = verifyName
        self.ca = ca
        self.pins = pins
    }
}
