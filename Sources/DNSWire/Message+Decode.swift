/// Reading a whole message (RFC 1035 §4.1) with every hostile-input rule of `Query.decode`:
/// each read bounds-checked, counts weighed against the message size before anything is kept,
/// compression pointers only backwards (and never into the header) with a hop limit, labels ≤ 63,
/// names ≤ 255, RDLENGTH within the message and matching the rdata's own layout, one OPT at most
/// and only in the additional section with the root as owner (RFC 6891 §6.1.1), no trailing bytes.
extension Message {
    public static func decode(_ bytes: [UInt8]) throws(DNSWireError) -> Message {
        var reader = MessageReader(b: bytes)
        return try reader.message()
    }
}

struct MessageReader {
    let b: [UInt8]
    var i = 0

    mutating func message() throws(DNSWireError) -> Message {
        guard b.count >= Header.size else { throw .truncated("\(b.count) bytes, shorter than a header") }
        let id = u16(0), word = u16(2)
        let qd = Int(u16(4)), an = Int(u16(6)), ns = Int(u16(8)), ar = Int(u16(10))
        // A question takes at least 5 bytes and a record 11: refuse counts the message cannot hold
        // before reserving anything for them.
        guard qd * 5 + (an + ns + ar) * 11 <= b.count - Header.size else {
            throw .malformed("counts \(qd)/\(an)/\(ns)/\(ar) do not fit in \(b.count) bytes")
        }
        i = Header.size
        var m = Message(id: id, flags: word & 0xFFF0, rcode: word & 0xF)
        for _ in 0..<qd {
            let (name, next) = try name(at: i, limit: b.count)
            guard next + 4 <= b.count else { throw .truncated("question of \(name) cut short") }
            m.question.append(Question(name: name, type: RRType(u16(next)), qclass: DNSClass(rawValue: u16(next + 2))))
            i = next + 4
        }
        for _ in 0..<an { m.answer.append(try record(&m, optAllowed: false)) }
        for _ in 0..<ns { m.authority.append(try record(&m, optAllowed: false)) }
        for _ in 0..<ar {
            let r = try record(&m, optAllowed: true)
            if r.type != .opt { m.additional.append(r) }
        }
        guard i == b.count else { throw .malformed("\(b.count - i) bytes after the last record") }
        return m
    }

    /// Reads the record at `i`. An OPT record is folded into `m.edns` and returned with its type
    /// so the caller can leave it out of the additional section.
    mutating func record(_ m: inout Message, optAllowed: Bool) throws(DNSWireError) -> ResourceRecord {
        let ownerAt = i
        let (owner, next) = try name(at: i, limit: b.count)
        guard next + 10 <= b.count else { throw .truncated("record of \(owner) cut short") }
        let type = RRType(u16(next)), rrClass = DNSClass(rawValue: u16(next + 2)), ttl = u32(next + 4)
        let start = next + 10
        let end = start + Int(u16(next + 8))
        guard end <= b.count else { throw .truncated("RDLENGTH of \(owner) \(type) past the end of the message") }
        i = end
        if type == .opt {
            guard optAllowed else { throw .malformed("OPT outside the additional section") }
            guard m.edns == nil else { throw .malformed("more than one OPT record") }
            guard next == ownerAt + 1, b[ownerAt] == 0 else { throw .malformed("OPT owner is not the root") }
            m.edns = EDNS(udpPayloadSize: rrClass.rawValue, version: UInt8(ttl >> 16 & 0xFF), dnssecOK: ttl & 0x8000 != 0)
            m.rcode |= UInt16(ttl >> 24) << 4
            var o = start
            while o < end {
                guard o + 4 <= end else { throw .malformed("OPT option header cut short") }
                let len = Int(u16(o + 2))
                guard o + 4 + len <= end else { throw .malformed("OPT option longer than its record") }
                // RFC 7873 §5.2.2, §5.3: a COOKIE is a client cookie (8) and none or 8–32 more.
                if u16(o) == EDNSOptionCode.cookie && len != 8 && !(16...40).contains(len) {
                    throw .malformed("COOKIE option of \(len) bytes")
                }
                m.ednsOptions.append(EDNSOption(code: u16(o), data: Array(b[(o + 4)..<(o + 4 + len)])))
                o += 4 + len
            }
            return ResourceRecord(name: owner, type: type, rrClass: rrClass, ttl: ttl, rdata: [])
        }
        let rdata = try self.rdata(type, rrClass, start, end)
        return ResourceRecord(name: owner, type: type, rrClass: rrClass, ttl: ttl, rdata: rdata)
    }

    enum Field { case name, fixed(Int) }

    /// The rdata with embedded names decompressed for the RFC 1035 types and the two later ones
    /// receivers are asked to decompress (RP, AFSDB: RFC 3597 §4). Every other type, SRV included,
    /// is copied as it is (RFC 3597 §5).
    func rdata(_ type: RRType, _ rrClass: DNSClass, _ start: Int, _ end: Int) throws(DNSWireError) -> [UInt8] {
        let layout: [Field]
        switch type {
        case .ns, .cname, .mb, .mg, .mr, .ptr: layout = [.name]
        case .soa: layout = [.name, .name, .fixed(20)]
        case .minfo, .rp: layout = [.name, .name]
        case .mx, .afsdb: layout = [.fixed(2), .name]
        default: return Array(b[start..<end])
        }
        // Empty rdata means "delete" in dynamic updates (RFC 2136 §2.5), only with class ANY or NONE.
        if start == end, rrClass.rawValue == 255 || rrClass.rawValue == 254 { return [] }
        var out: [UInt8] = []
        var p = start
        for field in layout {
            switch field {
            case .name:
                let (name, next) = try name(at: p, limit: end)
                out += name.wire
                p = next
            case .fixed(let k):
                guard p + k <= end else { throw .malformed("\(type) rdata shorter than its fixed fields") }
                out += b[p..<(p + k)]
                p += k
            }
        }
        guard p == end else { throw .malformed("\(type) rdata has \(end - p) bytes after its fields") }
        return out
    }

    /// Reads a possibly compressed name at `start`, whose own bytes must end before `limit`
    /// (the end of its rdata, or of the message). Returns the name uncompressed and the offset
    /// just past it. Each pointer must go below every byte of the name read so far, so chains can
    /// neither loop nor grow, and at most `Query.maxPointerHops` are followed.
    func name(at start: Int, limit: Int) throws(DNSWireError) -> (DNSName, Int) {
        var wire: [UInt8] = []
        var p = start
        var bound = limit
        var after: Int? = nil
        var lowest = start
        var hops = 0
        while true {
            guard p < bound else { throw .truncated("name at offset \(start) runs past its end") }
            let len = Int(b[p])
            switch len & 0xC0 {
            case 0x00:
                guard p + 1 + len <= bound else { throw .truncated("label at offset \(p) runs past its end") }
                guard wire.count + 1 + len <= 255 else { throw .malformedName("name at offset \(start) longer than 255 bytes") }
                wire += b[p...(p + len)]
                if len == 0 { return (DNSName(trustedWire: wire), after ?? p + 1) }
                p += 1 + len
            case 0xC0:
                guard p + 1 < bound else { throw .truncated("pointer at offset \(p) cut short") }
                let target = (len & 0x3F) << 8 | Int(b[p + 1])
                guard target >= Header.size, target < lowest else {
                    throw .malformedName("pointer at offset \(p) to \(target) does not point backwards into the body")
                }
                hops += 1
                guard hops <= Query.maxPointerHops else { throw .malformedName("more than \(Query.maxPointerHops) pointers in a name") }
                if after == nil { after = p + 2 }
                lowest = target
                bound = b.count
                p = target
            default:
                throw .malformedName("label type 0x\(String(len & 0xC0, radix: 16)) at offset \(p)")
            }
        }
    }

    func u16(_ at: Int) -> UInt16 { UInt16(b[at]) << 8 | UInt16(b[at + 1]) }
    func u32(_ at: Int) -> UInt32 { UInt32(u16(at)) << 16 | UInt32(u16(at + 2)) }
}
