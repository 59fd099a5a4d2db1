import Atomics
import DNSWire

/// The records of one owner and type, ready to copy onto the wire: `data` holds `count` records,
/// each as RDLENGTH (2 bytes, big-endian) followed by uncompressed RDATA, in zone-file order.
/// Stored order never changes; rotation is a start offset chosen at encode time.
public struct RRset: Sendable {
    public let type: RRType
    /// The smallest TTL of the set (RFC 2181 §5.2 asks for one TTL per RRset).
    public let ttl: UInt32
    public let count: Int
    public let data: [UInt8]
    /// Index of this set's rotation counter in its zone (every A and AAAA set has one, so pools
    /// can bind to it), or -1 for other types, which never rotate.
    public let slot: Int32

    /// The records' rdata as ResourceRecord values (for tests and transfers, not the query path).
    public func records(owner: DNSName) -> [ResourceRecord] {
        var out: [ResourceRecord] = []
        var i = 0
        while i < data.count {
            let len = Int(data[i]) << 8 | Int(data[i + 1])
            out.append(ResourceRecord(name: owner, type: type, ttl: ttl, rdata: Array(data[(i + 2)..<(i + 2 + len)])))
            i += 2 + len
        }
        return out
    }
}

/// One name in a zone: its RRsets (none for an empty non-terminal, RFC 8020) and what the lookup
/// needs to know without walking the tree.
public struct Node: Sendable {
    public let rrsets: [RRset]
    /// The topmost zone cut at or above this node (a non-apex node with NS), or -1.
    public let cut: Int32
    /// The `*` child of this node (RFC 4592 §2.2.1: the source of synthesis), or -1.
    public let wildcard: Int32

    @inline(__always)
    public func rrsetIndex(_ type: RRType) -> Int? {
        for i in rrsets.indices where rrsets[i].type == type { return i }
        return nil
    }
}

/// An immutable, loaded zone. Built once off the query path; shared by every event loop.
public final class Zone: @unchecked Sendable {
    public let origin: DNSName
    public let file: String
    public let nodes: [Node]
    public let names: NameTable
    public let apex: Int
    public let serial: UInt32
    /// SOA TTL capped by the SOA MINIMUM field: the TTL of negative answers (RFC 2308 §3).
    public let negativeTTL: UInt32
    public let recordCount: Int
    /// Number of A/AAAA sets, i.e. of slots.
    public var slotCount: Int { counterCount }
    /// One relaxed atomic counter per address RRset. Shared mutable state, but lock-free and
    /// owned by the zone, so rotation survives reloads of other zones.
    let counters: UnsafeMutablePointer<UnsafeAtomic<UInt32>.Storage>
    let counterCount: Int

    init(
        origin: DNSName, file: String, nodes: [Node], names: NameTable, apex: Int, serial: UInt32,
        negativeTTL: UInt32, recordCount: Int, counterCount: Int
    ) {
        self.origin = origin
        self.file = file
        self.nodes = nodes
        self.names = names
        self.apex = apex
        self.serial = serial
        self.negativeTTL = negativeTTL
        self.recordCount = recordCount
        self.counterCount = counterCount
        self.counters = .allocate(capacity: max(counterCount, 1))
        for i in 0..<max(counterCount, 1) {
            (counters + i).initialize(to: UnsafeAtomic<UInt32>.Storage(0))
        }
    }

    deinit {
        counters.deinitialize(count: max(counterCount, 1))
        counters.deallocate()
    }

    /// The next rotation start for an RRset (a counter per RRset, NSD-style but not global).
    @inline(__always)
    public func nextRotation(_ slot: Int32) -> UInt32 {
        UnsafeAtomic(at: counters + Int(slot)).loadThenWrappingIncrement(ordering: .relaxed)
    }

    public var soa: RRset { nodes[apex].rrsets[nodes[apex].rrsetIndex(.soa)!] }

    public func node(named name: DNSName) -> Node? {
        names.find(name).map { nodes[$0] }
    }
}
