/// One of the engine's timetables (probe starts, probe deadlines): a binary min-heap of due
/// times, each naming a target slot and the generation of that slot it was made for. A slot's generation moves on whenever its probe starts
/// or the slot is set or removed, so an entry that no longer applies is not searched for and
/// deleted: it is dropped when it comes due (`isCurrent`). Pushing and popping are O(log n) with
/// no allocation once the heap has grown, which is what 10,000 targets at 1 s need; a timer wheel
/// would save the log n but not a system call.
struct ProbeSchedule {
    struct Entry {
        /// Monotonic nanoseconds.
        var due: Int64
        var slot: Int32
        var generation: UInt32
    }

    private var heap: ContiguousArray<Entry> = []

    var count: Int { heap.count }
    var isEmpty: Bool { heap.isEmpty }

    /// The earliest due time, if any.
    var nextDue: Int64? { heap.first?.due }

    mutating func push(_ entry: Entry) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].due < heap[parent].due else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest entry if it is due at `now` or before.
    mutating func popDue(at now: Int64) -> Entry? {
        guard let first = heap.first, first.due <= now else { return nil }
        let last = heap.removeLast()
        guard !heap.isEmpty else { return first }
        heap[0] = last
        var parent = 0
        let n = heap.count
        while true {
            let left = 2 * parent + 1
            guard left < n else { break }
            let right = left + 1
            let child = right < n && heap[right].due < heap[left].due ? right : left
            guard heap[child].due < heap[parent].due else { break }
            heap.swapAt(child, parent)
            parent = child
        }
        return first
    }

    mutating func removeAll() { heap.removeAll(keepingCapacity: true) }
}

/// SplitMix64: the ±10% jitter of every probe needs a cheap random number, and the system
/// generator is a `getrandom` system call per draw on Linux.
struct JitterRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `interval` ±10%, as the task-per-target loops did it, so probes do not come in bursts.
    mutating func jittered(_ interval: Int64) -> Int64 {
        let tenth = interval / 10
        guard tenth > 0 else { return interval }
        return interval - tenth + Int64(next() % UInt64(2 * tenth + 1))
    }
}
