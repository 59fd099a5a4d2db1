import Atomics
import Balancer
import CSocket
import Foundation
import Health
import NIOConcurrencyHelpers
import Responder

#if canImport(Glibc)
    import Glibc
#endif

/// One UDP socket served by a thread of its own, outside SwiftNIO: `recvmmsg` reads up to
/// `batch` queries, each is answered into one arena, and one `sendmmsg` sends the replies. No
/// channel pipeline, no envelope or buffer per message, no allocation per query, and no `poll`:
/// the thread blocks in `recvmmsg` itself. Every worker of an address binds it with
/// SO_REUSEPORT, so the kernel spreads clients across workers (as NSD and gdnsd do).
///
/// The thread owns the snapshot, health view and counters it answers with. Other threads post
/// to its mailbox (a new snapshot or view, a request for the counters, stop) and set `posted`;
/// the thread reads that one atomic per batch (and at least every `UDPSocket.wakeInterval`) and
/// takes the lock only when it is set.
final class UDPWorker: @unchecked Sendable {
    /// Messages per recvmmsg/sendmmsg.
    static let batch = 32
    /// The largest query read whole: bigger ones are cut and then fail to decode (drop or FORMERR).
    static let maxQuery = 4096
    /// Room for one reply (the largest DNS message); replies are packed into one arena.
    static let slot = 65536
    static let controlSize = 64
    /// Response rate limiting's answer key for everything the transfer lane answers over UDP
    /// (NOTIFY, signed queries, AXFR/IXFR over UDP).
    static let transferLaneKey: UInt64 = 0x7472_616e_7366_6572  // "transfer"

    let socket: UDPSocket
    let label: String
    private let stats: ServerStats
    private let limiter: RateLimiter
    private let transfers: TransferHub?

    private var snapshot: Snapshot
    private var health: HealthView
    private var counters = QueryCounters()
    private let scratch = ResponderScratch()
    private let io: UDPBatch

    private struct Mailbox {
        var snapshot: Snapshot?
        var health: HealthView?
        var counterRequests: [CheckedContinuation<QueryCounters, Never>] = []
        var stopRequests: [CheckedContinuation<Void, Never>] = []
        var stopping = false
        /// Set by the thread as it exits: its last counters, for requests that come after.
        var finished: QueryCounters?
    }
    private let mailbox = NIOLockedValueBox(Mailbox())
    private let posted = ManagedAtomic<Bool>(false)

    init(
        socket: UDPSocket, label: String, snapshot: Snapshot, health: HealthView, stats: ServerStats,
        limiter: RateLimiter, transfers: TransferHub?
    ) throws {
        self.socket = socket
        self.label = label
        self.snapshot = snapshot
        self.health = health
        self.stats = stats
        self.limiter = limiter
        self.transfers = transfers
        self.io = UDPBatch(count: UDPWorker.batch)
    }

    /// Starts the thread. It runs until ``stop()``.
    func start() {
        let thread = Thread { [self] in
            csocket_name_thread(label)
            self.serve()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Makes `snapshot` current from the next batch on.
    func post(_ snapshot: Snapshot) { send { $0.snapshot = snapshot } }

    func post(_ health: HealthView) { send { $0.health = health } }

    /// This worker's answers per pool member: read from any thread (``AnswerCounts``).
    var answerCounts: AnswerCounts { scratch.answers }
    /// This worker's signing counts: read from any thread (relaxed atomics it alone writes).
    var signingCounters: SigningCounters { scratch.signing.counters }

    /// This worker's query counters, read by its own thread (its answer counts are not in them:
    /// copying those there would allocate on the query thread; read ``answerCounts``).
    func counters() async -> QueryCounters {
        await withCheckedContinuation { c in
            let done: QueryCounters? = mailbox.withLockedValue { box in
                if let last = box.finished { return last }
                box.counterRequests.append(c)
                return nil
            }
            if let done { c.resume(returning: done) } else { signal() }
        }
    }

    /// Stops the thread after its current batch and returns when it has exited.
    func stop() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let gone = mailbox.withLockedValue { box in
                if box.finished != nil { return true }
                box.stopping = true
                box.stopRequests.append(c)
                return false
            }
            if gone { c.resume() } else { signal() }
        }
    }

    private func send(_ change: (inout Mailbox) -> Void) {
        mailbox.withLockedValue { change(&$0) }
        signal()
    }

    /// The thread sees it after its current batch, or within `UDPSocket.wakeInterval` when idle.
    private func signal() {
        posted.store(true, ordering: .releasing)
    }

    /// Takes what was posted; returns false when the thread should exit.
    private func collect() -> Bool {
        posted.store(false, ordering: .relaxed)
        let box = mailbox.withLockedValue { box in
            let taken = box
            box.snapshot = nil
            box.health = nil
            box.counterRequests = []
            return taken
        }
        if let s = box.snapshot { snapshot = s }
        if let h = box.health { health = h }
        if !box.counterRequests.isEmpty {
            let current = counters
            for c in box.counterRequests { c.resume(returning: current) }
        }
        return !box.stopping
    }

    private func finish() {
        let final = counters
        let (waiting, stops) = mailbox.withLockedValue { box in
            box.finished = final
            let pending = (box.counterRequests, box.stopRequests)
            box.counterRequests = []
            box.stopRequests = []
            return pending
        }
        for c in waiting { c.resume(returning: final) }
        for c in stops { c.resume() }
    }

    // MARK: - The thread

    private func serve() {
        defer { finish() }
        while true {
            // Blocks for the first datagram (at most `UDPSocket.wakeInterval`, so the mailbox
            // is read even when no query comes), then takes what else is queued: one system
            // call per wake-up for reading, one for sending.
            let n = io.receive(socket.fd)
            // The mailbox is read after the wait, so a query that arrives after a publish is
            // answered from the new snapshot even when the thread was blocked when it came.
            if posted.load(ordering: .acquiring) && !collect() { return }
            if n > 0 { answer(n) }
            // n < 0: the receive timeout (EAGAIN), a signal, or an ICMP error: keep going.
        }
    }

    /// Answers the `n` queries just received and sends the replies in one call.
    private func answer(_ n: Int) {
        let snap = snapshot
        let view = health
        let rrlLimit = snap.options.rrlLimit
        var replies = 0
        var offset = 0
        for i in 0..<n {
            let query = io.query(i)
            if let hub = transfers, hub.intercepts(query) {
                // The slow lane costs a task and copies per message: rate-limited like answers,
                // under one key per client prefix, and never slipped (its replies are small).
                if rrlLimit > 0
                    && limiter.check(
                        client: io.clientKey(i, v4Bits: snap.options.rrlIPv4Prefix, v6Bits: snap.options.rrlIPv6Prefix),
                        answer: UDPWorker.transferLaneKey, now: RateLimiter.now(), limit: rrlLimit, slip: 0) != .pass
                {
                    counters.rrlDropped &+= 1
                    continue
                }
                aside(i, hub: hub)
                continue
            }
            let out = io.arena(from: offset)
            let client =
                rrlLimit > 0
                ? io.clientKey(i, v4Bits: snap.options.rrlIPv4Prefix, v6Bits: snap.options.rrlIPv6Prefix) : 0
            let gate =
                rrlLimit > 0 && !snap.signing.isEmpty
                ? SigningGate(limiter: limiter, client: client, limit: rrlLimit) : nil
            let outcome = Responder.respond(
                to: query, over: .udp, snapshot: snap, health: view, into: out, scratch: scratch,
                client: io.clientAddress(i), gate: gate)
            counters.record(outcome, .udp)
            guard outcome.length > 0 else {
                stats.dropped.wrappingIncrement(ordering: .relaxed)
                continue
            }
            var length = outcome.length
            // A valid server cookie shows the source address is real (it received our earlier
            // answer): rate limiting, which is there against spoofed sources, passes it.
            if rrlLimit > 0 && outcome.cookie != .valid {
                switch limiter.check(
                    client: client, answer: outcome.answerKey, now: RateLimiter.now(), limit: rrlLimit,
                    slip: snap.options.rrlSlip)
                {
                case .pass:
                    break
                case .drop:
                    counters.rrlDropped &+= 1
                    continue
                case .slip:
                    counters.rrlSlipped &+= 1
                    length = UDPWorker.truncate(out, length: length, questionEnd: outcome.questionEnd)
                }
            }
            io.addReply(replies, to: i, at: offset, length: length, pktinfo: socket.pktinfo)
            replies += 1
            offset += (length + 7) & ~7
        }
        io.send(socket.fd, replies)
    }

    /// A message for the transfer lane (NOTIFY, a signed query, AXFR/IXFR over UDP): answered
    /// off this thread; the replies go out with `sendmsg` on the same socket.
    private func aside(_ i: Int, hub: TransferHub) {
        let bytes = Array(io.query(i))
        let peer = io.peer(i)
        let source = peer.addressBytes
        let socket = self.socket
        hub.handleDatagram(bytes, source: source) { reply in socket.send(reply, to: peer) }
    }

    /// A slipped response: header and question only, TC=1, so the client asks again over TCP.
    static func truncate(_ out: UnsafeMutableRawBufferPointer, length: Int, questionEnd: Int) -> Int {
        out[2] |= 0x02
        for i in 6..<12 { out[i] = 0 }
        return min(questionEnd, length)
    }
}
