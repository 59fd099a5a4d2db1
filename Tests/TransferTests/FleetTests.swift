import DNSWire
import Health
import Testing

@testable import Transfer

/// The fleet's pure parts: the quorum, the observation zone's layout read back, the tally every
/// instance makes alike, and what the transfer lane answers of a fleet (signed, members only).
@Suite struct FleetTests {
    let key = TSIGKey(
        name: try! DNSName("fleet."), algorithm: .hmacSHA256, secret: Array("fleet-secret-0123456789abcdefghi".utf8))
    let web = TargetKey(address: "192.0.2.10", check: Check(kind: .http(HTTPProbe()), port: 80))
    let db = TargetKey(address: "2001:db8::5", check: Check(kind: .tcp, port: 5432))

    @Test func quorumThresholds() {
        #expect([1, 2, 3, 4, 5].map { Quorum.majority.threshold(voters: $0) } == [1, 2, 2, 3, 3])
        #expect([1, 2, 3].map { Quorum.count(2).threshold(voters: $0) } == [1, 2, 2])
        #expect([1, 2, 3, 6].map { Quorum.percent(34).threshold(voters: $0) } == [1, 1, 2, 3])
        #expect([1, 3].map { Quorum.percent(100).threshold(voters: $0) } == [1, 3])
    }

    @Test func observationZoneReadsBack() throws {
        let v = ObservationZone.version(of: "ns1", serial: 42, verdicts: [(web, .down), (db, .up), (web, .unknown)])
        #expect(v.origin == (try DNSName("ns1.fleet.invalid.")))
        #expect(v.serial == 42)
        let read = ObservationZone.verdicts(in: v.records)
        #expect(read == [web.description: .down, db.description: .up])
        // One name per target, under the member's zone; NS and the member's TXT at the apex.
        let owners = v.records.map(\.name)
        #expect(Set(owners).count == 3)
        #expect(v.records.contains { $0.type == .ns && $0.name == v.origin })
        #expect(owners.allSatisfy { $0.isSubdomain(of: v.origin) })
        // A fingerprint longer than one TXT string is cut into pieces and read back whole.
        let long = TargetKey(
            address: "192.0.2.11",
            check: Check(kind: .http(HTTPProbe(path: "/" + String(repeating: "x", count: 400))), port: 80))
        let lv = ObservationZone.version(of: "ns1", serial: 1, verdicts: [(long, .up)])
        #expect(ObservationZone.verdicts(in: lv.records) == [long.description: .up])
    }

    @Test func tallyTakesTheQuorumOfFreshVoters() {
        // Target 0 is web, 1 is db; this instance sees web down, db up.
        let local = HealthView(states: [HealthState.down.rawValue, HealthState.up.rawValue | HealthView.drainedBit])
        let targets: [Int32: String] = [0: web.description, 1: db.description]
        func view(_ peers: [String: [String: HealthState]], _ q: Quorum = .majority) -> [HealthState] {
            let v = FleetTally.view(local: local, selfID: "ns1", targets: targets, peers: peers, quorum: q)
            return [v.state(0), v.state(1)]
        }
        // One of three sees web down: up for the fleet. Two of three: down.
        #expect(view(["ns2": [web.description: .up], "ns3": [web.description: .up]]) == [.up, .up])
        #expect(view(["ns2": [web.description: .down], "ns3": [web.description: .up]]) == [.down, .up])
        // A peer without a verdict does not vote: one of two is not a majority of two.
        #expect(view(["ns2": [web.description: .up], "ns3": [:]]) == [.up, .up])
        #expect(view(["ns2": [web.description: .up]], .count(1)) == [.down, .up])
        // Drains stay as this instance has them.
        let v = FleetTally.view(local: local, selfID: "ns1", targets: targets, peers: [:], quorum: .majority)
        #expect(v.isDrained(1) && !v.isDrained(0))
        let votes = FleetTally.votes(
            local: local, id: 0, selfID: "ns1", target: web.description, peers: ["ns2": [web.description: .down]])
        #expect(votes.verdicts == ["ns1": .down, "ns2": .down] && votes.down == 2 && votes.voters == 2)
    }

    @Test func weightFactorsTravelWithVerdictsAndTheLowestCounts() throws {
        #expect(
            [0, 1, 24, 26, 74, 76, 333, 975, 1000].map { FleetTally.quantized($0) } == [
                0, 50, 50, 50, 50, 100, 350, 1000, 1000,
            ])
        let r = try #require(ObservationZone.record(of: "ns1", web, .up, factor: 350))
        #expect(ObservationZone.texts(r.rdata).first == "up w=350")
        let read = try #require(ObservationZone.verdict(in: r))
        #expect(read.state == .up && read.factor == 350 && read.target == web.description)
        let full = try #require(ObservationZone.record(of: "ns1", web, .up))
        #expect(ObservationZone.texts(full.rdata).first == "up")
        #expect(Observations(records: [r]).factors == [web.description: 350])
        #expect(Observations(records: [full]).factors.isEmpty)
        // The fleet's factor: the lowest of the up voters' (here ns1's own ramp at 0.6 and ns2's
        // report of 350); a down voter's does not count; without a factor anywhere, none is made.
        let local = HealthView(states: [HealthState.up.rawValue], factors: [600])
        let votes = FleetTally.votes(
            local: local, id: 0, selfID: "ns1", target: web.description,
            peers: ["ns2": [web.description: .up], "ns3": [web.description: .down]],
            factors: ["ns2": [web.description: 350], "ns3": [web.description: 100]])
        #expect(votes.factor == 350 && votes.factors == ["ns1": 600, "ns2": 350])
        let view = FleetTally.view(local: local, tally: [0: votes], quorum: .majority)
        #expect(view.state(0) == .up && view.factor(0) == 350)
        let plain = FleetTally.view(
            local: HealthView(states: [HealthState.up.rawValue]), tally: [0: FleetTally.Votes(verdicts: ["ns2": .up])],
            quorum: .majority)
        #expect(plain.factors.isEmpty)
    }

    @Test func rendezvousMovesOnlyASilentMembersTargets() {
        var settings = FleetSettings(
            members: ["a", "b", "c"].map { FleetMember(id: $0, address: HostPort(host: "10.0.0.1", port: 53)) },
            key: key,
            observersPerTarget: 2)
        let targets = (0..<300).map { "192.0.2.\($0 % 250) tcp:\(80 + $0 / 250)" }
        let all = targets.map { settings.observers(of: $0, live: ["a", "b", "c"]) }
        #expect(all.allSatisfy { $0.count == 2 })
        // Each member probes about two thirds of the targets.
        for m in ["a", "b", "c"] {
            let share = Double(all.filter { $0.contains(m) }.count) / Double(targets.count)
            #expect(share > 0.55 && share < 0.78, "\(m): \(share)")
        }
        // c goes silent: only its targets move (to a and b); the others keep their observers.
        let without = targets.map { settings.observers(of: $0, live: ["a", "b"]) }
        for i in targets.indices {
            if all[i].contains("c") { #expect(without[i] == ["a", "b"]) } else { #expect(without[i] == all[i]) }
        }
        // The order of the live list does not matter; without a limit, everyone observes.
        #expect(targets.map { settings.observers(of: $0, live: ["c", "a", "b"]) } == all)
        settings.observersPerTarget = nil
        #expect(settings.observers(of: targets[0], live: ["a", "b", "c"]) == ["a", "b", "c"])
        // Only the observers' verdicts count.
        let local = HealthView(states: [HealthState.down.rawValue])
        let votes = FleetTally.votes(
            local: local, id: 0, selfID: "a", target: web.description,
            peers: ["b": [web.description: .down], "c": [web.description: .up]],
            observers: ["b", "c"])
        #expect(votes.verdicts == ["b": .down, "c": .up])
    }

    var lane: TransferLane.State {
        var s = TransferLane.State()
        let journal = ZoneJournal(ObservationZone.version(of: "ns1", serial: 7, verdicts: [(web, .down)]))
        s.fleet = TransferLane.FleetLane(
            origin: FleetSettings.origin(of: "ns1"), key: key, allow: [IPPrefix("127.0.0.2")!], journal: journal,
            peers: [FleetSettings.origin(of: "ns2")])
        return s
    }

    func ask(
        _ type: RRType, zone: String = "ns1.fleet.invalid.", signer: TSIGKey?, from source: [UInt8] = [127, 0, 0, 2]
    )
        throws -> [Message]
    {
        var q = Message.query(id: 99, try DNSName(zone), type, flags: 0)
        if type == .ixfr { q.authority = [ObservationZone.version(of: "ns1", serial: 7, verdicts: []).soa] }
        var bytes = q.encode()
        if let signer { bytes = TSIG.sign(bytes, key: signer, time: 1_800_000_000).message }
        #expect(
            TransferLane.intercepts(bytes.withUnsafeBytes { $0 }, acceptNotify: true)
                == (signer != nil || type == .axfr || type == .ixfr))
        let (replies, _) = TransferLane.answer(bytes, source: source, tcp: true, state: lane, now: 1_800_000_000)
        return try replies.map { try Message.decode($0) }
    }

    @Test func laneServesTheObservationZoneToSignedMembersOnly() throws {
        let soa = try ask(.soa, signer: key)
        #expect(soa.count == 1 && soa[0].rcode == 0 && soa[0].answer.first.map { SOA.serial($0.rdata) } == 7)
        let axfr = try ask(.axfr, signer: key)
        #expect(ObservationZone.verdicts(in: axfr.flatMap(\.answer)) == [web.description: .down])
        // Unsigned: refused; another key: NOTAUTH; from an address that is not a member's: refused.
        #expect(try ask(.axfr, signer: nil).first?.rcode == RCode.refused.rawValue)
        let other = TSIGKey(name: try DNSName("other."), algorithm: .hmacSHA256, secret: Array("x".utf8))
        #expect(try ask(.soa, signer: other).first?.rcode == RCode.notAuth.rawValue)
        #expect(try ask(.soa, signer: key, from: [192, 0, 2, 1]).first?.rcode == RCode.refused.rawValue)
        #expect(try ask(.axfr, signer: key, from: [192, 0, 2, 1]).first?.rcode == RCode.refused.rawValue)
    }

    @Test func laneTakesSignedNotifyFromPeers() throws {
        func notify(_ zone: String, _ signer: TSIGKey?) throws -> (UInt16, TransferLane.Event?) {
            var m = Message(id: 5, flags: UInt16(Opcode.notify) << 11 | Header.aaBit)
            m.question = [Question(name: try DNSName(zone), type: .soa)]
            var bytes = m.encode()
            if let signer { bytes = TSIG.sign(bytes, key: signer, time: 1_800_000_000).message }
            let (replies, event) = TransferLane.answer(
                bytes, source: [127, 0, 0, 2], tcp: false, state: lane, now: 1_800_000_000)
            return (try Message.decode(replies[0]).rcode, event)
        }
        let peer = try DNSName("ns2.fleet.invalid.")
        #expect(try notify("ns2.fleet.invalid.", key) == (0, .fleetNotified(peer)))
        #expect(try notify("ns2.fleet.invalid.", nil) == (RCode.refused.rawValue, .notifyRefused(peer)))
        #expect(try notify("ns9.fleet.invalid.", key).0 == RCode.refused.rawValue)
        #expect(lane.acceptsNotify)
    }
}
