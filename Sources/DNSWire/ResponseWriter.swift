/// Builds a response in a caller-owned buffer, with name compression (RFC 1035 §4.1.4) and a
/// size limit: a record that does not fit is not written and `write…` returns false, so the
/// caller can fall back to a truncated reply (RFC 2181 §9). Nothing here allocates; the
/// compression table lives in caller-owned scratch memory reused across messages.
public struct ResponseWriter: ~Copyable {
    public let base: UnsafeMutableRawPointer
    /// Bytes the message may occupy (UDP payload limit, or 65535 on TCP).
    public var limit: Int
    public internal(set) var count: Int = 0
    /// Offsets of names already written (each label start), for compression.
    let table: UnsafeMutablePointer<UInt16>
    let tableCapacity: Int
    /// Keeps the table's memory alive for as long as the writer exists.
    let scratch: CompressionScratch
    var tableCount = 0

    /// Where the OPT record's RDLENGTH is, once written (0: no OPT yet).
    var optLengthAt = 0
    public var answerCount: UInt16 = 0
    public var authorityCount: UInt16 = 0
    public var additionalCount: UInt16 = 0

    public init(into buffer: UnsafeMutableRawBufferPointer, limit: Int, scratch: CompressionScratch) {
        self.base = buffer.baseAddress!
        self.limit = min(limit, buffer.count)
        self.table = scratch.offsets
        self.tableCapacity = scratch.capacity
        self.scratch = scratch
    }

    // MARK: Header and question

    /// Writes the header (counts filled in by `finish`) and copies the question verbatim from the
    /// query, so the client's case survives (0x20 randomisation), and remembers the qname for
    /// compression.
    public mutating func start(id: UInt16, flags: UInt16, question: UnsafeRawBufferPointer?) {
        count = 0
        tableCount = 0
        optLengthAt = 0
        answerCount = 0
        authorityCount = 0
        additionalCount = 0
        put16(id)
        put16(flags)
        put16(0)  // QDCOUNT: 1 once the question is in (RFC 1035 §4.1.1: counts match the sections)
        put16(0)
        put16(0)
        put16(0)
        if let q = question, count + q.count <= limit {
            set16(4, 1)
            (base + count).copyMemory(from: q.baseAddress!, byteCount: q.count)
            var i = count
            while base.load(fromByteOffset: i, as: UInt8.self) != 0 {
                remember(i)
                i += 1 + Int(base.load(fromByteOffset: i, as: UInt8.self))
            }
            count += q.count
        }
    }

    public var flags: UInt16 {
        get {
            UInt16(base.load(fromByteOffset: 2, as: UInt8.self)) << 8
                | UInt16(base.load(fromByteOffset: 3, as: UInt8.self))
        }
        set { set16(2, newValue) }
    }

    /// A point to come back to when a section does not fit.
    public struct Mark {
        let count: Int
        let tableCount: Int
        let an: UInt16, ns: UInt16, ar: UInt16
    }

    public var mark: Mark {
        Mark(count: count, tableCount: tableCount, an: answerCount, ns: authorityCount, ar: additionalCount)
    }

    public mutating func rewind(to m: Mark) {
        count = m.count
        tableCount = m.tableCount
        answerCount = m.an
        authorityCount = m.ns
        additionalCount = m.ar
    }

    /// Writes the final counts; returns the message length.
    public mutating func finish() -> Int {
        set16(6, answerCount)
        set16(8, authorityCount)
        set16(10, additionalCount)
        return count
    }

    // MARK: Records

    public enum Section { case answer, authority, additional }

    /// Writes one record. `owner` is an uncompressed name (compressed against what is already
    /// written) or nil for the question name (a pointer to offset 12). `rdata` is uncompressed
    /// wire rdata; names inside it are compressed for the RFC 1035 types only (RFC 3597 §4).
    @discardableResult
    public mutating func writeRecord(
        _ section: Section, owner: UnsafeRawBufferPointer?, type: RRType, rrClass: UInt16 = 1, ttl: UInt32,
        rdata: UnsafeRawBufferPointer
    ) -> Bool {
        let m = mark
        if let owner {
            guard writeName(owner, compress: true) else { rewind(to: m); return false }
        } else {
            guard count + 2 <= limit else { return false }
            put16(0xC00C)
        }
        guard count + 10 <= limit else { rewind(to: m); return false }
        put16(type.rawValue)
        put16(rrClass)
        put32(ttl)
        let rdlenAt = count
        put16(0)
        if type.rdataNamesCompressible {
            guard writeCompressibleRData(type: type, rdata) else { rewind(to: m); return false }
        } else {
            guard count + rdata.count <= limit else { rewind(to: m); return false }
            if rdata.count > 0 { (base + count).copyMemory(from: rdata.baseAddress!, byteCount: rdata.count) }
            count += rdata.count
        }
        set16(rdlenAt, UInt16(count - rdlenAt - 2))
        switch section {
        case .answer: answerCount += 1
        case .authority: authorityCount += 1
        case .additional: additionalCount += 1
        }
        return true
    }

    /// The OPT pseudo-record of a response (RFC 6891 §6.1.2): our payload size, the upper bits of
    /// an extended rcode, version 0 and the client's DO bit copied (RFC 3225 §3).
    @discardableResult
    public mutating func writeOPT(
        payloadSize: UInt16, extendedRCode: UInt8, dnssecOK: Bool, compactOK: Bool = false
    ) -> Bool {
        guard count + 11 <= limit else { return false }
        put8(0)
        put16(RRType.opt.rawValue)
        put16(payloadSize)
        put8(extendedRCode)
        put8(0)
        put16((dnssecOK ? 0x8000 : 0) | (compactOK ? 0x4000 : 0))
        optLengthAt = count
        put16(0)
        additionalCount += 1
        return true
    }

    /// Appends an option of `length` bytes to the OPT record just written (it must be the last
    /// record) and returns the bytes to fill, or nil when it does not fit.
    public mutating func appendOPTOption(code: UInt16, length: Int) -> UnsafeMutableRawBufferPointer? {
        guard optLengthAt > 0, count + 4 + length <= limit else { return nil }
        put16(code)
        put16(UInt16(length))
        let data = UnsafeMutableRawBufferPointer(start: base + count, count: length)
        count += length
        set16(optLengthAt, UInt16(count - optLengthAt - 2))
        return data
    }

    mutating func writeCompressibleRData(type: RRType, _ r: UnsafeRawBufferPointer) -> Bool {
        guard let layout = type.rdataLayout else { return false }
        var i = 0
        func fixed(_ len: Int) -> Bool {
            guard i + len <= r.count, count + len <= limit else { return false }
            if len > 0 { (base + count).copyMemory(from: r.baseAddress! + i, byteCount: len) }
            count += len
            i += len
            return true
        }
        guard fixed(layout.prefix) else { return false }
        for _ in 0..<layout.names {
            guard let end = WireName.uncompressedEnd(r, from: i),
                writeName(UnsafeRawBufferPointer(rebasing: r[i..<end]), compress: true)
            else { return false }
            i = end
        }
        // Anything past the names (SOA's counters, or more) is kept as it is.
        return fixed(r.count - i)
    }
}
