import Balancer
import DNSZone
import TransferService

/// The runtime's side of zone transfers: the primary learns of every snapshot, NOTIFYs reach the
/// secondary's loops, and a zone pulled from a primary (or a serial bumped by `publish_health`)
/// triggers a rebuild like an edited file.
extension CarouselRuntime {
    /// Starts following health for `publish_health`, and pulls the secondary zones (waiting a
    /// few seconds for the first copies, so the first answers are not SERVFAIL).
    func startTransfers() async {
        let secondary = transfers.secondary
        server.transfers.notifyHandler.withLockedValue { $0 = { zone in secondary.notified(zone) } }
        let fleet = self.fleet
        server.transfers.fleetNotifyHandler.withLockedValue { $0 = { zone in fleet.notified(zone) } }
        Task { await fleet.follow() }
        let primary = transfers.primary
        await primary.onServedSerialChange { await self.rebuild(force: true) }
        await fleet.attach(primary: primary)
        await primary.onServed { serials in await fleet.served(serials) }
        await fleet.onDrains { marks in await self.applyFleetDrains(marks) }
        Task { await primary.followHealth() }
        await secondary.startSecondaries(
            TransferSetup(config), onChange: { await self.rebuild(force: true) }, initialWait: .seconds(5))
    }

    func transfersPublished(catalog: Catalog, plan: BalancePlan) async {
        await transfers.primary.published(
            setup: TransferSetup(config), catalog: catalog, plan: plan, health: await healthView(), snapshot: snapshot)
        if started {
            await transfers.secondary.startSecondaries(
                TransferSetup(config), onChange: { await self.rebuild(force: true) }, initialWait: .zero)
        }
    }
}
