import DNSWire
import DNSZone
import Health
import Responder
import Testing

@testable import Transfer

/// What the master and its standbys exchange besides verdicts: the vote and the served serials in
/// the observation zone, read back whole and through diffs; and the transfer lane giving a
/// `publish_health` zone to a member signed with the fleet's key, whatever the zone's own `allow`.
@Suite struct FleetMasterLaneTests {
    let key = TSIGKey(
        name: try! DNSName("fleet."), algorithm: .hmacSHA256, secret: Array("fleet-secret-0123456789abcdefghi".utf8))
    let web = TargetKey(address: "192.0.2.10", check: Check(kind: .tcp, port: 80))
    let origin = try! DNSName("example.test.")

    @Test func voteAndServedSerialsReadBack() throws {
        let zone = try DNSName("example.com.")
        let vote = try #require(ObservationZone.voteRecord(of: "ns1", for: "ns2"))
        let serial = try #require(ObservationZone.serialRecord(of: "ns1", zone: zone, serial: 1_765_000_123))
        let base = ObservationZone.version(of: "ns1", serial: 3, verdicts: [(web, .up)])
        var read = Observations(records: base.records + [vote, serial])
        #expect(read.vote == "ns2" && read.serials == [zone: 1_765_000_123] && read.verdicts == [web.description: .up])
        #expect(vote.name.isSubdomain(of: base.origin) && serial.name.isSubdomain(of: base.origin))
        // A new vote and serial by IXFR; then the vote withdrawn.
        let vote3 = try #require(ObservationZone.voteRecord(of: "ns1", for: "ns3"))
        let serial2 = try #require(ObservationZone.serialRecord(of: "ns1", zone: zone, serial: 1_765_000_124))
        #expect(serial2.name == serial.name)
        read.apply([ZoneDiff(from: base.soa, to: base.soa, deleted: [vote, serial], added: [vote3, serial2])])
        #expect(read.vote == "ns3" && read.serials == [zone: 1_765_000_124])
        read.apply([ZoneDiff(from: base.soa, to: base.soa, deleted: [vote3], added: [])])
        #expect(read.vote == nil && read.verdicts == [web.description: .up])
        // A drain mark, then a newer undrain of the same key.
        let drain = try #require(
            ObservationZone.drainRecord(
                of: "ns1", key: "www.example.com/192.0.2.10",
                mark: DrainMark(drained: true, at: 1_765_000_123_456, by: "ns2")))
        let undrain = try #require(
            ObservationZone.drainRecord(
                of: "ns1", key: "www.example.com/192.0.2.10",
                mark: DrainMark(drained: false, at: 1_765_000_999_000, by: "")))
        #expect(drain.name == undrain.name && drain.name.isSubdomain(of: base.origin))
        read.apply([ZoneDiff(from: base.soa, to: base.soa, deleted: [], added: [drain])])
        #expect(
            read.drains == ["www.example.com/192.0.2.10": DrainMark(drained: true, at: 1_765_000_123_456, by: "ns2")])
        read.apply([ZoneDiff(from: base.soa, to: base.soa, deleted: [drain], added: [undrain])])
        #expect(read.drains["www.example.com/192.0.2.10"] == DrainMark(drained: false, at: 1_765_000_999_000, by: ""))
        #expect(Observations(records: [undrain]).drains.count == 1)
        // The verdicts' reader passes the new records over.
        #expect(ObservationZone.verdicts(in: [vote, serial]) == [:])
    }

    /// A lane that is primary for example.test. (allowed to 10.0.0.0/8 only) in a fleet whose
    /// member is 127.0.0.2.
    var lane: TransferLane.State {
        var s = TransferLane.State()
        let soa = ResourceRecord(
            name: origin, type: .soa, ttl: 60,
            rdata: origin.wire + origin.wire + [0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1])
        let a = ResourceRecord(name: try! DNSName("www.example.test."), type: .a, ttl: 60, rdata: [192, 0, 2, 1])
        let zone = try! Zone.build(origin: origin, file: "example.test.zone", records: [soa, a])
        s.snapshot = Snapshot(catalog: Catalog(zones: [zone]), options: ResponderOptions())
        s.primaries = [origin: PrimaryZone(zone: origin, allow: [IPPrefix("10.0.0.0/8")!], publishHealth: true)]
        s.journals = [origin: ZoneJournal(ZoneVersion(zone: zone))]
        s.fleet = TransferLane.FleetLane(
            origin: FleetSettings.origin(of: "ns1"), key: key, allow: [IPPrefix("127.0.0.2")!],
            journal: ZoneJournal(ObservationZone.version(of: "ns1", serial: 7, verdicts: [])),
            peers: [FleetSettings.origin(of: "ns2")])
        return s
    }

    func axfr(signer: TSIGKey?, from source: [UInt8]) throws -> Message? {
        var bytes = Message.query(id: 7, origin, .axfr, flags: 0).encode()
        if let signer { bytes = TSIG.sign(bytes, key: signer, time: 1_800_000_000).message }
        let (replies, _) = TransferLane.answer(bytes, source: source, tcp: true, state: lane, now: 1_800_000_000)
        return try replies.first.map { try Message.decode($0) }
    }

    @Test func laneGivesAMemberSignedWithTheFleetsKeyTheZone() throws {
        let member = try #require(try axfr(signer: key, from: [127, 0, 0, 2]))
        #expect(member.rcode == 0 && member.answer.contains { $0.type == .a })
        // The zone's own allow: a member unsigned is refused; the fleet's key from elsewhere too.
        #expect(try axfr(signer: nil, from: [127, 0, 0, 2])?.rcode == RCode.refused.rawValue)
        #expect(try axfr(signer: key, from: [192, 0, 2, 1])?.rcode != 0)
        // A secondary the zone allows still gets it as before.
        #expect(try axfr(signer: nil, from: [10, 1, 2, 3])?.rcode == 0)
    }
}
