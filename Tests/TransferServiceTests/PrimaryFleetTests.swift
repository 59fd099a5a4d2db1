import DNSWire
import DNSZone
import Foundation
import Responder
import Testing
import Transfer

@testable import TransferService

/// The primary in a fleet: a member that is not master builds no version of a `publish_health`
/// zone and serves the master's copy; elected, it continues above the highest serial seen served
/// by the takeover gap; deposed, it serves copies again.
@Suite("TransferService: publish_health zones follow the fleet's master")
struct PrimaryFleetTests {
    let origin = try! DNSName("example.test.")

    func record(_ owner: String, _ a: [UInt8]) -> ResourceRecord {
        ResourceRecord(name: try! DNSName(owner), type: .a, ttl: 60, rdata: a)
    }

    func soa(_ serial: UInt32) -> ResourceRecord {
        TransferServiceTests.soa("example.test.", serial: serial, expire: 600)
    }

    /// A primary told of a zone (file serial 7, one A record) transferred with `publish_health`.
    func primary() async throws -> PrimaryTransfers {
        let server = TransferServiceTests.server()
        let primary = PrimaryTransfers(hub: server.transfers, group: server.group, logger: TransferServiceTests.logger)
        await primary.joinFleet(true)
        let zone = try Zone.build(
            origin: origin, file: "example.test.zone", records: [soa(7), record("www.example.test.", [192, 0, 2, 1])])
        let catalog = Catalog(zones: [zone])
        await primary.published(
            setup: TransferSetup(primaries: [PrimaryZone(zone: origin, publishHealth: true)]), catalog: catalog,
            plan: .empty, health: .empty, snapshot: Snapshot(catalog: catalog, options: ResponderOptions()))
        return primary
    }

    @Test func standbyServesCopiesAndAMasterContinuesAboveThem() async throws {
        let p = try await primary()
        // Not elected: no version of its own.
        #expect(await p.publishedSerial(origin) == nil)
        #expect(await p.copySOA(origin) == nil)
        // The master's version 100, then its diff to 101.
        let v100 = [record("www.example.test.", [192, 0, 2, 9])]
        #expect(await p.adopt(origin, .full(soa: soa(100), records: v100), base: nil))
        #expect(await p.publishedSerial(origin) == 100)
        let diff = ZoneDiff(
            from: soa(100), to: soa(101), deleted: v100, added: [record("www.example.test.", [192, 0, 2, 10])])
        #expect(await p.adopt(origin, .incremental([diff]), base: soa(100)))
        #expect(await p.publishedSerial(origin) == 101)
        let journal = try #require(await p.journals[origin])
        #expect(journal.current.records == [record("www.example.test.", [192, 0, 2, 10])])
        #expect(journal.answer(clientSerial: 100) == .incremental([diff]))
        // A copy asked for from another base (the copy moved meanwhile) is not taken.
        #expect(!(await p.adopt(origin, .full(soa: soa(102), records: v100), base: soa(100))))
        // A rebuild while standby keeps the copy.
        await p.refreshJournals(healthOnly: false)
        #expect(await p.publishedSerial(origin) == 101)

        // Elected: above the highest serial seen served (a peer's 105) by the gap, with its own
        // content (the file's record).
        await p.setFleetRole(.master, floor: [origin: 105], gap: 8)
        #expect(await p.publishedSerial(origin) == 113)
        let own = try #require(await p.journals[origin])
        #expect(own.current.records == [record("www.example.test.", [192, 0, 2, 1])])
        #expect(await p.copySOA(origin) == nil)
        #expect(!(await p.adopt(origin, .full(soa: soa(200), records: v100), base: own.current.soa)))

        // Deposed: the next master's copy replaces it (AXFR, since 113 is not in its journal).
        await p.setFleetRole(.standby)
        #expect(await p.adopt(origin, .full(soa: soa(125), records: v100), base: own.current.soa))
        #expect(await p.publishedSerial(origin) == 125)
    }

    @Test func aMasterWithoutACopyStartsAboveWhatPeersServe() async throws {
        let p = try await primary()
        // A peer serves a serial above the seconds since the epoch (which a new zone starts at).
        let floor = UInt32(Date().timeIntervalSince1970) + 1000
        await p.setFleetRole(.master, floor: [origin: floor], gap: 8)
        #expect(await p.publishedSerial(origin) == floor + 8)
        // Without a fleet, the zone is its own again: the serial only moves on.
        await p.joinFleet(false)
        let serial = try #require(await p.publishedSerial(origin))
        #expect(serial >= floor + 8)
    }
}
