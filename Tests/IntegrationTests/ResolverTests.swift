// A real resolver in front of Carousel: Unbound with a `stub-zone` for example.net pointing at
// Carousel on a loopback port. What clients of the resolver see must follow the backends' health
// within the pool's TTL cap.

import Foundation
import Testing

@Suite("Unbound in front of Carousel")
struct ResolverTests {
    /// Backends on 127.0.50.x (the operating tests' own /24s, below the .11+ that `BackendNet`
    /// hands out).
    static let addresses = ["127.0.50.1", "127.0.50.2", "127.0.50.3"]
    static let ttl = 4

    @Test("through Unbound: Carousel's answer with TTL ≤ the pool cap; a killed backend is gone once the TTL passed")
    func stubZoneFailover() async throws {
        let backends = try await Backends(addresses: Self.addresses)
        defer { backends.stop() }
        let zone = balancedZone("example.net.", addresses: Self.addresses)
        let config = wwwPool("example.net.", ttl: Self.ttl, port: backends.port)
        try await withConfiguredCarousel(zones: ["example.net.zone": zone], config: config) { carousel in
            let all = Set(Self.addresses)
            _ = try await Poll.dig(carousel.endpoint, ["www.example.net", "A"], limit: 20) { Set($0.addresses) == all }
            try await withUnbound(zone: "example.net.", authority: carousel.endpoint) { unbound in
                let first = try await Dig.query(unbound.endpoint, "www.example.net", "A")
                #expect(first.status == "NOERROR", "\(first)\n\(unbound.log)")
                #expect(first.ra && !first.aa, "a resolver's answer: RA set, AA clear\n\(first)")
                #expect(Set(first.addresses) == all, "Carousel's three addresses\n\(first)\n\(carousel.log)")
                #expect(
                    !first.answer.isEmpty && first.answer.allSatisfy { $0.ttl <= Self.ttl },
                    "zone TTL 60, pool cap \(Self.ttl)\n\(first)")

                let victim = Self.addresses[1]
                try await backends.kill(victim)
                let killed = ContinuousClock.now
                let drop = try await Poll.dig(carousel.endpoint, ["www.example.net", "A"], since: killed, limit: 20) {
                    !$0.addresses.contains(victim)
                }
                report("carousel dropped \(victim) \(secs(drop.seconds)) after SIGKILL")
                // Whatever Unbound cached before that moment lives at most the TTL it was given.
                try await Task.sleep(for: .seconds(Self.ttl + 1))
                let after = try await Dig.query(unbound.endpoint, "www.example.net", "A")
                #expect(after.status == "NOERROR", "\(after)\n\(unbound.log)")
                #expect(
                    Set(after.addresses) == all.subtracting([victim]),
                    "\(Self.ttl + 1) s after Carousel dropped \(victim), Unbound no longer hands it out\n\(after)")
                #expect(after.answer.allSatisfy { $0.ttl <= Self.ttl }, "\(after)")
                let repeated = try await Dig.query(unbound.endpoint, "www.example.net", "A")
                #expect(!repeated.addresses.contains(victim), "nor from its cache\n\(repeated)")
            }
        }
    }
}
