import DNSZone
import Health
import Listeners
import Logging
import NIOCore

/// Zone transfers both ways, as two services that share the listeners' transfer lane: the
/// primary (journals, NOTIFY, `publish_health`) and the secondary (pulling, storing, EXPIRE). The
/// runtime holds this pair; each is an actor of its own, so neither waits on the other.
public final class TransferCoordinator: Sendable {
    public let primary: PrimaryTransfers
    public let secondary: SecondaryTransfers

    public init(hub: TransferHub, group: EventLoopGroup, logger: Logger) {
        primary = PrimaryTransfers(hub: hub, group: group, logger: logger)
        secondary = SecondaryTransfers(hub: hub, group: group, logger: logger)
    }

    /// The transfer part of `/status`; nil when neither `transfers:` nor `secondaries:` is set.
    public func status() async -> TransferStatus? {
        let (primary, secondary) = (await primary.status(), await secondary.status())
        if primary.isEmpty && secondary.isEmpty { return nil }
        return TransferStatus(primary: primary, secondary: secondary)
    }
}
