import Atomics
import DNSWire
import Foundation
import Health
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import Responder
import Transfer

/// The transfer lane's I/O (see `TransferLane` for what it answers): the listeners ask
/// `intercepts` of every message, which reads a relaxed atomic and a few bytes, and hand such
/// messages here; the answer is built off the event loop and UDP worker threads and written back
/// when ready. The lane's state is set by the runtime and read under a lock here, never on the
/// query path.
public final class TransferHub: Sendable {
    let state = NIOLockedValueBox(TransferLane.State())
    /// Mirrors the state's NOTIFY switch, for `intercepts` without the lock.
    let acceptNotify = ManagedAtomic<Bool>(false)
    /// Called with the zone of every accepted NOTIFY (set by the runtime).
    public let notifyHandler = NIOLockedValueBox<(@Sendable (DNSName) -> Void)?>(nil)
    /// Called with the zone of every accepted NOTIFY from a fleet peer (set by the runtime).
    public let fleetNotifyHandler = NIOLockedValueBox<(@Sendable (DNSName) -> Void)?>(nil)
    /// Answers dynamic updates (set by the runtime when `updates:` names a zone; UPDATE is
    /// NOTIMP, from the Responder, while it is nil).
    let updateHandler = NIOLockedValueBox<(@Sendable ([UInt8], [UInt8]) async -> [UInt8]?)?>(nil)
    let acceptUpdate = ManagedAtomic<Bool>(false)
    let logger: Logger

    init(logger: Logger) { self.logger = logger }

    /// Sets (or with nil removes) what answers UPDATE messages: request and source address bytes
    /// in, the reply out (nil: none).
    public func setUpdateHandler(_ handler: (@Sendable ([UInt8], [UInt8]) async -> [UInt8]?)?) {
        updateHandler.withLockedValue { $0 = handler }
        acceptUpdate.store(handler != nil, ordering: .relaxed)
    }

    public func update(_ change: (inout TransferLane.State) -> Void) {
        let notify = state.withLockedValue { s in
            change(&s)
            return s.acceptsNotify
        }
        acceptNotify.store(notify, ordering: .relaxed)
    }

    @inline(__always)
    func intercepts(_ p: UnsafeRawBufferPointer) -> Bool {
        TransferLane.intercepts(
            p, acceptNotify: acceptNotify.load(ordering: .relaxed), acceptUpdate: acceptUpdate.load(ordering: .relaxed))
    }

    /// Answers an intercepted message and writes the replies to `channel` (framed on TCP,
    /// addressed to `remote` on UDP). `done` runs on the channel's loop once they are written.
    /// `xfr` false: AXFR and IXFR are REFUSED (a TLS connection without ALPN "dot").
    func handle(
        _ message: ByteBuffer, remote: SocketAddress?, channel: Channel, tcp: Bool, xfr: Bool = true,
        done: (@Sendable () -> Void)? = nil
    ) {
        let bytes = Array(message.readableBytesView)
        let source = remote.map(TransferHub.addressBytes) ?? []
        Task {
            let replies =
                if let update = self.update(bytes) {
                    await update(bytes, source).map { [$0] } ?? []
                } else if xfr || !TransferLane.isTransfer(bytes) {
                    self.answer(bytes, source: source, tcp: tcp)
                } else {
                    self.refuseTransfer(bytes, source: source)
                }
            channel.eventLoop.execute {
                for r in replies {
                    var b = channel.allocator.buffer(capacity: r.count + 2)
                    if tcp {
                        b.writeInteger(UInt16(r.count))
                        b.writeBytes(r)
                        channel.write(b, promise: nil)
                    } else if let remote {
                        b.writeBytes(r)
                        channel.write(AddressedEnvelope(remoteAddress: remote, data: b), promise: nil)
                    }
                }
                channel.flush()
                done?()
            }
        }
    }

    /// Answers an intercepted UDP message off the worker's thread; `send` takes each reply.
    func handleDatagram(_ bytes: [UInt8], source: [UInt8], send: @escaping @Sendable ([UInt8]) -> Void) {
        Task {
            if let update = self.update(bytes) {
                if let reply = await update(bytes, source) { send(reply) }
                return
            }
            for reply in self.answer(bytes, source: source, tcp: false) { send(reply) }
        }
    }

    /// The update handler when `request` is an UPDATE and one is set.
    func update(_ request: [UInt8]) -> (@Sendable ([UInt8], [UInt8]) async -> [UInt8]?)? {
        guard request.count >= Header.size, (request[2] >> 3) & 0xF == Opcode.update else { return nil }
        return updateHandler.withLockedValue { $0 }
    }

    /// An AXFR or IXFR over TLS without ALPN "dot": REFUSED, logged and counted as a transfer.
    func refuseTransfer(_ request: [UInt8], source: [UInt8]) -> [[UInt8]] {
        Counter(label: "carousel_transfers_total", dimensions: [("type", "XFR"), ("rcode", "REFUSED")]).increment()
        logger.notice(
            "zone transfer refused: TLS without ALPN \"dot\" (RFC 9103 §7.1)",
            metadata: ["client": "\(IPAddress(bytes: source)?.description ?? "?")"])
        return [TransferResponder.header(request, rcode: RCode.refused.rawValue)]
    }

    static let fleetZones = (try? DNSName("fleet.invalid.")) ?? .root

    static func addressBytes(_ a: SocketAddress) -> [UInt8] {
        switch a {
        case .v4(let v4): return withUnsafeBytes(of: v4.address.sin_addr) { Array($0) }
        case .v6(let v6): return withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
        default: return []
        }
    }

    /// The lane's answer, with its log line and metric.
    func answer(_ request: [UInt8], source: [UInt8], tcp: Bool) -> [[UInt8]] {
        let s = state.withLockedValue { $0 }
        let (replies, event) = TransferLane.answer(
            request, source: source, tcp: tcp, state: s, now: UInt64(Date().timeIntervalSince1970))
        let client = IPAddress(bytes: source)?.description ?? "?"
        switch event {
        case .transfer(let zone, let type, let rcode, let messages):
            let rcodeName = RCode(rawValue: UInt16(rcode))?.description ?? "\(rcode)"
            Counter(label: "carousel_transfers_total", dimensions: [("type", "\(type)"), ("rcode", rcodeName)])
                .increment()
            // A fleet's peers pull each other's observations at every change: not worth a line each.
            logger.log(
                level: zone.isSubdomain(of: TransferHub.fleetZones) ? .debug : .info,
                "zone transfer",
                metadata: [
                    "zone": "\(zone)", "type": "\(type)", "client": "\(client)", "rcode": "\(rcode)",
                    "messages": "\(messages)",
                ])
        case .notified(let zone):
            logger.info("NOTIFY received", metadata: ["zone": "\(zone)", "from": "\(client)"])
            notifyHandler.withLockedValue { $0 }?(zone)
        case .fleetNotified(let zone):
            logger.debug("fleet NOTIFY received", metadata: ["zone": "\(zone)", "from": "\(client)"])
            fleetNotifyHandler.withLockedValue { $0 }?(zone)
        case .notifyRefused(let zone):
            logger.notice("NOTIFY refused", metadata: ["zone": "\(zone)", "from": "\(client)"])
        case nil:
            break
        }
        return replies
    }
}
