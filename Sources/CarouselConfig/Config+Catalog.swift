import DNSWire
import Transfer
import Yams

/// Reading `catalog:` into `CatalogSettings`: the zone's name, who may transfer it (as for
/// `transfers:`), whom to NOTIFY, and the groups of member zones. What needs the rest of the file
/// (a group naming a zone that is not transferred, a catalog that is also a served zone) is
/// checked by the `Validator`.
extension YAMLReader {
    mutating func catalog(_ node: Node, keys: [TSIGKey]) -> (CatalogSettings, line: Int)? {
        let line = node.mark?.line ?? 1
        let entries = mapping(node, "catalog", known: ["zone", "allow", "tsig", "notify", "groups"])
        guard let zoneNode = entries.first(where: { $0.0 == "zone" })?.1, let text = string(zoneNode, "catalog.zone")
        else {
            fail(node, "catalog.zone", "a catalog needs a zone (its name, e.g. catalog.carousel.internal)")
            return nil
        }
        guard let zone = zoneName(text, zoneNode, "catalog.zone") else { return nil }
        var c = CatalogSettings(zone: zone)
        for (k, v) in entries {
            let p = "catalog.\(k)"
            access(k, v, p, keys: keys, allow: &c.allow, key: &c.key, notify: &c.notify)
            switch k {
            case "groups":
                guard case .mapping(let m) = v else {
                    fail(v, p, "expected a mapping of zone: group")
                    continue
                }
                for (k, group) in m {
                    guard let name = k.scalar?.string, let member = zoneName(name, k, "\(p).\(name)"),
                        let g = string(group, "\(p).\(name)")
                    else { continue }
                    if g.isEmpty || g.utf8.count > 255 {
                        fail(group, "\(p).\(name)", "a group is 1 to 255 characters")
                    } else {
                        c.groups[member] = g
                    }
                }
            default: break
            }
        }
        return (c, line)
    }
}
