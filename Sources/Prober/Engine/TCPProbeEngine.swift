import CEpoll
import Foundation
import Health

#if canImport(Glibc)
    import Glibc
#endif

/// The `tcp` checks of every target, and every agent (`agent:`, HAProxy's agent-check protocol:
/// connect, read one line), run by one thread with epoll and raw non-blocking sockets.
///
/// Why not a task and a NIO channel per probe: at 10,000 targets a second the channel, pipeline,
/// promise, timer and the task and actor hops around them cost ~300 µs of CPU per probe, and
/// the prober collapsed. Here a probe is a few system calls (connect, epoll_ctl, a disconnect that
/// keeps the socket for the next probe), a push on a heap for its next start and one for its
/// deadline, and a slot in a batch of results handed to the prober at most every 10 ms.
///
/// Threads: the owner (the ``Prober`` actor) calls ``set(_:_:)``, ``remove(_:)`` and ``stop()``,
/// which queue a command under a short lock and wake the engine through an eventfd; everything
/// else — slots, schedule, sockets — belongs to the engine's thread alone. ``start()`` makes the
/// thread; after ``stop()`` the thread closes every socket, finishes ``results`` and ends, and
/// ``join()`` waits for it, so nothing outlives the prober's `run()`.
final class TCPProbeEngine: @unchecked Sendable {
    // @unchecked: `inbox` is guarded by `lock`; every other mutable field is the engine thread's.

    private enum Command {
        case set(Int32, Spec)
        case remove(Int32)
        case stop
    }

    /// Results reach the owner in batches, at most this often (nanoseconds): one actor hop per
    /// batch instead of one per probe.
    static let flushEvery: Int64 = 10_000_000
    /// Sockets kept for reuse, per address family: enough for the probes of one wake-up.
    static let spareLimit = 1024
    /// Probes started before the loop looks at completions and deadlines again: a first round
    /// of 10,000 targets is then started in slices, not in one half-second pass.
    static let startsPerPass = 256
    private static let wakeToken = UInt64.max
    /// An agent's reply is one short line; more than this is cut off (HAProxy reads a buffer).
    static let replyLimit = 512

    let results: AsyncStream<[Result]>
    private let sink: AsyncStream<[Result]>.Continuation
    private let lock = NSLock()
    private var inbox: [Command] = []
    private let epollFD: Int32
    private let wakeFD: Int32
    private var thread: pthread_t?

    var slots: [Slot] = []
    /// When each slot's next probe starts.
    private var starts = ProbeSchedule()
    /// When each probe in flight times out.
    private var deadlines = ProbeSchedule()
    var inFlight = 0
    /// At most this many probes in flight: the sockets must fit the descriptor limit, and a
    /// thousands-wide first round must not overflow the backends' accept queues at once.
    private let maxInFlight: Int
    private var spare4: [Int32] = []
    private var spare6: [Int32] = []
    private var batch: [Result] = []
    private var lastFlush: Int64 = 0
    private var random = JitterRandom(seed: UInt64(truncatingIfNeeded: monotonicNanos()) ^ 0x6361_726F_7573_656C)

    init() throws(Errno) {
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw Errno(errno) }
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC))
        guard wakeFD >= 0 else {
            let code = errno
            close(epollFD)
            throw Errno(code)
        }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = Self.wakeToken
        guard epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &event) == 0 else {
            let code = errno
            close(epollFD)
            close(wakeFD)
            throw Errno(code)
        }
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let descriptors = Int(clamping: min(limit.rlim_cur, 1 << 20))  // RLIM_INFINITY is all ones
        maxInFlight = max(16, min(4096, (descriptors - 256) / 2))
        let (stream, continuation) = AsyncStream.makeStream(of: [Result].self, bufferingPolicy: .unbounded)
        results = stream
        sink = continuation
    }

    deinit {
        close(epollFD)
        close(wakeFD)
    }

    /// Probes `id` with `spec` from now on, at once first; replaces its previous spec and
    /// abandons its probe in flight.
    func set(_ id: Int32, _ spec: Spec) { post(.set(id, spec)) }

    /// Stops probing `id`; a probe in flight is abandoned without a result.
    func remove(_ id: Int32) { post(.remove(id)) }

    /// Ends the thread: it closes every socket and finishes ``results``.
    func stop() { post(.stop) }

    private func post(_ command: Command) {
        lock.lock()
        inbox.append(command)
        let first = inbox.count == 1
        lock.unlock()
        guard first else { return }
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    func start() throws(Errno) {
        let retained = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, nil,
            { raw in
                let engine = Unmanaged<TCPProbeEngine>.fromOpaque(raw!).takeRetainedValue()
                engine.loop()
                return nil
            }, retained)
        guard rc == 0 else {
            Unmanaged<TCPProbeEngine>.fromOpaque(retained).release()
            throw Errno(rc)
        }
        self.thread = thread
    }

    /// Waits for the thread to end (after ``stop()``; once ``results`` has finished it is a
    /// matter of microseconds).
    func join() {
        guard let thread else { return }
        self.thread = nil
        pthread_join(thread, nil)
    }

    // MARK: The engine thread

    private func loop() {
        cepoll_name_thread("carousel-probe")
        var events = [epoll_event](repeating: epoll_event(), count: 512)
        var running = takeCommands()
        lastFlush = monotonicNanos()
        while running {
            var now = monotonicNanos()
            runDue(now)
            if !batch.isEmpty && now - lastFlush >= Self.flushEvery { flush(now) }
            let wait = waitMilliseconds(now)
            let n = events.withUnsafeMutableBufferPointer {
                epoll_wait(epollFD, $0.baseAddress, Int32($0.count), wait)
            }
            guard n >= 0 else {
                if errno == EINTR { continue }
                break  // EBADF/EINVAL: the engine's own descriptors are broken; nothing to retry.
            }
            now = monotonicNanos()
            for i in 0..<Int(n) {
                let event = events[i]
                if event.data.u64 == Self.wakeToken {
                    var count: UInt64 = 0
                    _ = read(wakeFD, &count, 8)
                    running = takeCommands() && running
                } else {
                    complete(event.data.u64, event.events, now)
                }
            }
        }
        shutdown()
    }

    /// Applies the queued commands; false once `stop` was among them.
    private func takeCommands() -> Bool {
        lock.lock()
        let commands = inbox
        inbox = []
        lock.unlock()
        var running = true
        let now = monotonicNanos()
        for command in commands {
            switch command {
            case .set(let id, let spec):
                let i = Int(id)
                if i >= slots.count { slots.append(contentsOf: repeatElement(Slot(), count: i + 1 - slots.count)) }
                abandon(i)
                slots[i].spec = spec
                starts.push(.init(due: now, slot: id, generation: slots[i].generation))
            case .remove(let id):
                let i = Int(id)
                guard i < slots.count else { continue }
                abandon(i)
                slots[i].spec = nil
            case .stop:
                running = false
            }
        }
        return running
    }

    /// Closes the slot's probe in flight, if any, and makes its schedule entries stale.
    private func abandon(_ i: Int) {
        if slots[i].fd >= 0 { release(i) }
        slots[i].generation &+= 1
    }

    /// Closes the slot's socket in flight (a reset, with `SO_LINGER` 0).
    func release(_ i: Int) {
        close(slots[i].fd)
        slots[i].fd = -1
        slots[i].reading = false
        inFlight -= 1
    }

    /// Times out the probes past their deadline, then starts the probes that are due, as far
    /// as ``maxInFlight`` allows (the rest start as soon as sockets free up).
    private func runDue(_ now: Int64) {
        while let entry = deadlines.popDue(at: now) {
            let i = Int(entry.slot)
            guard slots[i].generation == entry.generation, slots[i].fd >= 0 else { continue }
            release(i)
            finish(i, .timedOut, now)
        }
        var begun = 0
        while begun < Self.startsPerPass, inFlight < maxInFlight, let entry = starts.popDue(at: now) {
            let i = Int(entry.slot)
            guard slots[i].generation == entry.generation, let spec = slots[i].spec, slots[i].fd < 0 else { continue }
            // Read per probe: a pass of hundreds of connects takes milliseconds, which must not
            // come off the timeout of the last ones.
            begin(i, spec, monotonicNanos())
            begun += 1
        }
    }

    private func begin(_ i: Int, _ spec: Spec, _ now: Int64) {
        slots[i].generation &+= 1
        slots[i].started = now
        let family = spec.address.family
        var fd: Int32
        var registered = true
        if let reused = family == AF_INET ? spare4.popLast() : spare6.popLast() {
            fd = reused
        } else {
            switch ProbeSocket.open(family: family) {
            case .success(let new): fd = new
            case .failure(let error): return finish(i, .failed(error.code), now)
            }
            registered = false
        }
        switch ProbeSocket.connect(fd, to: spec.address) {
        case .connected where !spec.readsReply:
            recycle(fd, family)
            finish(i, .connected, now)
        case .connected:
            // Loopback can connect at once; the agent's reply is still to come.
            guard arm(i, fd, Self.readable, registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, reading: true, now) else {
                return
            }
            deadlines.push(.init(due: now + spec.timeout, slot: Int32(i), generation: slots[i].generation))
        case .failed(let code):
            close(fd)
            finish(i, .failed(code), now)
        case .inProgress:
            guard arm(i, fd, EPOLLOUT.rawValue, registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, reading: false, now) else {
                return
            }
            deadlines.push(.init(due: now + spec.timeout, slot: Int32(i), generation: slots[i].generation))
        }
    }

    /// What an agent's socket waits for: its line, or its close.
    static let readable = EPOLLIN.rawValue | EPOLLRDHUP.rawValue

    /// Puts slot `i`'s socket in flight, waiting for `events` (the connect's verdict, or with
    /// `reading` an agent's line); a socket epoll does not take fails the probe (false).
    private func arm(_ i: Int, _ fd: Int32, _ events: UInt32, _ op: Int32, reading: Bool, _ now: Int64) -> Bool {
        guard watch(fd, i, events, op) else {
            let code = errno
            close(fd)
            finish(i, .failed(code), now)
            return false
        }
        slots[i].fd = fd
        slots[i].reading = reading
        if reading { slots[i].reply.removeAll(keepingCapacity: true) }
        inFlight += 1
        return true
    }

    /// Arms one event (one-shot) for slot `i`'s socket, tagged with its generation.
    func watch(_ fd: Int32, _ i: Int, _ events: UInt32, _ op: Int32) -> Bool {
        var event = epoll_event()
        event.events = events | EPOLLONESHOT.rawValue
        event.data.u64 = UInt64(UInt32(i)) | UInt64(slots[i].generation) << 32
        return epoll_ctl(epollFD, op, fd, &event) == 0
    }

    /// A connect's verdict from epoll.
    private func complete(_ token: UInt64, _ events: UInt32, _ now: Int64) {
        let i = Int(UInt32(truncatingIfNeeded: token))
        let generation = UInt32(truncatingIfNeeded: token >> 32)
        guard i < slots.count, slots[i].generation == generation, slots[i].fd >= 0, let spec = slots[i].spec
        else { return }
        if slots[i].reading { return readReply(i, events, now) }
        let fd = slots[i].fd
        slots[i].fd = -1
        inFlight -= 1
        var code: Int32 = 0
        if events & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 { code = ProbeSocket.pendingError(fd) }
        // A reset or a close after the handshake still means the connection was accepted (as
        // for a NIO connect); a refusal during it is ECONNREFUSED.
        if code == 0 && spec.readsReply {
            // Connected: now the agent's line (under the connect's deadline).
            _ = arm(i, fd, Self.readable, EPOLL_CTL_MOD, reading: true, now)
        } else if code == 0 || code == ECONNRESET || code == EPIPE {
            if spec.readsReply {
                // Accepted, then reset or closed before a word: an agent that said nothing.
                close(fd)
                return finish(i, .replied([]), now)
            }
            if code == 0 && ProbeSocket.disconnect(fd) { recycle(fd, spec.address.family) } else { close(fd) }
            finish(i, .connected, now)
        } else {
            close(fd)
            finish(i, .failed(code), now)
        }
    }

    func recycle(_ fd: Int32, _ family: Int32) {
        if family == AF_INET, spare4.count < Self.spareLimit {
            spare4.append(fd)
        } else if family == AF_INET6, spare6.count < Self.spareLimit {
            spare6.append(fd)
        } else {
            close(fd)
        }
    }

    /// Records the slot's result and schedules its next probe `interval` ±10% after this one
    /// started (at once if that is already past).
    func finish(_ i: Int, _ outcome: ConnectResult, _ now: Int64) {
        guard let spec = slots[i].spec else { return }
        let started = slots[i].started
        batch.append(Result(id: Int32(i), outcome: outcome, latency: max(0, now - started)))
        let due = max(started + random.jittered(spec.interval), now)
        starts.push(.init(due: due, slot: Int32(i), generation: slots[i].generation))
    }

    private func flush(_ now: Int64) {
        sink.yield(batch)
        batch = []
        lastFlush = now
    }

    /// Until the next deadline, start (unless the in-flight limit holds starts back: then a
    /// completion wakes the loop) or flush when results are waiting; -1 (until woken) when there
    /// is nothing to do. Rounded up to whole milliseconds, epoll_wait's unit.
    private func waitMilliseconds(_ now: Int64) -> Int32 {
        var next = deadlines.nextDue
        if inFlight < maxInFlight, let start = starts.nextDue { next = min(next ?? .max, start) }
        if !batch.isEmpty { next = min(next ?? .max, lastFlush + Self.flushEvery) }
        guard let next else { return -1 }
        let delta = next - now
        guard delta > 0 else { return 0 }
        return Int32(clamping: (delta + 999_999) / 1_000_000)
    }

    private func shutdown() {
        for i in slots.indices where slots[i].fd >= 0 { release(i) }
        for fd in spare4 + spare6 { close(fd) }
        spare4 = []
        spare6 = []
        starts.removeAll()
        deadlines.removeAll()
        sink.finish()
    }
}

/// CLOCK_MONOTONIC in nanoseconds (a vDSO call: no system call).
func monotonicNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}
