import Balancer
import DNSWire
import Health
import Yams

/// The keys of a `check:` as written: every kind's fields side by side, the way the file holds
/// them, so a pool's check can start from `defaults.check` and override the keys it names. It
/// becomes a `Check` (one kind, with only that kind's fields) once both are read.
struct CheckFields: Sendable, Equatable {
    var type = "tcp"
    var port = 80
    var path = "/"
    var host: String? = nil
    var expect = [200]
    var body: String? = nil
    var insecure = false
    var query: String? = nil
    var qtype = "A"
    var rcodes = [0]
    var command: [String] = []
    var timing = Timing()

    static let kinds = ["tcp", "http", "https", "dns", "exec", "none"]

    var check: Check {
        let http = HTTPProbe(path: path, host: host, expect: expect, body: body)
        let kind: Check.Kind =
            switch type {
            case "http": .http(http)
            case "https": .https(http, insecure: insecure)
            case "dns": .dns(DNSProbe(query: query, qtype: qtype, rcodes: rcodes))
            case "exec": .exec(command: command)
            case "none": .none
            default: .tcp
            }
        return Check(kind: kind, port: port, timing: timing)
    }
}

/// Reading `defaults:` and `pools:`. A pool's check starts from `defaults.check` and overrides
/// the keys it names.
extension YAMLReader {
    static let checkKeys: Set = [
        "type", "port", "path", "host", "expect", "body", "insecure", "query", "qtype", "command", "interval",
        "timeout", "rise", "fall",
    ]

    mutating func check(_ node: Node, _ path: String, base: CheckFields) -> CheckFields {
        var c = base
        let entries = mapping(node, path, known: YAMLReader.checkKeys)
        for (k, v) in entries where k == "type" {
            guard let s = string(v, "\(path).type") else { continue }
            guard CheckFields.kinds.contains(s) else {
                fail(v, "\(path).type", "\"\(s)\" is not one of \(CheckFields.kinds.joined(separator: ", "))")
                continue
            }
            if s != c.type { c.port = Check.defaultPort(s) }
            c.type = s
        }
        for (k, v) in entries {
            let p = "\(path).\(k)"
            switch k {
            case "port":
                if let n = int(v, p, range: 1...65535) { c.port = n }
            case "path":
                if let s = string(v, p) {
                    if s.hasPrefix("/") { c.path = s } else { fail(v, p, "must start with /") }
                }
            case "host": c.host = string(v, p)
            case "body": c.body = string(v, p)
            case "insecure": if let b = bool(v, p) { c.insecure = b }
            case "query": c.query = string(v, p)
            case "qtype": if let s = string(v, p) { c.qtype = s.uppercased() }
            case "expect":
                guard let items = strings(v, p) else { break }
                if c.type == "dns" {
                    c.rcodes = items.compactMap { item in
                        if let n = Int(item), (0...4095).contains(n) { return n }
                        if let n = YAMLReader.rcodeNames[item.uppercased()] { return n }
                        fail(v, p, "\"\(item)\" is not an rcode (NOERROR, NXDOMAIN, REFUSED, … or a number)")
                        return nil
                    }
                } else {
                    c.expect = items.compactMap { item in
                        if let n = Int(item), (100...599).contains(n) { return n }
                        fail(v, p, "\"\(item)\" is not an HTTP status code")
                        return nil
                    }
                }
            case "command":
                if let list = strings(v, p) {
                    if list.isEmpty || list[0].isEmpty { fail(v, p, "needs a program") } else { c.command = list }
                }
            case "interval":
                if let d = duration(v, p, range: .milliseconds(100)...(.seconds(86400))) { c.timing.interval = d }
            case "timeout":
                if let d = duration(v, p, range: .milliseconds(10)...(.seconds(600))) { c.timing.timeout = d }
            case "rise": if let n = int(v, p, range: 1...100) { c.timing.rise = n }
            case "fall": if let n = int(v, p, range: 1...100) { c.timing.fall = n }
            default: break
            }
        }
        if c.timing.timeout > c.timing.interval {
            fail(node, "\(path).timeout", "must not be longer than the interval (\(c.timing.interval))")
        }
        if c.type == "exec" && c.command.isEmpty {
            fail(node, "\(path).command", "an exec check needs a command")
        }
        return c
    }

    static let rcodeNames: [String: Int] = [
        "NOERROR": 0, "FORMERR": 1, "SERVFAIL": 2, "NXDOMAIN": 3, "NOTIMP": 4, "REFUSED": 5,
    ]

    /// The pools, and the line each is defined on.
    mutating func pools(_ node: Node, defaults: (ttl: Int, check: CheckFields)) -> [(Pool, line: Int)] {
        let seq = list(node, "pools", of: "pools")
        let known: Set = [
            "name", "ttl", "max_answers", "order", "weights", "all_down", "fallback", "check", "sticky", "tiers",
            "slow_start", "agent",
        ]
        var out: [(Pool, line: Int)] = []
        var names: [String: Int] = [:]
        for (i, item) in seq.enumerated() {
            let path = "pools[\(i)]"
            let entries = mapping(item, path, known: known)
            guard let nameNode = entries.first(where: { $0.0 == "name" })?.1,
                let name = string(nameNode, "\(path).name")
            else {
                fail(item, "\(path).name", "every pool needs a name")
                continue
            }
            let line = item.mark?.line ?? 1
            let key = name.lowercased().hasSuffix(".") ? String(name.lowercased().dropLast()) : name.lowercased()
            once(key, in: &names, line: line, nameNode, "\(path).name", "pool \(name) is already defined")
            var pool = Pool(name: name, ttl: defaults.ttl, check: defaults.check.check)
            for (k, v) in entries {
                let p = "\(path).\(k)"
                switch k {
                case "ttl": if let n = int(v, p, range: 0...86400) { pool.ttl = n }
                case "max_answers": pool.maxAnswers = int(v, p, range: 1...64)
                case "order": if let o = choice(v, p, Pool.Order.self) { pool.order = o }
                case "all_down": if let a = choice(v, p, Pool.AllDown.self) { pool.allDown = a }
                case "weights":
                    guard case .mapping(let m) = v else {
                        fail(v, p, "expected a mapping of address: weight")
                        break
                    }
                    for (kn, wv) in m {
                        guard let text = kn.scalar?.string else { continue }
                        guard let address = IPAddress.canonical(text) else {
                            fail(kn, "\(p).\(text)", "\"\(text)\" is not an IP address")
                            continue
                        }
                        if let w = int(wv, "\(p).\(text)", range: 0...1000) { pool.weights[address] = w }
                    }
                case "fallback":
                    for text in strings(v, p) ?? [] {
                        if let a = IPAddress(text) {
                            pool.fallback.append(a)
                        } else {
                            fail(v, p, "\"\(text)\" is not an IP address")
                        }
                    }
                case "check": pool.check = check(v, p, base: defaults.check).check
                case "tiers": pool.tiers = tiers(v, p)
                case "slow_start":
                    pool.slowStart = duration(v, p, range: .seconds(1)...(.seconds(3600)))
                case "agent": pool.agent = agent(v, p)
                case "sticky":
                    for (sk, sv) in mapping(v, p, known: ["ipv4_prefix", "ipv6_prefix"]) {
                        if sk == "ipv4_prefix" {
                            if let n = int(sv, "\(p).ipv4_prefix", range: 0...32) { pool.sticky.ipv4 = n }
                        } else if let n = int(sv, "\(p).ipv6_prefix", range: 0...128) {
                            pool.sticky.ipv6 = n
                        }
                    }
                default: break
                }
            }
            if pool.allDown == .fallback && pool.fallback.isEmpty {
                fail(item, "\(path).fallback", "all_down: fallback needs a fallback list of addresses")
            }
            if pool.order == .weighted && pool.weights.isEmpty {
                fail(item, "\(path).weights", "order: weighted needs weights")
            }
            if pool.order != .sticky, let node = entries.first(where: { $0.0 == "sticky" })?.1 {
                fail(node, "\(path).sticky", "is for order: sticky")
            }
            out.append((pool, line))
        }
        return out
    }

    /// `tiers:`: a list of `{ members: [address…], min_up: N | "N%" }`, at most
    /// `BalancerScratch.maxTiers`, no address in two tiers.
    mutating func tiers(_ node: Node, _ path: String) -> [Pool.Tier] {
        let items = list(node, path, of: "tiers")
        if items.count > BalancerScratch.maxTiers {
            fail(node, path, "at most \(BalancerScratch.maxTiers) tiers")
        }
        var out: [Pool.Tier] = []
        var seen: [String: Int] = [:]
        for (t, item) in items.enumerated() {
            let p = "\(path)[\(t)]"
            var tier = Pool.Tier(members: [])
            var minUpNode: Node?
            for (k, v) in mapping(item, p, known: ["members", "min_up"]) {
                if k == "members" {
                    for text in strings(v, "\(p).members") ?? [] {
                        guard let address = IPAddress.canonical(text) else {
                            fail(v, "\(p).members", "\"\(text)\" is not an IP address")
                            continue
                        }
                        if let other = seen[address] {
                            fail(v, "\(p).members", "\(address) is already in tier \(other + 1)")
                            continue
                        }
                        seen[address] = t
                        tier.members.append(address)
                    }
                } else {
                    minUpNode = v
                    if let minUp = minUp(v, "\(p).min_up") { tier.minUp = minUp }
                }
            }
            if tier.members.isEmpty {
                fail(item, "\(p).members", "every tier needs members")
            } else if case .count(let n) = tier.minUp, n > tier.members.count {
                fail(minUpNode ?? item, "\(p).min_up", "\(n) is more than the tier's \(tier.members.count) members")
            }
            out.append(tier)
        }
        return out
    }

    /// `min_up: 2` or `min_up: "50%"`.
    mutating func minUp(_ node: Node, _ path: String) -> Pool.Tier.MinUp? {
        guard let text = node.scalar?.string else {
            fail(node, path, "expected a count or a percentage such as \"50%\"")
            return nil
        }
        if text.hasSuffix("%"), let p = Int(text.dropLast()) {
            guard (1...100).contains(p) else {
                fail(node, path, "\(text) is not between 1% and 100%")
                return nil
            }
            return .percent(p)
        }
        guard let n = int(node, path, range: 1...1000) else { return nil }
        return .count(n)
    }

    /// `agent: { port, interval, timeout }`.
    mutating func agent(_ node: Node, _ path: String) -> AgentCheck? {
        var port: Int?
        var agent = AgentCheck(port: 0)
        for (k, v) in mapping(node, path, known: ["port", "interval", "timeout"]) {
            let p = "\(path).\(k)"
            switch k {
            case "port": port = int(v, p, range: 1...65535)
            case "interval":
                if let d = duration(v, p, range: .milliseconds(100)...(.seconds(3600))) { agent.interval = d }
            default:
                if let d = duration(v, p, range: .milliseconds(10)...(.seconds(600))) { agent.timeout = d }
            }
        }
        if agent.timeout > agent.interval {
            fail(node, "\(path).timeout", "must not be longer than the interval (\(agent.interval))")
        }
        guard let port else {
            fail(node, "\(path).port", "an agent needs the port it listens on")
            return nil
        }
        agent.port = port
        return agent
    }
}
