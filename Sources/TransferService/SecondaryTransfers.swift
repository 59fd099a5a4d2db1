import Balancer
import DNSWire
import DNSZone
import Foundation
import Health
import Listeners
import Logging
import Metrics
import NIOCore
import Responder
import Transfer

/// The last good copy of a zone pulled from a primary.
struct SecondaryCopy: Sendable {
    var soa: ResourceRecord
    var records: [ResourceRecord]
    var zone: Zone
    /// When the primary last confirmed or sent this copy: the expire timer runs from here.
    var confirmed: ContinuousClock.Instant
}

/// What the secondary service remembers of one secondary zone's refreshes, for `/status`.
struct SecondaryProgress: Sendable {
    var lastTransfer: Date?
    var lastTransferType: String?
    var lastCheck: Date?
    var error: String?
}

/// Carousel as a secondary (RFC 1034 §4.3.5, RFC 1995, RFC 1996): AXFR at start, then an SOA
/// check every REFRESH seconds (RETRY after a failure, or at once on NOTIFY), IXFR when the
/// primary's serial is newer (AXFR when it cannot send diffs), and the last good copy served
/// until EXPIRE passes without a word from the primary.
public actor SecondaryTransfers {
    let hub: TransferHub
    let group: EventLoopGroup
    let logger: Logger
    var setup = TransferSetup()
    var secondaryCopies: [DNSName: SecondaryCopy] = [:]
    /// Zones whose copy passed EXPIRE (until a new one comes): answered SERVFAIL, saying so.
    var expiredSecondaries: Set<DNSName> = []
    var wakeRequested: Set<DNSName> = []
    var secondaryTasks: [DNSName: Task<Void, Never>] = [:]
    var onSecondaryChange: (@Sendable () async -> Void)?
    /// For `/status`: each pulled zone's last refresh.
    var secondaryProgress: [DNSName: SecondaryProgress] = [:]
    /// Why a secondary zone's `file:` could not be read or written (for `/status`).
    var storeErrors: [DNSName: String] = [:]

    public init(hub: TransferHub, group: EventLoopGroup, logger: Logger) {
        self.hub = hub
        self.group = group
        self.logger = logger
    }

    /// The zones pulled from primaries, as the catalog serves them.
    public func secondaryZones() -> [Zone] {
        secondaryCopies.keys.sorted().compactMap { secondaryCopies[$0]?.zone }
    }

    /// The secondary zones without a copy to serve: their names get SERVFAIL with the reason
    /// (Extended DNS Error 24, RFC 8914 §4.25), as NSD and Knot answer for such zones.
    public func unavailableSecondaries() -> [UnavailableZone] {
        secondaryTasks.keys.sorted().compactMap { zone in
            guard secondaryCopies[zone] == nil else { return nil }
            let primary = setup.secondaries.first { $0.zone == zone }?.primary
            let from = primary.map { " from \($0)" } ?? ""
            let reason =
                expiredSecondaries.contains(zone)
                ? "zone expired: no answer\(from) within the SOA's EXPIRE"
                : "zone not transferred yet\(from)"
            return UnavailableZone(origin: zone, reason: reason)
        }
    }

    /// Starts (or restarts, on a config change) one loop per `secondaries:` entry, and waits up to
    /// `initialWait` for the first transfers so the first answers are not empty.
    public func startSecondaries(
        _ setup: TransferSetup, onChange: @escaping @Sendable () async -> Void, initialWait: Duration
    ) async {
        onSecondaryChange = onChange
        self.setup = setup
        hub.update {
            $0.secondaries = Dictionary(setup.secondaries.map { ($0.zone, $0) }, uniquingKeysWith: { a, _ in a })
        }
        let wanted = Dictionary(setup.secondaries.map { ($0.zone, $0) }, uniquingKeysWith: { a, _ in a })
        for (zone, task) in secondaryTasks where wanted[zone] == nil {
            task.cancel()
            secondaryTasks[zone] = nil
            secondaryCopies[zone] = nil
            expiredSecondaries.remove(zone)
            secondaryProgress[zone] = nil
            storeErrors[zone] = nil
        }
        let started = ContinuousClock.now
        var restored = false
        for (zone, s) in wanted where secondaryTasks[zone] == nil {
            if restoreStored(zone, s) { restored = true }
            secondaryTasks[zone] = Task { await self.follow(zone, s) }
        }
        // At start the caller builds the first catalog after this returns; on a reload it has
        // already published, so a restored copy needs a rebuild.
        if restored && initialWait == .zero { Task { await onChange() } }
        while ContinuousClock.now - started < initialWait,
            wanted.keys.contains(where: { secondaryCopies[$0] == nil })
        {
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    /// A NOTIFY arrived for `zone` (from any thread).
    public nonisolated func notified(_ zone: DNSName) {
        Task { await self.wake(zone) }
    }

    func wake(_ zone: DNSName) { wakeRequested.insert(zone) }

    func follow(_ zone: DNSName, _ s: SecondaryZone) async {
        while !Task.isCancelled {
            var delay: Duration
            do {
                try await refresh(zone, s)
                recordRefresh(zone, error: nil)
                Counter(label: "carousel_secondary_refreshes_total", dimensions: [("result", "ok")]).increment()
                delay = .seconds(Int64(secondaryCopies[zone].map { SOA.refresh($0.soa.rdata) } ?? 60))
            } catch {
                recordRefresh(zone, error: "\(error)")
                Counter(label: "carousel_secondary_refreshes_total", dimensions: [("result", "failed")]).increment()
                logger.warning("secondary: \(zone) from \(s.primary): \(error)")
                delay = .seconds(Int64(secondaryCopies[zone].map { SOA.retry($0.soa.rdata) } ?? 5))
                delay = min(delay, .seconds(60))
                if secondaryCopies[zone] == nil { delay = min(delay, .seconds(2)) }
            }
            if let copy = secondaryCopies[zone],
                ContinuousClock.now - copy.confirmed > .seconds(Int64(SOA.expire(copy.soa.rdata)))
            {
                logger.error(
                    "secondary: \(zone) expired (no answer from \(s.primary) for EXPIRE seconds); no longer served")
                secondaryCopies[zone] = nil
                expiredSecondaries.insert(zone)
                await onSecondaryChange?()
            }
            delay = max(delay, .milliseconds(200))
            // Sleep until the delay passes or a NOTIFY wakes us (looked at every 50 ms).
            let until = ContinuousClock.now + delay
            while ContinuousClock.now < until, !wakeRequested.contains(zone), !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(50))
            }
            wakeRequested.remove(zone)
        }
    }

    /// One refresh round: an SOA check over UDP (TLS for a primary over TLS) when we hold a
    /// copy, then IXFR or AXFR over TCP (or TLS).
    func refresh(_ zone: DNSName, _ s: SecondaryZone) async throws {
        let address = try SocketAddress.makeAddressResolvingHost(s.primary.host, port: s.primary.port)
        let key = s.key
        let tls = try s.tls.map { try XoTClient($0, primary: "\(s.primary)") }
        if let copy = secondaryCopies[zone] {
            let theirs = try await soaSerial(zone, address, key, tls: tls)
            if !Serial.greater(theirs, SOA.serial(copy.soa.rdata)) {
                secondaryCopies[zone]?.confirmed = .now
                touchStored(zone, s)
                return
            }
        }
        let current = secondaryCopies[zone]
        var result: TransferCollector.Result
        var soa: ResourceRecord
        var records: [ResourceRecord]
        do {
            result = try await transfer(zone, address, key, ixfrFrom: current?.soa, tls: tls)
            if case .incremental(let diffs) = result {
                guard let current,
                    let applied = TransferCollector.apply(diffs, to: current.soa, records: current.records)
                else {
                    throw TransferFailure(description: "IXFR diffs do not start from our serial")
                }
                (soa, records) = applied
            } else if case .full(let s, let r) = result {
                (soa, records) = (s, r)
            } else {
                secondaryCopies[zone]?.confirmed = .now
                touchStored(zone, s)
                return
            }
        } catch let error where current != nil && !(error is DNSClient.Timeout) && !(error is XoTFailure) {
            // A primary without IXFR (NOTIMP, FORMERR) or diffs that do not fit: the whole zone.
            logger.notice("secondary: IXFR of \(zone) failed (\(error)); asking for AXFR")
            result = try await transfer(zone, address, key, ixfrFrom: nil, tls: tls)
            guard case .full(let s, let r) = result else {
                throw TransferFailure(description: "AXFR did not send a zone")
            }
            (soa, records) = (s, r)
        }
        guard records.count < setup.maxZoneRecords else {
            throw TransferFailure(
                description:
                    "the zone has \(records.count + 1) records, more than limits.zone_records (\(setup.maxZoneRecords))"
            )
        }
        let built: Zone
        do {
            built = try Zone.build(origin: zone, file: "primary \(s.primary)", records: [soa] + records)
        } catch {
            throw TransferFailure(description: "the transferred zone is not usable: \(error)")
        }
        let kind: String = if case .incremental = result { "IXFR" } else { "AXFR" }
        logger.info(
            "secondary: zone transferred",
            metadata: [
                "zone": "\(zone)", "serial": "\(built.serial)", "type": "\(kind)", "records": "\(built.recordCount)",
                "primary": "\(s.primary)",
            ])
        secondaryCopies[zone] = SecondaryCopy(soa: soa, records: records, zone: built, confirmed: .now)
        expiredSecondaries.remove(zone)
        store(zone, s)
        recordRefresh(zone, error: nil, transferred: kind)
        await onSecondaryChange?()
    }

    func soaSerial(_ zone: DNSName, _ address: SocketAddress, _ key: TSIGKey?, tls: XoTClient? = nil) async throws
        -> UInt32
    {
        var q = Message.query(id: UInt16.random(in: 0...UInt16.max), zone, .soa, flags: 0)
        var bytes = q.encode()
        var mac: [UInt8] = []
        if let key { (bytes, mac) = TSIG.sign(bytes, key: key) }
        var reply: [UInt8]
        if let tls {
            let box = ReplyBox()
            try await DNSClient.tcp(bytes, to: address, timeout: .seconds(5), group: group, tls: tls) { message in
                box.reply = message
                return true
            }
            reply = box.reply
        } else {
            reply = try await DNSClient.udp(bytes, to: address, timeout: .seconds(2), group: group)
        }
        if let key {
            var v = TSIGStreamVerifier(key: key, requestMAC: mac)
            try v.check(reply)
        }
        q = try Message.decode(reply)
        guard q.rcode == 0, let soa = q.answer.first(where: { $0.type == .soa }) else {
            throw TransferFailure(
                description: "SOA query answered \(RCode(rawValue: q.rcode)?.description ?? "\(q.rcode)")")
        }
        return SOA.serial(soa.rdata)
    }

    /// An IXFR (when we have a copy) or AXFR over TCP or TLS, every message's TSIG checked.
    func transfer(
        _ zone: DNSName, _ address: SocketAddress, _ key: TSIGKey?, ixfrFrom ours: ResourceRecord?,
        tls: XoTClient? = nil
    )
        async throws
        -> TransferCollector.Result
    {
        var q = Message.query(id: UInt16.random(in: 0...UInt16.max), zone, ours == nil ? .axfr : .ixfr, flags: 0)
        if let ours { q.authority = [ours] }
        var bytes = q.encode()
        var mac: [UInt8] = []
        if let key { (bytes, mac) = TSIG.sign(bytes, key: key) }
        var collector = TransferCollector(ixfr: ours != nil, ourSerial: ours.map { SOA.serial($0.rdata) })
        collector.maxRecords = setup.maxZoneRecords
        let box = StreamBox(TransferStream(collector: collector, key: key, requestMAC: mac))
        try await DNSClient.tcp(bytes, to: address, timeout: .seconds(30), group: group, tls: tls) { message in
            try box.stream.take(message)
        }
        guard let result = box.stream.collector.result else {
            throw TransferFailure(description: "transfer ended early")
        }
        return result
    }
}

struct TransferFailure: Error, CustomStringConvertible {
    var description: String
}

/// The one reply of an SOA check over TLS, set by the connection's read.
final class ReplyBox: @unchecked Sendable {
    var reply: [UInt8] = []
}

/// The state of one incoming transfer, touched only by the connection's reads (one at a time).
final class StreamBox: @unchecked Sendable {
    var stream: TransferStream

    init(_ stream: TransferStream) { self.stream = stream }
}

extension SecondaryTransfers {
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

    /// The `secondaries:` zones in `/status`.
    public func status() -> [TransferStatus.SecondaryZone] {
        let now = ContinuousClock.now
        return setup.secondaries.map { s -> TransferStatus.SecondaryZone in
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
    }
}
