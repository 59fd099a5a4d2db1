import DNSWire
import Foundation
import Metrics
import Transfer

/// The primary in a fleet: the zones whose serial moves on their own (`publish_health`, signed
/// zones) are versioned by the master alone; a standby serves the copy it pulled from the master
/// (the same zone under the same serial from any member, as secondaries listing every member
/// expect), and, elected, continues the serials above anything the old master can have published.
extension PrimaryTransfers {
    /// True for the zones whose versions follow the fleet's master.
    func follows(_ t: PrimaryZone) -> Bool { t.publishHealth || signedOrigins.contains(t.zone) }

    /// Sets what tells the fleet the serials served.
    public func onServed(_ report: @escaping @Sendable ([DNSName: UInt32]) async -> Void) {
        onServed = report
    }

    /// A fleet is configured (or no longer is): until elected, this member builds no version of
    /// the zones that follow the master (one built alone could take a serial the master used).
    public func joinFleet(_ on: Bool) {
        if on, fleetRole == nil {
            fleetRole = .alone
        } else if !on, fleetRole != nil {
            setFleetRole(nil)
        }
    }

    /// This member's role in the fleet (nil: no fleet). Elected master, it builds new versions at
    /// once, each zone's first one above `floor` (the highest serial seen served by a peer; its own
    /// copy counts too) by `gap`.
    public func setFleetRole(_ role: FleetRole?, floor: [DNSName: UInt32] = [:], gap: UInt32 = 0) {
        guard role != fleetRole else { return }
        let was = fleetRole
        fleetRole = role
        if role == .master {
            takeoverGap = gap
            takeover = [:]
            for t in setup.primaries where follows(t) { takeover[t.zone] = floor[t.zone] }
            logger.notice(
                "fleet: master: publishing \(setup.primaries.filter(follows).map { "\($0.zone)" }.joined(separator: ", "))"
            )
            refreshJournals(healthOnly: false)
        } else if was == .master {
            logger.notice("fleet: no longer master: serving the master's copies")
            reportServed()
        } else if role == nil {
            refreshJournals(healthOnly: false)
        }
    }

    /// The SOA of the version served of a zone that follows the master (nil: none yet), while this
    /// member is not the master.
    public func copySOA(_ zone: DNSName) -> ResourceRecord? {
        guard fleetRole != .master, let t = setup.primaries.first(where: { $0.zone == zone }), follows(t) else {
            return nil
        }
        return journals[zone]?.current.soa
    }

    /// A transfer of `zone` pulled from the master, from `base` (the SOA held when it was asked
    /// for): the journal moves to it, with the diffs for IXFR, and secondaries are told. False when
    /// it no longer fits (this member became master, or its copy moved meanwhile).
    public func adopt(_ zone: DNSName, _ result: TransferCollector.Result, base: ResourceRecord?) -> Bool {
        guard fleetRole != .master, let t = setup.primaries.first(where: { $0.zone == zone }), follows(t),
            journals[zone]?.current.soa == base
        else { return false }
        var journal: ZoneJournal
        switch result {
        case .upToDate:
            return false
        case .full(let soa, let records):
            let version = ZoneVersion(origin: zone, soa: soa, records: records)
            if var j = journals[zone], Serial.greater(version.serial, j.current.serial) {
                j.advance(to: version)
                journal = j
            } else {
                journal = ZoneJournal(version)
            }
        case .incremental(let diffs):
            guard var j = journals[zone] else { return false }
            for d in diffs {
                guard SOA.serial(d.from.rdata) == j.current.serial,
                    Serial.greater(SOA.serial(d.to.rdata), j.current.serial)
                else { return false }
                var records = j.current.records
                let gone = Set(d.deleted)
                records.removeAll { gone.contains($0) }
                records += d.added
                j.advance(to: ZoneVersion(origin: zone, soa: d.to, records: records), diff: d)
            }
            journal = j
        }
        journals[zone] = journal
        let published = journals
        hub.update { $0.journals = published }
        Gauge(label: "carousel_zone_published_serial", dimensions: [("zone", "\(zone)")]).record(
            Int64(journal.current.serial))
        logger.info(
            "zone version copied from the fleet's master",
            metadata: ["zone": "\(zone)", "serial": "\(journal.current.serial)"])
        reportServed()
        // Secondaries hear of it from this member too (the master may be gone before its NOTIFY).
        let version = journal.current
        if let republish = onServedSerialChange {
            Task {
                await republish()
                self.notify(t, version)
            }
        } else {
            notify(t, version)
        }
        return true
    }

    /// Tells the fleet the serials served of the zones that follow the master.
    func reportServed() {
        guard fleetRole != nil, let onServed else { return }
        var serials: [DNSName: UInt32] = [:]
        for t in setup.primaries where follows(t) {
            if let j = journals[t.zone] { serials[t.zone] = j.current.serial }
        }
        Task { await onServed(serials) }
    }
}
