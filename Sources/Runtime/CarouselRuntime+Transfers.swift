import Balancer
import DNSZone
import TransferService

/// The runtime's side of zone transfers: the coordinator learns of every snapshot, NOTIFYs reach
/// the secondary loops, and a zone pulled from a primary triggers a rebuild like an edited file.
extension CarouselRuntime {
    /// Starts following health for `publish_health`, and pulls the secondary zones (waiting a
    /// few seconds for the first copies, so the first answers are not REFUSED).
    func startTransfers() async {
        let transfers = self.transfers
        server.transfers.notifyHandler.withLockedValue { $0 = { zone in transfers.notified(zone) } }
        Task { await transfers.followHealth() }
        await transfers.startSecondaries(
            TransferSetup(config), onChange: { await self.rebuild(force: true) }, initialWait: .seconds(5))
    }

    func transfersPublished(catalog: Catalog, plan: BalancePlan) async {
        await transfers.published(
            setup: TransferSetup(config), catalog: catalog, plan: plan, health: await prober.view, snapshot: snapshot)
        if started {
            await transfers.startSecondaries(
                TransferSetup(config), onChange: { await self.rebuild(force: true) }, initialWait: .zero)
        }
    }
}
