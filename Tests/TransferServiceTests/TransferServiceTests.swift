import Balancer
import DNSWire
import DNSZone
import Foundation
import Health
import Listeners
import Logging
import Responder
import Testing
import Transfer

@testable import TransferService

#if canImport(Glibc)
    import Glibc
#endif

/// The transfer services over real sockets on loopback: NOTIFY resent with a growing wait until a
/// secondary answers, and a secondary copy that stops being served when EXPIRE passes without a
/// word from its primary.
@Suite("TransferService: NOTIFY back-off, EXPIRE", .serialized)
struct TransferServiceTests {
    static func soa(_ origin: String, serial: UInt32, refresh: UInt32 = 3600, retry: UInt32 = 1, expire: UInt32)
        -> ResourceRecord
    {
        var rdata = (try! DNSName("ns1." + origin)).wire + (try! DNSName("hostmaster." + origin)).wire
        for v in [serial, refresh, retry, expire, 60] {
            rdata += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
        }
        return ResourceRecord(name: try! DNSName(origin), type: .soa, ttl: 300, rdata: rdata)
    }

    static var logger: Logger {
        var logger = Logger(label: "transfer-service-tests")
        logger.logLevel = .critical
        return logger
    }

    static func server() -> DNSServer {
        DNSServer(threads: 1, snapshot: Snapshot(catalog: .empty, options: ResponderOptions()), logger: logger)
    }

    /// A UDP socket on 127.0.0.1 that notes when each datagram came and answers the `answer`-th
    /// one (1-based) as a secondary answers a NOTIFY: the message back with QR set.
    final class NotifySink: @unchecked Sendable {
        let fd: Int32
        let port: UInt16
        private(set) var arrivals: [ContinuousClock.Instant] = []
        private let lock = NSLock()

        init() throws {
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard fd >= 0, bound == 0 else {
                close(fd)
                throw POSIXError(.EADDRINUSE)
            }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            self.fd = fd
            port = UInt16(bigEndian: address.sin_port)
        }

        deinit { close(fd) }

        var count: Int { lock.withLock { arrivals.count } }
        var times: [ContinuousClock.Instant] { lock.withLock { arrivals } }

        /// Reads datagrams for `seconds`, answering the `answer`-th.
        func serve(for seconds: Double, answer: Int) {
            let end = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
            var buffer = [UInt8](repeating: 0, count: 4096)
            while ContinuousClock.now < end {
                var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&pfd, 1, 50) > 0 else { continue }
                var from = sockaddr_storage()
                var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let n = withUnsafeMutablePointer(to: &from) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(fd, &buffer, buffer.count, 0, $0, &length)
                    }
                }
                guard n >= 12 else { continue }
                let seen = lock.withLock {
                    arrivals.append(.now)
                    return arrivals.count
                }
                if seen == answer {
                    var reply = Array(buffer[0..<n])
                    reply[2] |= 0x80
                    _ = withUnsafePointer(to: &from) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            sendto(fd, reply, reply.count, 0, $0, length)
                        }
                    }
                }
            }
        }
    }

    @Test("NOTIFY is resent after 0.5 s, then 1 s, until the secondary answers; then it stops, and the status says so")
    func notifyBackoff() async throws {
        let server = Self.server()
        let sink = try NotifySink()
        let origin = try DNSName("example.test.")
        let zone = PrimaryZone(zone: origin, notify: [HostPort(host: "127.0.0.1", port: Int(sink.port))])
        let primary = PrimaryTransfers(hub: server.transfers, group: server.group, logger: Self.logger)
        // Told of the zone, with nothing served yet (no version of its own to announce).
        let empty = Snapshot(catalog: .empty, options: ResponderOptions())
        await primary.published(
            setup: TransferSetup(primaries: [zone]), catalog: .empty, plan: .empty, health: .empty, snapshot: empty)
        let version = ZoneVersion(
            origin: origin, soa: Self.soa("example.test.", serial: 5, expire: 1_209_600), records: [])
        // The sink blocks in poll: a thread of its own, never one of the cooperative pool's.
        let listening = Thread { sink.serve(for: 5, answer: 3) }
        listening.start()
        await primary.notify(zone, version)
        try await Task.sleep(for: .milliseconds(5300))
        let times = sink.times
        #expect(times.count == 3, "three NOTIFYs, the third answered, none after: \(times.count)")
        if times.count >= 3 {
            let gaps = zip(times, times.dropFirst()).map { ($1 - $0) / .seconds(1) }
            // The waits are the attempts' timeouts (0.5 s, then 1 s): never shorter, on any machine.
            #expect(gaps[0] >= 0.45 && gaps[1] >= 0.95 && gaps[1] > gaps[0], "gaps \(gaps)")
        }
        let told = await primary.status().first?.notify.first
        #expect(told?.serial == 5 && told?.result == "answered NOERROR", "\(String(describing: told))")
        try? await server.shutdown()
    }

    @Test("a stored copy is served until EXPIRE passes without an answer from the primary, then SERVFAIL's reason")
    func expire() async throws {
        let server = Self.server()
        let dir = FileManager.default.temporaryDirectory.path + "/carousel-expire-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A copy with EXPIRE 4 s, last confirmed 1 s ago; its primary is a closed port.
        let file = dir + "/pulled.test.zone"
        try """
        $ORIGIN pulled.test.
        @ 300 IN SOA ns1 hostmaster 1 3600 1 4 60
        @ 300 IN NS ns1
        ns1 300 IN A 192.0.2.53

        """.write(toFile: file, atomically: true, encoding: .utf8)
        var times = [timespec(tv_sec: time(nil) - 1, tv_nsec: 0), timespec(tv_sec: time(nil) - 1, tv_nsec: 0)]
        _ = utimensat(AT_FDCWD, file, &times, 0)
        let closed = try NotifySink()  // bound, never read: the SOA queries go unanswered
        let zone = try DNSName("pulled.test.")
        let secondary = SecondaryTransfers(hub: server.transfers, group: server.group, logger: Self.logger)
        let setup = TransferSetup(
            secondaries: [
                SecondaryZone(zone: zone, primary: HostPort(host: "127.0.0.1", port: Int(closed.port)), file: file)
            ])
        await secondary.startSecondaries(setup, onChange: {}, initialWait: .zero)
        #expect(await secondary.secondaryZones().map(\.origin) == [zone], "the stored copy is served")
        let started = ContinuousClock.now
        var reason: String?
        while ContinuousClock.now - started < .seconds(20) {
            if await secondary.secondaryZones().isEmpty {
                reason = await secondary.unavailableSecondaries().first.map {
                    String(decoding: $0.reason, as: UTF8.self)
                }
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let after = (ContinuousClock.now - started) / .seconds(1)
        #expect(
            reason?.hasPrefix("zone expired: no answer from 127.0.0.1:\(closed.port) within the SOA's EXPIRE") == true,
            "\(String(describing: reason))")
        #expect(after >= 2.5, "not before EXPIRE (3 s left): \(after) s")
        let status = await secondary.status().first
        #expect(status?.error != nil && status?.serial == nil, "\(String(describing: status))")
        await secondary.startSecondaries(TransferSetup(), onChange: {}, initialWait: .zero)
        try? await server.shutdown()
    }
}
