import DNSWire
import Foundation
import Health
import Transfer
import TransferService

#if canImport(Glibc)
    import Glibc
#endif

/// The runtime's side of a fleet (`fleet:`): which member this instance is, the probe targets the
/// exchange votes on, and the view the query path gets (the fleet's, or the prober's alone).
extension CarouselRuntime {
    /// The health view answers use now: the fleet's when one is configured, else the prober's.
    public func healthView() async -> HealthView {
        if let view = await fleet.view { return view }
        return await prober.view
    }

    /// Hands the exchange this run's fleet settings (with `self` resolved) and the target ids.
    func configureFleet(targets: [TargetKey: Int32]) async {
        var settings = config.fleet
        if var s = settings, s.selfID == nil {
            s.selfID = CarouselRuntime.localMember(s.members, listen: config.listen)?.id
            if s.selfID == nil {
                logger.error(
                    "fleet: no member's address is this machine's: set fleet.self, --fleet-self or CAROUSEL_FLEET_SELF; serving alone from own probes"
                )
            }
            settings = s
        }
        await transfers.primary.joinFleet(settings?.selfID != nil)
        await fleet.configure(settings, targets: targets, local: await prober.view)
        await fleet.setDrainMarks(await prober.drainLog)
    }

    /// The member whose address this instance listens on, or else the first whose address is one
    /// of this machine's (a socket binds to it).
    static func localMember(_ members: [FleetMember], listen: [HostPort]) -> FleetMember? {
        if let m = members.first(where: { listen.contains($0.address) }) { return m }
        return members.first { isLocal($0.address.host) }
    }

    static func isLocal(_ host: String) -> Bool {
        guard let ip = IPAddress(host) else { return false }
        if ip.bytes.count == 16 {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            withUnsafeMutableBytes(of: &a.sin6_addr) { $0.copyBytes(from: ip.bytes) }
            return binds(&a, family: AF_INET6)
        }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        withUnsafeMutableBytes(of: &a.sin_addr) { $0.copyBytes(from: ip.bytes) }
        return binds(&a, family: AF_INET)
    }

    /// True when a UDP socket binds to `address` (port 0): it is one of this machine's.
    static func binds<Address>(_ address: inout Address, family: Int32) -> Bool {
        let fd = socket(family, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<Address>.size)) == 0
            }
        }
    }
}
