import Foundation

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
