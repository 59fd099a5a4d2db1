import DNSWire
import Foundation
import NIOCore
import TransferService

/// Whether this instance is fit to serve, for what stands in front of several instances: a VRRP
/// `track_script` (keepalived), an anycast route's health check (BIRD), a load balancer. `GET
/// /ready` and `carousel status --ready` ask it.
extension CarouselRuntime {
    /// Why the instance is not ready; empty when it is: every zone file has a version that loaded
    /// (a broken edit of a served zone keeps the last good one, and stays ready), the listeners are
    /// bound, each answers a query over UDP within a second, and in a fleet, a peer is heard.
    public func notReady() async -> [String] {
        var reasons: [String] = []
        for (file, entry) in cache.entries.sorted(by: { $0.key < $1.key }) where entry.good == nil {
            let why = entry.errors.first.map { ": \($0.message)" } ?? ""
            reasons.append("zone file \(file) has no version that loads\(why)")
        }
        if cache.entries.isEmpty && pulledZones.isEmpty { reasons.append("no zone is served") }
        guard listeners != nil else { return reasons + ["not listening yet"] }
        if await fleet.isAlone {
            reasons.append("alone: no fleet peer heard within \(config.fleet?.staleAfter ?? .seconds(3))")
        }
        let origin = snapshot.catalog.zones.first?.origin ?? .root
        for address in config.listen {
            // A wildcard listener is asked on loopback.
            let host = address.host == "0.0.0.0" ? "127.0.0.1" : address.host == "::" ? "::1" : address.host
            let id = UInt16.random(in: 0...UInt16.max)
            var query = Message.query(id: id, origin, .soa)
            query.flags = 0
            do {
                let target = try SocketAddress.makeAddressResolvingHost(host, port: address.port)
                _ = try await DNSClient.udp(query.encode(), to: target, timeout: .seconds(1), group: server.group)
            } catch {
                reasons.append("no answer on \(address) over UDP within 1 s")
            }
        }
        return reasons
    }
}
