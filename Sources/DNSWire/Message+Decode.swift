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
            m.edns = EDNS(
                udpPayloadSize: rrClass.rawValue, version: UInt8(ttl >> 16 & 0xFF), dnssecOK: ttl & 0x8000 != 0,
                compactOK: ttl & 0x4000 != 0)
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
                if u16(o) == EDNSOptionCode.clientSubnet {
                    // RFC 7871 §7.1.1, as `Query.decode` reads it: one sound option at most.
                    guard !m.ednsOptions.contains(where: { $0.code == EDNSOptionCode.clientSubnet }) else {
                        throw .malformed("more than one ECS option")
                    }
                    let response = m.flags & Header.qrBit != 0
                    let read = b.withUnsafeBytes {
                        ClientSubnet.read($0, at: o + 4, length: len, inResponse: response)
                    }
                    if case .failure(let problem) = read { throw .malformed("ECS option: \(problem)") }
                }
                m.ednsOptions.append(EDNSOption(code: u16(o), data: Array(b[(o + 4)..<(o + 4 + len)])))
                o += 4 + len
            }
            return ResourceRecord(name: owner, type: type, rrClass: rrClass, ttl: ttl, rdata: [])
        }
        let rdata = try self.rdata(type, rrClass, start, end)
        return ResourceRecord(name: owner, type: type, rrClass: rrClass, ttl: ttl, rdata: rdata)
    }

    /// The rdata with embedded names decompressed for the types whose layout asks for it
    /// (`RDataLayout.decompressed`); every other type is copied as it is (RFC 3597 §5).
    func rdata(_ type: RRType, _ rrClass: DNSClass, _ start: Int, _ end: Int) throws(DNSWireError) -> [UInt8] {
        guard let layout = type.rdataLayout, layout.decompressed else { return Array(b[start..<end]) }
        // Empty rdata means "delete" in dynamic updates (RFC 2136 §2.5), only with class ANY or NONE.
        if start == end, rrClass.rawValue == 255 || rrClass.rawValue == 254 { return [] }
        var out: [UInt8] = []
        var p = start
        func fixed(_ k: Int) throws(DNSWireError) {
            guard p + k <= end else { throw .malformed("\(type) rdata shorter than its fixed fields") }
            out += b[p..<(p + k)]
            p += k
        }
        try fixed(layout.prefix)
        for _ in 0..<layout.names {
            let (name, next) = try name(at: p, limit: end)
            out += name.wire
            p = next
        }
        try fixed(layout.suffix)
        guard p == end else { throw .malformed("\(type) rdata has \(end - p) bytes after its fields") }
        return out
    }

    /// The possibly compressed name at `start`, whose own bytes end before `limit`.
    func name(at start: Int, limit: Int) throws(DNSWireError) -> (DNSName, Int) {
        try DNSName.read(b, at: start, limit: limit)
    }

    func u16(_ at: Int) -> UInt16 { UInt16(b[at]) << 8 | UInt16(b[at + 1]) }
    func u32(_ at: Int) -> UInt32 { UInt32(u16(at)) << 16 | UInt32(u16(at + 2)) }
}
