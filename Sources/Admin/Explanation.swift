import Balancer
import DNSWire
import DNSZone
import Foundation
import Health
import Responder
import Runtime
import TransferService

/// `GET /explain?name=…&client=…`: the answer a client at `client` gets now, and why — the pool
/// that answers it, the client's key and ECS scope for a sticky pool, and every member with its
/// rank, weight, state and whether it is in the answer. The answer is the responder's own, asked
/// as a resolver would with ECS for the client's full address (so a rotating pool moves on by one
/// answer); the field names are a contract like `/status`'s.
public struct Explanation: Codable, Sendable {
    public struct Member: Codable, Sendable {
        public var address: String
        /// The client's order of the members (sticky), or the stored order (others): 1 first.
        public var rank: Int
        public var weight: Int
        /// The weight answers use now (configured × agent × slow start; 0 while out).
        public var effectiveWeight: Double
        /// Tiered pools: the member's tier (1 = first).
        public var tier: Int?
        /// The agent's word (up, drain, maint, down…), for a pool with `agent:`.
        public var agent: String?
        /// up, down, drained or unknown.
        public var state: String
        public var usable: Bool
        public var inAnswer: Bool
        public var why: String
        /// In a fleet: each fresh member's verdict on this member's target, and the quorum.
        public var fleetVotes: FleetStatus.TargetVotes?
    }

    public var name: String
    public var type: String
    public var client: String
    public var rcode: String
    public var answer: [String]
    public var ttl: UInt32?
    /// The CNAMEs followed to reach the pool's name.
    public var chain: [String]
    public var pool: String?
    public var order: String?
    public var maxAnswers: Int?
    /// Sticky pools: the client's subnet as its key, and the ECS scope of the answer.
    public var key: String?
    public var scope: Int?
    /// Tiered pools: the tier that answers (1 = first) and why.
    public var tier: Int?
    public var tierReason: String?
    public var members: [Member]
}

extension CarouselRuntime {
    public func explain(name text: String, client clientText: String, type typeText: String = "A") async -> Result<
        Explanation, AdminResult
    > {
        guard let name = try? DNSName(text.hasSuffix(".") ? text : text + ".") else {
            return .failure(.bad("\(text) is not a domain name"))
        }
        guard let client = IPAddress(clientText) else { return .failure(.bad("\(clientText) is not an IP address")) }
        guard let type = RRType(text: typeText), type == .a || type == .aaaa else {
            return .failure(.bad("type \(typeText): explain answers A or AAAA"))
        }
        let snapshot = self.snapshot
        let health = await healthView()
        let subnet = ClientSubnet(address: client.bytes, prefix: client.bytes.count * 8)!
        var option = [UInt8](repeating: 0, count: 20)
        let length = option.withUnsafeMutableBytes { subnet.write(scope: 0, into: $0) }
        let query = Message.query(
            name, type, edns: EDNS(payload: 4096),
            ednsOptions: [EDNSOption(code: EDNSOptionCode.clientSubnet, data: Array(option[0..<length]))])
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 65535, alignment: 8)
        defer { out.deallocate() }
        let outcome = query.encode().withUnsafeBytes {
            Responder.respond(
                to: $0, over: .tcp, snapshot: snapshot, health: health, into: out,
                scratch: ResponderScratch(signatureCacheEntries: 16), client: ClientAddress(client.bytes))
        }
        guard let reply = try? Message.decode(Array(out[0..<outcome.length])) else {
            return .failure(AdminResult(status: 500, message: "the responder's answer did not decode"))
        }
        let chain = reply.answer.filter { $0.type == .cname }.compactMap(\.targetName)
        let addresses = reply.answer.filter { $0.type == type }.compactMap { r in
            r.rdata.withUnsafeBytes { IPAddress.text($0) }
        }
        var e = Explanation(
            name: name.description, type: type.description, client: client.description,
            rcode: RCode(rawValue: reply.rcode)?.description ?? "\(reply.rcode)", answer: addresses,
            ttl: reply.answer.last { $0.type == type }?.ttl, chain: chain.map(\.description), members: [])
        // The pool's set: the RRset the chain ends at.
        let owner = chain.last ?? name
        guard case .answer(let z, let n, let r, _) = snapshot.catalog.lookup(owner, type: type),
            let b = snapshot.plan.binding(zone: z, slot: snapshot.catalog.zones[z].nodes[n].rrsets[r].slot)
        else { return .success(e) }
        let plan = snapshot.plan
        let set = plan.sets[b]
        let pool = plan.pools[set.pool]
        e.pool = pool.name
        e.order = pool.order.rawValue
        e.maxAnswers = pool.pool.maxAnswers
        let cs = plan.candidateSet(set: b, health: health)
        if set.isTiered {
            e.tier = cs.candidates.tier >= 0 ? cs.candidates.tier + 1 : nil
            e.tierReason = StatusReport.tierReason(set, cs)
        }
        let agents =
            pool.pool.agent == nil
            ? [:]
            : Dictionary(
                await prober.status().filter { $0.check.kind == .agent }.map { ($0.id, $0.agent?.word ?? "unknown") },
                uniquingKeysWith: { a, _ in a })
        let votes = await fleet.status()?.byTarget ?? [:]
        func member(_ m: Int, rank: Int) -> Explanation.Member {
            let membership = plan.membership(set: b, member: m, health: health, in: cs)
            let t = set.targets[m]
            var state = t < 0 ? "up" : health.state(t).description
            if set.drained[m] || (t >= 0 && health.isDrained(t)) { state = "drained" }
            return Explanation.Member(
                address: set.addresses[m], rank: rank, weight: set.weights[m],
                effectiveWeight: set.isUsable(m, health) ? set.effectiveWeight(m, health) : 0,
                tier: set.isTiered ? Int(set.tiers[m]) + 1 : nil, agent: agents[set.agents[m]], state: state,
                usable: set.isUsable(m, health), inAnswer: addresses.contains(set.addresses[m]), why: membership.why,
                fleetVotes: t >= 0 ? votes[t] : nil)
        }
        if pool.order == .sticky {
            let key = StickyKey(subnet, prefixes: pool.pool.sticky)
            let cut = subnet.cut(to: Int(key.prefix))
            let bytes = (0..<(cut.family == .ipv4 ? 4 : 16)).map(cut.byte)
            e.key = "\(IPAddress(bytes: bytes)?.description ?? "?")/\(key.prefix)"
            e.scope = Int(key.prefix)
            e.members = plan.ranking(set: b, client: key, health: health).map { member($0.member, rank: $0.rank) }
        } else {
            e.members = set.addresses.indices.map { member($0, rank: $0 + 1) }
        }
        return .success(e)
    }
}
