import DNSWire
import Foundation
import Health
import Listeners
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Transfer

/// What a fleet member says of itself: the `fleet` object of `/status`, and `/metrics`.
extension FleetExchange {
    /// The `fleet` object of `/status`.
    public func status() -> FleetStatus? {
        guard let settings, let me else { return nil }
        let now = ContinuousClock.now
        let role = outcome?.role ?? (alone ? .alone : .standby)
        var members = [
            FleetStatus.Member(
                id: me.id, address: "\(me.address)", fresh: true, lastHeard: Date(), serial: journal?.current.serial,
                error: nil, role: role.rawValue, vote: election?.vote, servedSerials: servedText(servedSerials))
        ]
        for m in settings.members where m.id != me.id {
            let p = peers[m.id]
            let fresh = p?.lastHeard.map { now - $0 < settings.staleAfter } ?? false
            members.append(
                FleetStatus.Member(
                    id: m.id, address: "\(m.address)", fresh: fresh, lastHeard: p?.lastHeardDate,
                    serial: p?.soa.map { SOA.serial($0.rdata) }, error: p?.error,
                    role: fresh ? (outcome?.master == m.id ? "master" : "standby") : "silent",
                    vote: p?.observed.vote, servedSerials: servedText(p?.observed.serials ?? [:])))
        }
        var votes: [String: FleetStatus.TargetVotes] = [:]
        var byTarget: [Int32: FleetStatus.TargetVotes] = [:]
        for (id, key) in targets {
            guard let v = lastTally[id] else { continue }
            byTarget[id] = FleetStatus.TargetVotes(
                observers: lastObservers[id].map { $0.sorted() } ?? ([me.id] + peers.keys.sorted()),
                verdicts: v.verdicts.mapValues(\.description), down: v.down, voters: v.voters,
                needed: v.voters > 0 ? settings.quorum.threshold(voters: v.voters) : 0,
                state: alone ? local.state(id).description : v.state(settings.quorum).description)
            votes[key.description] = byTarget[id]
        }
        return FleetStatus(
            selfID: me.id, role: role.rawValue, master: outcome?.master, quorum: settings.quorum.description,
            staleAfter: Double(settings.staleAfter.components.seconds)
                + Double(settings.staleAfter.components.attoseconds) / 1e18,
            members: members, targets: votes, byTarget: byTarget)
    }

    /// The fleet's series for `/metrics` (nil without a fleet).
    public func metrics() -> FleetMetrics? {
        guard settings != nil else { return nil }
        return FleetMetrics(
            alone: alone, master: outcome?.role == .master, fresh: freshCount, exchangesOK: exchangesOK,
            exchangesFailed: exchangesFailed)
    }

    func servedText(_ serials: [DNSName: UInt32]) -> [String: UInt32]? {
        serials.isEmpty ? nil : Dictionary(uniqueKeysWithValues: serials.map { ("\($0.key)", $0.value) })
    }

    /// True while no peer is fresh (for `/ready`).
    public var isAlone: Bool { settings != nil && alone }
}

/// The `fleet` object of `/status` (a contract, like the rest of it).
public struct FleetStatus: Sendable, Codable, Equatable {
    public struct Member: Sendable, Codable, Equatable {
        public var id: String
        public var address: String
        public var fresh: Bool
        public var lastHeard: Date?
        /// The serial of its observation zone (this instance's own for `self`, else the last pulled).
        public var serial: UInt32?
        public var error: String?
        /// `master`, `standby` or `alone` (this member's, as it stands); for a peer, `master` or
        /// `standby` as this member counts the votes, `silent` when not heard within `stale_after`.
        public var role: String
        /// The member it votes for as master (none while its vote's lease runs out).
        public var vote: String?
        /// The serial it serves of each `publish_health` zone (the master's versions, or its copy).
        public var servedSerials: [String: UInt32]?
    }

    public struct TargetVotes: Sendable, Codable, Equatable {
        /// The members that probe it (all of them without `observers_per_target`; among the live
        /// ones, else).
        public var observers: [String]
        /// Member id → `up` or `down`.
        public var verdicts: [String: String]
        public var down: Int
        public var voters: Int
        /// Down votes that take the target out, of those voters.
        public var needed: Int
        /// What the fleet (or, alone, this instance) makes of it.
        public var state: String
    }

    public var selfID: String
    /// `master` (it publishes the `publish_health` zones' versions), `standby` (it serves the
    /// master's), or `alone` while no peer is fresh.
    public var role: String
    /// The member a majority votes for, as this one counts (nil: none).
    public var master: String?
    public var quorum: String
    public var staleAfter: Double
    public var members: [Member]
    /// By target (`address fingerprint`).
    public var targets: [String: TargetVotes]
    /// The same by probe target id (for the members of `/status`), not encoded.
    public var byTarget: [Int32: TargetVotes] = [:]

    enum CodingKeys: String, CodingKey {
        case selfID = "self"
        case role, master, quorum, members, targets, staleAfter
    }
}

extension FleetStatus.TargetVotes {
    /// `1/3 down, 2 take it out: m1 down, m2 up, m3 up` (the page, `carousel explain`).
    public var summary: String {
        let each = verdicts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return "\(down)/\(voters) down, \(needed) take\(needed == 1 ? "s" : "") it out"
            + (each.isEmpty ? "" : ": \(each)")
    }
}

/// What `/metrics` shows of a fleet.
public struct FleetMetrics: Sendable {
    public var alone: Bool
    public var master: Bool
    /// Members heard within `stale_after`, this one included.
    public var fresh: Int
    public var exchangesOK: Int
    public var exchangesFailed: Int
}
