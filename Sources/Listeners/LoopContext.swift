import Health
import NIOCore
import Responder

/// What the query path of one event loop reads and reuses: the current snapshot and the scratch
/// memory for building responses. Touched only on its own loop, so no locks: a new snapshot
/// arrives by `execute` on that loop, and queries already running finish on the old.
final class LoopContext: @unchecked Sendable {
    let eventLoop: EventLoop
    var snapshot: Snapshot
    var health: HealthView = .empty
    var counters = QueryCounters()
    let scratch = ResponderScratch()
    /// This loop's TCP connections.
    let connections = TCPConnections()
    /// Transfers, NOTIFY and signed queries leave the fast path here.
    var transfers: TransferHub?
    /// Room for the largest DNS message.
    let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 65535, alignment: 8)

    init(eventLoop: EventLoop, snapshot: Snapshot) {
        self.eventLoop = eventLoop
        self.snapshot = snapshot
    }

    deinit { out.deallocate() }

    /// Answers one message; returns the response as a buffer of exactly its size, or nil to drop.
    @inline(__always)
    func respond(
        to message: ByteBuffer, over transport: Transport, allocator: ByteBufferAllocator, framed: Bool,
        client: ClientAddress
    ) -> (ByteBuffer, QueryOutcome)? {
        eventLoop.preconditionInEventLoop()
        let outcome = message.withUnsafeReadableBytes { query in
            Responder.respond(
                to: query, over: transport, snapshot: snapshot, health: health, into: out, scratch: scratch,
                client: client)
        }
        counters.record(outcome, transport)
        guard outcome.length > 0 else { return nil }
        var buffer = allocator.buffer(capacity: outcome.length + (framed ? 2 : 0))
        if framed { buffer.writeInteger(UInt16(outcome.length)) }
        buffer.writeBytes(UnsafeRawBufferPointer(rebasing: out[0..<outcome.length]))
        return (buffer, outcome)
    }
}
