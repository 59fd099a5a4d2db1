import DNSWire
import Foundation
import Transfer

/// Zone transfers in `/status`: what each secondary was last told and what each zone pulled from
/// a primary holds, so "is my secondary in sync?" needs no log reading. The field names are part
/// of `/status`'s contract.
public struct TransferStatus: Codable, Sendable {
    public var primary: [PrimaryZone]
    public var secondary: [SecondaryZone]

    /// A zone in `transfers:`, served to secondaries.
    public struct PrimaryZone: Codable, Sendable {
        public var zone: String
        /// The serial AXFR and IXFR give now (with `publish_health`, the published one).
        public var serial: UInt32?
        /// Older versions kept for IXFR.
        public var versions: Int
        public var publishHealth: Bool
        public var allow: [String]
        public var tsig: String?
        public var notify: [NotifyTarget]
    }

    public struct NotifyTarget: Codable, Sendable {
        public var address: String
        /// The serial of the last NOTIFY sent there.
        public var serial: UInt32?
        /// `sending`, `answered NOERROR` (or another rcode), or `unanswered` after every retry.
        public var result: String?
        public var at: Date?
    }

    /// A zone in `secondaries:`, pulled from a primary.
    public struct SecondaryZone: Codable, Sendable {
        public var zone: String
        public var primary: String
        /// The copy served; nil before the first transfer or after EXPIRE.
        public var serial: UInt32?
        public var records: Int?
        public var lastTransfer: Date?
        /// AXFR or IXFR.
        public var lastTransferType: String?
        /// The last SOA check or transfer attempt, and its error if it failed.
        public var lastCheck: Date?
        public var error: String?
        /// When the copy stops being served unless the primary answers before.
        public var expiresAt: Date?
        /// Where the copy is stored (`file:`), and why it could not be read or written.
        public var file: String?
        public var fileError: String?
    }
}

/// What the coordinator remembers of one secondary zone's refreshes, for `/status`.
struct SecondaryProgress: Sendable {
    var lastTransfer: Date?
    var lastTransferType: String?
    var lastCheck: Date?
    var error: String?
}

extension TransferCoordinator {
    func recordNotify(_ zone: DNSName, _ target: String, serial: UInt32, result: String) {
        notifyResults[zone, default: [:]][target] = TransferStatus.NotifyTarget(
            address: target, serial: serial, result: result, at: Date())
    }

    func recordRefresh(_ zone: DNSName, error: String?, transferred type: String? = nil) {
        var p = secondaryProgress[zone] ?? SecondaryProgress()
        p.lastCheck = Date()
        p.error = error
        if let type {
            p.lastTransfer = p.lastCheck
            p.lastTransferType = type
        }
        secondaryProgress[zone] = p
    }

    /// The transfer part of `/status`; nil when neither `transfers:` nor `secondaries:` is set.
    public func status() -> TransferStatus? {
        if setup.primaries.isEmpty && setup.secondaries.isEmpty { return nil }
        let primary = setup.primaries.map { t -> TransferStatus.PrimaryZone in
            let journal = journals[t.zone]
            let told = notifyResults[t.zone] ?? [:]
            return TransferStatus.PrimaryZone(
                zone: t.zone.description, serial: journal?.current.serial, versions: journal?.diffs.count ?? 0,
                publishHealth: t.publishHealth, allow: t.allow.map(\.description),
                tsig: t.key.map { TransferCoordinator.keyName($0) },
                notify: t.notify.map { told["\($0)"] ?? TransferStatus.NotifyTarget(address: "\($0)") })
        }
        let now = ContinuousClock.now
        let secondary = setup.secondaries.map { s -> TransferStatus.SecondaryZone in
            let copy = secondaryCopies[s.zone]
            let progress = secondaryProgress[s.zone]
            let expiresAt = copy.map { c -> Date in
                let left = Duration.seconds(Int64(SOA.expire(c.soa.rdata))) - (now - c.confirmed)
                return Date().addingTimeInterval(Double(left.components.seconds))
            }
            return TransferStatus.SecondaryZone(
                zone: s.zone.description, primary: "\(s.primary)", serial: copy.map { SOA.serial($0.soa.rdata) },
                records: copy?.zone.recordCount, lastTransfer: progress?.lastTransfer,
                lastTransferType: progress?.lastTransferType, lastCheck: progress?.lastCheck, error: progress?.error,
                expiresAt: expiresAt, file: s.file, fileError: storeErrors[s.zone])
        }
        return TransferStatus(primary: primary, secondary: secondary)
    }
}
