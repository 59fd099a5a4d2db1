import DNSWire
import Transfer
import Yams

/// Reading `fleet:` into `FleetSettings`. Everything the file alone can tell is checked here, at
/// its line: ids that are DNS labels and appear once, addresses once, `self` a member, the key
/// known, a quorum that can be met.
extension YAMLReader {
    mutating func fleet(_ node: Node, keys: [TSIGKey]) -> (FleetSettings, line: Int)? {
        let line = node.mark?.line ?? 1
        var members: [FleetMember] = []
        var selfID: String?
        var key: TSIGKey?
        var keyNode: Node?
        var quorum = Quorum.majority
        var quorumNode: Node?
        var staleAfter: Duration = .seconds(3)
        var selfNode: Node?
        var observers: Int?
        var observersNode: Node?
        let known: Set = ["members", "self", "tsig", "quorum", "stale_after", "observers_per_target"]
        for (k, v) in mapping(node, "fleet", known: known) {
            let p = "fleet.\(k)"
            switch k {
            case "members": members = fleetMembers(v)
            case "self":
                selfNode = v
                selfID = string(v, p)
            case "tsig":
                keyNode = v
                key = self.key(v, p, in: keys)
            case "quorum":
                quorumNode = v
                quorum = self.quorum(v, p) ?? quorum
            case "observers_per_target":
                observersNode = v
                if v.scalar?.string != "all" { observers = int(v, p, range: 1...1000) }
            default:
                if let d = duration(v, p, range: .seconds(1)...(.seconds(600))) { staleAfter = d }
            }
        }
        if members.count < 2 && !errors.contains(where: { $0.message.hasPrefix("fleet.members") }) {
            fail(node, "fleet.members", "a fleet needs at least two members")
        }
        if let selfID, !members.isEmpty, !members.contains(where: { $0.id == selfID }) {
            fail(
                selfNode, "fleet.self",
                "\(selfID) is not one of the members (\(members.map(\.id).joined(separator: ", ")))")
        }
        if let observers, observers > members.count, !members.isEmpty {
            fail(observersNode, "fleet.observers_per_target", "\(observers) is more than the \(members.count) members")
        }
        let voters = min(observers ?? members.count, members.count)
        if case .count(let n) = quorum, n > voters, !members.isEmpty {
            let who = observers != nil && voters < members.count ? "observers per target" : "members"
            fail(quorumNode, "fleet.quorum", "\(n) can never be met by \(voters) \(who)")
        }
        guard let key else {
            if keyNode == nil {
                fail(node, "fleet.tsig", "a fleet's exchanges must be signed: name a key of tsig_keys")
            }
            return nil
        }
        return (
            FleetSettings(
                members: members, selfID: selfID, key: key, quorum: quorum, staleAfter: staleAfter,
                observersPerTarget: observers == members.count ? nil : observers),
            line
        )
    }

    /// `majority`, a count (`2`) or a percentage (`"34%"`).
    mutating func quorum(_ node: Node, _ path: String) -> Quorum? {
        guard let s = string(node, path) else { return nil }
        if s == "majority" { return .majority }
        if s.hasSuffix("%"), let p = Int(s.dropLast()) {
            guard (1...100).contains(p) else {
                fail(node, path, "\(s): a percentage from 1% to 100%")
                return nil
            }
            return .percent(p)
        }
        if let n = Int(s) {
            guard n >= 1 else {
                fail(node, path, "\(s): at least one observer must see a target down")
                return nil
            }
            return .count(n)
        }
        fail(node, path, "\"\(s)\" is not majority, a count or a percentage")
        return nil
    }

    /// `- { id: ns1, address: "10.0.0.1:53" }`, each id a DNS label and each id and address once.
    mutating func fleetMembers(_ node: Node) -> [FleetMember] {
        var out: [FleetMember] = []
        var ids: [String: Int] = [:]
        var addresses: [HostPort: Int] = [:]
        for (i, item) in list(node, "fleet.members", of: "members").enumerated() {
            let path = "fleet.members[\(i)]"
            let line = item.mark?.line ?? 1
            var id: String?, address: HostPort?
            var idNode: Node?, addressNode: Node?
            for (k, v) in mapping(item, path, known: ["id", "address"]) {
                if k == "id" {
                    idNode = v
                    id = string(v, "\(path).id")
                } else {
                    addressNode = v
                    address = string(v, "\(path).address").flatMap { peer($0, v, "\(path).address") }
                }
            }
            guard let id else {
                if idNode == nil { fail(item, "\(path).id", "every member needs an id") }
                continue
            }
            let label = id.utf8.allSatisfy {
                ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D
            }
            guard label, !id.isEmpty, id.utf8.count <= 63, !id.hasPrefix("-"), !id.hasSuffix("-") else {
                fail(
                    idNode, "\(path).id", "\"\(id)\" is not a DNS label (lower-case letters, digits and -, at most 63)")
                continue
            }
            once(id, in: &ids, line: line, idNode, "\(path).id", "\(id) is already a member")
            guard let address else {
                if addressNode == nil { fail(item, "\(path).address", "every member needs an address") }
                continue
            }
            if IPAddress(address.host) == nil {
                fail(addressNode, "\(path).address", "\(address.host) is not an IP address")
                continue
            }
            once(
                address, in: &addresses, line: line, addressNode, "\(path).address", "\(address) is already a member's")
            out.append(FleetMember(id: id, address: address))
        }
        return out
    }
}
