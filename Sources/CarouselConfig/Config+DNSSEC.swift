import DNSSEC
import DNSWire
import Yams

/// Reading `dnssec:` into the DNSSEC module's values:
/// `- { zone: example.com, keys: keys/example.com, signature_lifetime: 14d, dnskey_ttl: 3600 }`.
/// The keys themselves are read by `Loading.Validator` (a start, every reload, `carousel check`).
extension YAMLReader {
    mutating func dnssecZones(_ node: Node, baseDirectory: String?) -> [(DNSSECZone, line: Int)] {
        var out: [(DNSSECZone, line: Int)] = []
        var seen: [DNSName: Int] = [:]
        for (i, item) in list(node, "dnssec", of: "zones").enumerated() {
            let path = "dnssec[\(i)]"
            let line = item.mark?.line ?? 1
            var zone: DNSName?, keys: String?
            var lifetime = 14 * 86400, ttl: UInt32 = 3600
            let known: Set = ["zone", "keys", "signature_lifetime", "dnskey_ttl"]
            for (k, v) in mapping(item, path, known: known) {
                let p = "\(path).\(k)"
                switch k {
                case "zone":
                    if let s = string(v, p) { zone = zoneName(s, v, p) }
                case "keys":
                    if let s = string(v, p) {
                        if s.isEmpty {
                            fail(v, p, "expected a directory")
                        } else {
                            keys = Config.resolve(s, against: baseDirectory)
                        }
                    }
                case "signature_lifetime":
                    if let d = duration(v, p, range: .seconds(3 * 3600)...(.seconds(366 * 86400))) {
                        lifetime = Int(d.components.seconds)
                    }
                default:
                    if let n = int(v, p, range: 0...86400) { ttl = UInt32(n) }
                }
            }
            guard let zone else {
                fail(item, "\(path).zone", "every dnssec entry needs a zone")
                continue
            }
            once(zone, in: &seen, line: line, item, "\(path).zone", "zone \(zone) is already signed above")
            guard let keys else {
                fail(item, "\(path).keys", "every dnssec entry needs a keys directory")
                continue
            }
            out.append((DNSSECZone(zone: zone, keys: keys, signatureLifetime: lifetime, dnskeyTTL: ttl), line))
        }
        return out
    }
}
