import Atomics

/// What one answer counter counts: the answers of one pool that held one address.
public struct AnswerCounterKey: Sendable, Hashable {
    public var pool: String
    public var address: String

    public init(pool: String, address: String) {
        self.pool = pool
        self.address = address
    }
}

/// Hands out answer counter ids, one per (pool, address), and keeps them: the runtime holds one
/// for its lifetime, so a reload that keeps a member keeps its counts, and an id is never given
/// to another member.
public struct AnswerCounterIndex: Sendable {
    public private(set) var keys: [AnswerCounterKey] = []
    var ids: [AnswerCounterKey: Int32] = [:]

    public init() {}

    public mutating func id(pool: String, address: String) -> Int32 {
        let key = AnswerCounterKey(pool: pool, address: address)
        if let id = ids[key] { return id }
        let id = Int32(keys.count)
        keys.append(key)
        ids[key] = id
        return id
    }
}

/// One thread's answer counts, by counter id: how many answers held each member, and how many
/// put it first (the address most clients use). Written only by its own thread, read by any: each
/// count is an atomic that the writer bumps with a relaxed load and store (plain moves on x86 and
/// ARM, no locked instruction, since no other thread writes it) and a reader loads relaxed. The
/// counts live in segments of ``segmentSize`` ids that are never moved or freed while the object
/// lives, so a reader never sees memory the writer let go of; a new segment is allocated only
/// when a plan brings more members (``reserve(_:)``), never per query.
public final class AnswerCounts: @unchecked Sendable {
    public static let segmentSize = 4096
    public static let maxSegments = 64
    /// Ids this writer can count (segments × size); ids past ``maxSegments`` segments are not counted.
    public private(set) var capacity = 0
    /// Segment pointers: each holds `segmentSize` answer counts, then as many first-place counts.
    /// Written before `published` is raised (releasing), read after it is loaded (acquiring).
    private let table: UnsafeMutablePointer<UnsafeMutablePointer<UInt64.AtomicRepresentation>?>
    private let published = ManagedAtomic<Int>(0)

    public init(capacity: Int = 64) {
        table = .allocate(capacity: Self.maxSegments)
        table.initialize(repeating: nil, count: Self.maxSegments)
        reserve(capacity)
    }

    deinit {
        for i in 0..<Self.maxSegments { table[i]?.deallocate() }
        table.deallocate()
    }

    /// Makes room for `n` ids (only when a plan brings new members), keeping the counts.
    @inline(__always)
    public func reserve(_ n: Int) {
        guard n > capacity else { return }
        grow(to: n)
    }

    @inline(never)
    func grow(to n: Int) {
        var segments = capacity / Self.segmentSize
        while segments * Self.segmentSize < n && segments < Self.maxSegments {
            let segment = UnsafeMutablePointer<UInt64.AtomicRepresentation>.allocate(capacity: 2 * Self.segmentSize)
            segment.initialize(repeating: .init(0), count: 2 * Self.segmentSize)
            table[segments] = segment
            segments += 1
        }
        capacity = segments * Self.segmentSize
        published.store(segments, ordering: .releasing)
    }

    @inline(__always)
    private static func bump(_ cell: UnsafeMutablePointer<UInt64.AtomicRepresentation>) {
        let counter = UnsafeAtomic<UInt64>(at: cell)
        counter.store(counter.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
    }

    /// Counts one answer of set `set` that holds the members in `picks[0..<count]`, in order.
    /// Only the owning thread calls this.
    @inline(__always)
    public func record(_ set: BalancedSet, picks: UnsafeMutablePointer<Int32>, count: Int) {
        for k in 0..<count {
            let id = Int(set.counters[Int(picks[k])])
            guard id >= 0 && id < capacity, let segment = table[id / Self.segmentSize] else { continue }
            let offset = id % Self.segmentSize
            Self.bump(segment + offset)
            if k == 0 { Self.bump(segment + Self.segmentSize + offset) }
        }
    }

    /// Adds these counts to `totals`; from any thread, while the owner keeps counting.
    public func add(to totals: inout AnswerTotals) {
        let segments = published.load(ordering: .acquiring)
        let n = segments * Self.segmentSize
        if totals.answers.count < n {
            totals.answers += repeatElement(0, count: n - totals.answers.count)
            totals.firsts += repeatElement(0, count: n - totals.firsts.count)
        }
        for s in 0..<segments {
            guard let segment = table[s] else { continue }
            for o in 0..<Self.segmentSize {
                let id = s * Self.segmentSize + o
                totals.answers[id] &+= UnsafeAtomic<UInt64>(at: segment + o).load(ordering: .relaxed)
                totals.firsts[id] &+= UnsafeAtomic<UInt64>(at: segment + Self.segmentSize + o).load(ordering: .relaxed)
            }
        }
    }

    /// A copy of the counts.
    public func copy() -> AnswerTotals {
        var totals = AnswerTotals()
        add(to: &totals)
        return totals
    }
}

/// Answer counts summed over threads, by counter id.
public struct AnswerTotals: Sendable, Equatable {
    public var answers: [UInt64]
    public var firsts: [UInt64]

    public init(answers: [UInt64] = [], firsts: [UInt64] = []) {
        self.answers = answers
        self.firsts = firsts
    }

    public mutating func add(_ other: AnswerTotals) {
        if answers.count < other.answers.count {
            answers += repeatElement(0, count: other.answers.count - answers.count)
            firsts += repeatElement(0, count: other.firsts.count - firsts.count)
        }
        for i in other.answers.indices {
            answers[i] &+= other.answers[i]
            firsts[i] &+= other.firsts[i]
        }
    }

    public func answers(_ id: Int32) -> UInt64 { id >= 0 && Int(id) < answers.count ? answers[Int(id)] : 0 }
    public func firsts(_ id: Int32) -> UInt64 { id >= 0 && Int(id) < firsts.count ? firsts[Int(id)] : 0 }
}
