import DNSWire

/// `catalog:` in the config: Carousel as the producer of a catalog zone (RFC 9432) listing every
/// zone of `transfers:`, transferred and NOTIFYed to secondaries like any zone, so they start and
/// stop serving zones with no change on their side.
public struct CatalogSettings: Sendable, Hashable {
    public var zone: DNSName
    public var allow: [IPPrefix]
    public var key: TSIGKey?
    public var notify: [HostPort]
    /// Member zone → its group (RFC 9432 §4.4.2), for consumers that configure by group.
    public var groups: [DNSName: String]

    public init(
        zone: DNSName, allow: [IPPrefix] = [], key: TSIGKey? = nil, notify: [HostPort] = [],
        groups: [DNSName: String] = [:]
    ) {
        self.zone = zone
        self.allow = allow
        self.key = key
        self.notify = notify
        self.groups = groups
    }

    /// How the catalog itself is transferred.
    public var primary: PrimaryZone { PrimaryZone(zone: zone, allow: allow, key: key, notify: notify) }
}

/// The catalog zone's records (RFC 9432, version 2):
///
///     catalog.carousel.internal.                        0 SOA invalid. invalid. SERIAL 3600 600 2147483646 0
///     catalog.carousel.internal.                        0 NS  invalid.
///     version.catalog.carousel.internal.                0 TXT "2"
///     <id>.zones.catalog.carousel.internal.             0 PTR example.com.
///     group.<id>.zones.catalog.carousel.internal.       0 TXT "signed"
///
/// A member's id is a hash of its name, so it stays the same from version to version and from
/// run to run (§4.1: a changed id would make consumers drop and re-add the zone).
public enum CatalogZone {
    public static func memberID(_ zone: DNSName) -> String {
        let text = zone.description.lowercased()
        let h = Array(text.utf8).withUnsafeBytes { FNV1a.hash64($0) }
        let s = String(h, radix: 16)
        return "m" + String(repeating: "0", count: 16 - s.count) + s
    }

    /// SOA first, then every other record.
    public static func records(_ settings: CatalogSettings, members: [DNSName], serial: UInt32) -> [ResourceRecord] {
        let origin = settings.zone
        let invalid = (try? DNSName("invalid.")) ?? DNSName.root
        var soa = invalid.wire + invalid.wire
        for v in [serial, 3600, 600, 2_147_483_646, 0] as [UInt32] {
            soa += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
        }
        var out = [
            ResourceRecord(name: origin, type: .soa, ttl: 0, rdata: soa),
            ResourceRecord(name: origin, type: .ns, ttl: 0, rdata: invalid.wire),
        ]
        if let version = try? DNSName("version.\(origin)") {
            out.append(ResourceRecord(name: version, type: .txt, ttl: 0, rdata: [1, UInt8(ascii: "2")]))
        }
        for zone in members where zone != origin {
            let id = memberID(zone)
            guard let owner = try? DNSName("\(id).zones.\(origin)") else { continue }
            out.append(ResourceRecord(name: owner, type: .ptr, ttl: 0, rdata: zone.wire))
            if let group = settings.groups[zone], let g = try? DNSName("group.\(id).zones.\(origin)") {
                let bytes = Array(group.utf8.prefix(255))
                out.append(ResourceRecord(name: g, type: .txt, ttl: 0, rdata: [UInt8(bytes.count)] + bytes))
            }
        }
        return out
    }
}
