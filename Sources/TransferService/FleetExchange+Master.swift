import DNSWire
import Foundation
import Logging
import NIOCore
import Transfer

/// The master and its standbys for `publish_health`: the election runs with every recompute (a
/// vote is a record of this member's zone), the role goes to the primary, and a standby pulls
/// what the master publishes, zone by zone, signed with the fleet's key.
extension FleetExchange {
    /// The primary whose `publish_health` zones follow the master.
    public func attach(primary: PrimaryTransfers) {
        self.primary = primary
    }

    /// The serials this member serves of `publish_health` zones (from the primary, at each new
    /// version or copy): they go into its zone, for its peers.
    public func served(_ serials: [DNSName: UInt32]) {
        guard serials != servedSerials else { return }
        servedSerials = serials
        observe()
    }

    /// The records of this member's zone besides the verdicts, by what they say.
    func wantedExtras(_ id: String) -> [String: ResourceRecord] {
        var out: [String: ResourceRecord] = [:]
        if let vote = election?.vote, let r = ObservationZone.voteRecord(of: id, for: vote) { out["vote"] = r }
        for (key, mark) in drainMarks {
            if let r = ObservationZone.drainRecord(of: id, key: key, mark: mark) { out["drain \(key)"] = r }
        }
        for (zone, serial) in servedSerials {
            if let r = ObservationZone.serialRecord(of: id, zone: zone, serial: serial) { out["serial \(zone)"] = r }
        }
        return out
    }

    /// One step of the election; a new vote is a new version of this member's zone, a new role
    /// goes to the primary.
    func elect(now: ContinuousClock.Instant) {
        guard let settings, let me, var election else { return }
        let before = election.vote
        let known = peers.mapValues { p in
            FleetElection.Peer(
                lastHeard: p.lastHeard, upToDate: p.soa != nil && p.soa.map { SOA.serial($0.rdata) } == p.heardSerial,
                vote: p.observed.vote)
        }
        let next = election.step(me: me.id, members: settings.members.map(\.id), peers: known, now: now)
        self.election = election
        if election.vote != before { observe() }
        let previous = outcome
        outcome = next
        guard next.role != previous?.role || next.master != previous?.master else { return }
        switch next.role {
        case .master:
            logger.notice(
                "fleet: master: \(next.votes[me.id] ?? 0) of \(settings.members.count) members vote for \(me.id)")
        case .standby:
            logger.notice("fleet: standby; master: \(next.master ?? "none yet")")
        case .alone:
            break  // recompute says it
        }
        guard next.role != previous?.role, let primary else { return }
        // A new master continues above every serial it has seen served, by more than the old
        // master can have published unseen (one version a second at most, until it stepped down).
        var floor: [DNSName: UInt32] = [:]
        for p in peers.values where p.lastHeard.map({ now - $0 < settings.staleAfter }) ?? false {
            for (zone, serial) in p.observed.serials where floor[zone].map({ Serial.greater(serial, $0) }) ?? true {
                floor[zone] = serial
            }
        }
        let gap = UInt32(settings.staleAfter.components.seconds) + 5
        let role = next.role
        Task { await primary.setFleetRole(role, floor: floor, gap: gap) }
    }

    /// After a peer's zone was pulled: when that peer is the master and serves a zone at a serial
    /// this member does not have, pull it (IXFR from the copy held, AXFR without one).
    func followMaster(_ id: String, _ address: SocketAddress) async {
        guard let settings, let me, let primary, outcome?.master == id, outcome?.role != .master,
            let serials = peers[id]?.observed.serials
        else { return }
        for (zone, serial) in serials.sorted(by: { $0.key.description < $1.key.description }) {
            guard !copying.contains(zone) else { continue }
            let ours = await primary.copySOA(zone)
            if let ours, !Serial.greater(serial, SOA.serial(ours.rdata)) { continue }
            copying.insert(zone)
            defer { copying.remove(zone) }
            do {
                let result = try await transfer(zone, have: ours, address, settings.key, from: me.address.host)
                if case .upToDate = result { continue }
                let adopted = await primary.adopt(zone, result, base: ours)
                logger.debug("fleet: \(zone) from \(id) at \(serial): \(adopted ? "copied" : "not taken")")
            } catch {
                logger.warning("fleet: copy of \(zone) from \(id): \(error)")
            }
        }
    }

    /// A signed IXFR (AXFR without `have`) of `zone` from a member.
    func transfer(
        _ zone: DNSName, have: ResourceRecord?, _ address: SocketAddress, _ key: TSIGKey, from: String
    ) async throws -> TransferCollector.Result {
        var q = Message.query(id: UInt16.random(in: 0...UInt16.max), zone, have == nil ? .axfr : .ixfr, flags: 0)
        if let have { q.authority = [have] }
        let (bytes, mac) = TSIG.sign(q.encode(), key: key)
        var collector = TransferCollector(ixfr: have != nil, ourSerial: have.map { SOA.serial($0.rdata) })
        collector.maxRecords = 10_000_000
        let box = StreamBox(TransferStream(collector: collector, key: key, requestMAC: mac))
        try await DNSClient.tcp(bytes, to: address, from: from, timeout: .seconds(10), group: group) { message in
            try box.stream.take(message)
        }
        guard let result = box.stream.collector.result else {
            throw TransferFailure(description: "transfer ended early")
        }
        return result
    }
}
