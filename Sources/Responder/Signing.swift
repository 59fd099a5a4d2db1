import Atomics
import DNSWire

#if canImport(Glibc)
    import Glibc
#endif

/// Makes the signature of an RRSIG over the signed data of RFC 4034 §3.1.8.1 with one private
/// key. Implemented in the `DNSSEC` module (swift-crypto); the query path knows only this
/// protocol, so it links no crypto library and calls it only on a signature cache miss.
public protocol RRsetSigner: Sendable {
    /// Signs `data` and writes the signature (in DNSSEC's wire form) into `out`; returns its
    /// length, or 0 when signing failed.
    func sign(_ data: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int
}

/// Response rate limiting ahead of signing, for one query: the UDP worker hands it to
/// `Responder.respond` with the query's client prefix, and the responder asks RRL once, when it
/// knows which answer this is, whether RRL will drop or slip it (`RateLimiter.wouldLimit`, which
/// counts nothing). If so, a signature cache miss makes no signature: the answer is cut to TC=1,
/// which RRL then drops or slips, and `QueryOutcome.signaturesWithheld` says so. A random-name
/// flood costs signatures only within the limit. A client whose server cookie is valid is not
/// asked about (RRL passes it).
public struct SigningGate: Sendable {
    /// The worker's limiter, which outlives every query it answers (no retain per query).
    public unowned(unsafe) let limiter: RateLimiter
    /// The query's client prefix key (`RateLimiter`'s) and the responses per second allowed.
    public let client: UInt64
    public let limit: Int

    public init(limiter: RateLimiter, client: UInt64, limit: Int) {
        self.limiter = limiter
        self.client = client
        self.limit = limit
    }

    /// Whether RRL will drop or slip the response carrying `answer` (a `QueryOutcome.answerKey`).
    @inline(__always)
    func limits(_ answer: UInt64) -> Bool {
        limit > 0 && limiter.wouldLimit(client: client, answer: answer, now: RateLimiter.now(), limit: limit)
    }
}

/// One key that signs now: its DNSKEY's algorithm and key tag, and what it signs.
public struct SigningKey: Sendable {
    public let algorithm: UInt8
    public let keyTag: UInt16
    /// Signs the DNSKEY RRset (a KSK or a CSK: the SEP flag).
    public let signsKeys: Bool
    /// Signs every other RRset (a ZSK, or a CSK).
    public let signsZone: Bool
    public let signer: any RRsetSigner

    public init(algorithm: UInt8, keyTag: UInt16, signsKeys: Bool, signsZone: Bool, signer: any RRsetSigner) {
        self.algorithm = algorithm
        self.keyTag = keyTag
        self.signsKeys = signsKeys
        self.signsZone = signsZone
        self.signer = signer
    }
}

/// How one zone's answers are signed while a snapshot lasts: the signer's name, the keys active
/// now, and the validity of each new signature (inception an hour back, for clocks behind ours).
public final class ZoneSigning: Sendable {
    /// The zone's origin, lower-cased (the RRSIG's signer name, RFC 4034 §3.1.7).
    public let signerName: [UInt8]
    public let keys: [SigningKey]
    /// Seconds from a signature's making to its expiration.
    public let lifetime: UInt32
    public static let inceptionSkew: UInt32 = 3600

    public init(signerName: [UInt8], keys: [SigningKey], lifetime: UInt32) {
        self.signerName = signerName
        self.keys = keys
        self.lifetime = lifetime
    }

    /// A signature made at `made` is used until a quarter of its lifetime is left.
    @inline(__always)
    func refreshAt(_ made: UInt32) -> UInt32 { made &+ lifetime - lifetime / 4 }
}

/// Per-thread memory for signing: the canonical form of the RRset being signed, the signed data,
/// the RRSIG being written and the signature cache. Allocated once per thread.
public final class SigningScratch: @unchecked Sendable {
    /// The canonical rdata of the set's records, each as RDLENGTH + RDATA (names lower-cased).
    let rdata = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536 + 512, alignment: 8)
    var rdataCount = 0
    /// Where each record's entry starts in `rdata`, then sorted into canonical order.
    var offsets = UnsafeMutablePointer<Int32>.allocate(capacity: 256)
    var offsetCapacity = 256
    var records = 0
    /// The RRSIG rdata's fixed fields and signer name, then the RRset in canonical form: the
    /// signed data (RFC 4034 §3.1.8.1). The key of the cache is what follows the fixed fields.
    let data = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536 + 70000, alignment: 8)
    /// The signature cache's key of the set being signed (see `Responder.writeRRSIGs`).
    let key = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536 + 600, alignment: 8)
    /// An RRSIG's rdata as it goes on the wire.
    let rrsig = UnsafeMutableRawBufferPointer.allocate(byteCount: 1024, alignment: 8)
    /// The owner being signed, lower-cased; an NSEC's next name and type bitmap.
    let owner = UnsafeMutableRawBufferPointer.allocate(byteCount: 256, alignment: 1)
    let nsec = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 + 8192, alignment: 1)
    public let cache: SignatureCache
    /// This thread's counts (written here only, read by `/metrics` from any thread).
    public let counters = SigningCounters()
    /// The set was too big to sign (more records or bytes than this scratch holds).
    var overflow = false

    public init(cacheEntries: Int = SignatureCache.defaultEntries) {
        cache = SignatureCache(entries: cacheEntries)
    }

    deinit {
        rdata.deallocate()
        offsets.deallocate()
        data.deallocate()
        rrsig.deallocate()
        key.deallocate()
        owner.deallocate()
        nsec.deallocate()
    }

    /// Starts a new RRset.
    @inline(__always)
    func begin() {
        rdataCount = 0
        records = 0
        overflow = false
    }

    /// Adds one record's rdata, lower-casing the names of the types RFC 4034 §6.2 lists.
    func add(_ r: UnsafeRawBufferPointer, type: RRType) {
        guard !overflow, rdataCount + 2 + r.count <= rdata.count else {
            overflow = true
            return
        }
        if records == offsetCapacity {
            let bigger = UnsafeMutablePointer<Int32>.allocate(capacity: offsetCapacity * 2)
            bigger.update(from: offsets, count: records)
            offsets.deallocate()
            offsets = bigger
            offsetCapacity *= 2
        }
        offsets[records] = Int32(rdataCount)
        records += 1
        rdata[rdataCount] = UInt8(r.count >> 8)
        rdata[rdataCount + 1] = UInt8(r.count & 0xFF)
        let start = rdataCount + 2
        if r.count > 0 {
            UnsafeMutableRawBufferPointer(rebasing: rdata[start..<(start + r.count)]).copyMemory(from: r)
        }
        rdataCount = start + r.count
        // The canonical form's lower-cased names (RFC 4034 §6.2, RFC 6840 §5.1).
        CanonicalRData.lowercaseNames(type, UnsafeMutableRawBufferPointer(rebasing: rdata[start..<rdataCount]))
    }

    /// Sorts the records into canonical order (RFC 4034 §6.3: rdata as left-justified octet
    /// strings), dropping duplicates.
    func sort() {
        if records < 2 { return }
        let base = UnsafeRawBufferPointer(rdata)
        func entryAt(_ o32: Int32) -> UnsafeRawBufferPointer {
            let o = Int(o32)
            let l = Int(base[o]) << 8 | Int(base[o + 1])
            return UnsafeRawBufferPointer(rebasing: base[(o + 2)..<(o + 2 + l)])
        }
        func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
            let n = min(a.count, b.count)
            if n > 0 {
                let c = memcmp(a.baseAddress!, b.baseAddress!, n)
                if c != 0 { return Int(c) }
            }
            return a.count - b.count
        }
        // Insertion sort: answer sets are small, and this allocates nothing.
        for i in 1..<records {
            let v = offsets[i]
            var j = i - 1
            while j >= 0 && compare(entryAt(offsets[j]), entryAt(v)) > 0 {
                offsets[j + 1] = offsets[j]
                j -= 1
            }
            offsets[j + 1] = v
        }
        var kept = 1
        for i in 1..<records where compare(entryAt(offsets[kept - 1]), entryAt(offsets[i])) != 0 {
            offsets[kept] = offsets[i]
            kept += 1
        }
        records = kept
    }
}

/// Signatures made on the query thread, keyed by what they cover: the RRset in canonical form
/// with its TTL, and the key and label count. A fixed table: a key may sit in four slots (two
/// buckets of two), and a new signature with none free replaces the one of the four used longest
/// ago, so the cache never grows past its size, never sweeps and never pauses. Sets larger than
/// `maxKey` bytes are signed every time rather than cached.
/// The table is made at the thread's first signature (a server that signs nothing pays nothing):
/// 32 bytes an entry, and each entry holds its key and RRSIG (about 200 bytes) once filled.
public final class SignatureCache: @unchecked Sendable {
    struct Entry {
        var hash: UInt64 = 0
        var key: [UInt8] = []
        var rrsig: [UInt8] = []
        var refreshAt: UInt32 = 0
        var used: UInt32 = 0
    }
    public static let defaultEntries = 65536
    public static let maxKey = 2048
    var entries: [Entry] = []
    let capacity: Int
    let mask: Int
    var tick: UInt32 = 0
    /// Entries held now (for `/metrics`).
    public private(set) var count = 0

    public init(entries: Int = SignatureCache.defaultEntries) {
        var n = 2
        while n < entries { n <<= 1 }
        self.capacity = n
        self.mask = n - 1
    }

    /// The four slots a key may sit in: two buckets of two, from two halves of its hash (two
    /// choices keep a bucket's overflow, and so thrashing, rare: one bucket of two lost 3.7 % of
    /// the benchmark zone's lookups at a third full).
    @inline(__always)
    func buckets(_ hash: UInt64) -> (Int, Int) {
        (Int(truncatingIfNeeded: hash) & mask & ~1, Int(truncatingIfNeeded: hash >> 32) & mask & ~1)
    }

    @inline(__always)
    func matches(_ i: Int, _ hash: UInt64, _ key: UnsafeRawBufferPointer) -> Bool {
        entries[i].hash == hash && entries[i].key.count == key.count
            && entries[i].key.withUnsafeBytes { memcmp($0.baseAddress!, key.baseAddress!, key.count) == 0 }
    }

    /// The RRSIG cached for `key`, if still fresh at `now`.
    @inline(__always)
    func find(_ hash: UInt64, _ key: UnsafeRawBufferPointer, now: UInt32) -> Int? {
        guard !entries.isEmpty else { return nil }
        let (b1, b2) = buckets(hash)
        for k in 0..<4 {
            let i = k < 2 ? b1 + k : b2 + k - 2
            guard matches(i, hash, key) else { continue }
            guard Int32(bitPattern: entries[i].refreshAt &- now) > 0 else { return nil }
            tick &+= 1
            entries[i].used = tick
            return i
        }
        return nil
    }

    /// Stores a signature: over the same key, else in an empty slot of the four, else over the
    /// one used longest ago.
    func store(_ hash: UInt64, _ key: UnsafeRawBufferPointer, rrsig: UnsafeRawBufferPointer, refreshAt: UInt32) {
        guard key.count <= Self.maxKey else { return }
        if entries.isEmpty { entries = Array(repeating: Entry(), count: capacity) }
        let (b1, b2) = buckets(hash)
        func at(_ k: Int) -> Int { k < 2 ? b1 + k : b2 + k - 2 }
        var slot = -1
        var empty = -1
        var oldest = at(0)
        for k in 0..<4 {
            let i = at(k)
            if matches(i, hash, key) {
                slot = i
                break
            }
            if empty < 0 && entries[i].key.isEmpty { empty = i }
            if entries[i].used < entries[oldest].used { oldest = i }
        }
        if slot < 0 { slot = empty >= 0 ? empty : oldest }
        if entries[slot].key.isEmpty { count += 1 }
        tick &+= 1
        entries[slot] = Entry(hash: hash, key: Array(key), rrsig: Array(rrsig), refreshAt: refreshAt, used: tick)
    }
}

/// Signing counts summed over threads.
public struct SigningTotals: Sendable, Equatable {
    public var hits = 0, misses = 0, ecdsa = 0, ed25519 = 0, failures = 0, cached = 0, limited = 0
    public init() {}

    public mutating func add(_ c: SigningCounters) {
        hits += c.hits.load(ordering: .relaxed)
        misses += c.misses.load(ordering: .relaxed)
        ecdsa += c.ecdsa.load(ordering: .relaxed)
        ed25519 += c.ed25519.load(ordering: .relaxed)
        failures += c.failures.load(ordering: .relaxed)
        cached += c.cached.load(ordering: .relaxed)
        limited += c.limited.load(ordering: .relaxed)
    }
}

/// A thread's signing counts, as relaxed atomics this thread alone writes.
public final class SigningCounters: Sendable {
    public let hits = ManagedAtomic<Int>(0)
    public let misses = ManagedAtomic<Int>(0)
    /// Signatures made, by algorithm: 13 (ECDSAP256SHA256), 15 (ED25519), other.
    public let ecdsa = ManagedAtomic<Int>(0)
    public let ed25519 = ManagedAtomic<Int>(0)
    public let failures = ManagedAtomic<Int>(0)
    public let cached = ManagedAtomic<Int>(0)
    /// Misses not signed because RRL was about to drop or slip the answer.
    public let limited = ManagedAtomic<Int>(0)

    public init() {}

    @inline(__always)
    func bump(_ a: ManagedAtomic<Int>) {
        a.store(a.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
    }
}
