import DNSWire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One record statement: owner, TTL and class in either order, type, rdata (RFC 1035 §5.1).
extension MasterFileCursor {
    typealias Token = MasterFileLexer.Token

    func record() throws(Problem) -> ZoneEntry {
        let b = lexer.bytes
        let tokens = statement.tokens
        var i = statement.ownerOmitted ? 0 : 1
        let ownerAbsolute = !statement.ownerOmitted && endsWithUnescapedDot(tokens[0])
        var explicitTTL: UInt32?
        var otherClass = false
        var classSeen = false
        while i < tokens.count, !tokens[i].quoted {
            let t = tokens[i]
            if explicitTTL == nil, isDecimalDigit(b[t.start]) {
                explicitTTL = try ttl(t)
            } else if !classSeen, let isIN = classToken(t) {
                classSeen = true
                otherClass = !isIN
            } else {
                break
            }
            i += 1
        }
        guard i < tokens.count, !statement.odd, !otherClass, !tokens[i].quoted else {
            return try fallback(explicitTTL: explicitTTL, ownerAbsolute: ownerAbsolute)
        }
        let typeToken = tokens[i]
        let rdataTokens = tokens[(i + 1)...]
        var type = MasterFileCursor.nativeType(b, typeToken)
        rdata.removeAll(keepingCapacity: true)
        var ok = false
        if let first = rdataTokens.first, !first.quoted, first.end - first.start == 2, b[first.start] == backslash,
            b[first.start + 1] == UInt8(ascii: "#")
        {
            if type == nil { type = RRType(text: text(typeToken)) }
            ok = type != nil && MasterFileRdata.generic(b, rdataTokens.dropFirst(), into: &rdata)
        } else if let type {
            ok = nativeRdata(type, rdataTokens)
        }
        guard ok, let type, let owner = owner() else {
            return try fallback(explicitTTL: explicitTTL, ownerAbsolute: ownerAbsolute)
        }
        guard rdata.count <= Int(UInt16.max) else { throw problem(statement.line, "rdata longer than 65535 bytes") }
        let record = ResourceRecord(
            name: owner, type: type, rrClass: .in, ttl: explicitTTL ?? defaultTTL ?? 3600, rdata: Array(rdata))
        return .record(record, line: statement.line, ownerAbsolute: ownerAbsolute)
    }

    /// The record's owner; the previous one when omitted or written the same way again.
    private func owner() -> DNSName? {
        if statement.ownerOmitted { return previousOwner }
        let t = statement.tokens[0]
        let b = lexer.bytes
        if let p = previousOwnerToken, let previousOwner, p.end - p.start == t.end - t.start,
            memcmp(b.baseAddress! + p.start, b.baseAddress! + t.start, t.end - t.start) == 0
        {
            return previousOwner
        }
        var wire: [UInt8] = []
        wire.reserveCapacity(t.end - t.start + origin.wire.count + 1)
        guard MasterFileRdata.name(b, t, origin: origin.wire, into: &wire) else { return nil }
        let name = DNSName(trustedWire: wire)
        previousOwner = name
        previousOwnerToken = t
        return name
    }

    /// A TTL field: seconds, or units as libldns reads them (`1h30m`); nil-free or an error.
    private func ttl(_ t: Token) throws(Problem) -> UInt32 {
        if let v = MasterFileRdata.number(lexer.bytes, t, max: 0xFFFF_FFFF) { return UInt32(v) }
        let written = text(t)
        guard let v = LDNSCursor.period(written) else { throw problem(statement.line, "bad TTL \(written)") }
        return v
    }

    /// True for `IN`, false for another class libldns knows (CH, HS, CS, NONE, ANY, CLASSnnn),
    /// nil when the token is not a class.
    private func classToken(_ t: Token) -> Bool? {
        let key = MasterFileCursor.upperKey(lexer.bytes, t)
        if key == MasterFileCursor.keyIN { return true }
        if MasterFileCursor.otherClasses.contains(key) { return false }
        let n = t.end - t.start
        if n > 5,
            MasterFileCursor.upperKey(lexer.bytes, Token(start: t.start, end: t.start + 5, quoted: false))
                == MasterFileCursor.keyCLASS
        {
            return false
        }
        return nil
    }

    /// The rdata of the types read natively, into `rdata`; false to leave the record to libldns.
    private func nativeRdata(_ type: RRType, _ tokens: ArraySlice<Token>) -> Bool {
        let b = lexer.bytes
        let o = origin.wire
        var t = tokens.makeIterator()
        switch type {
        case .a:
            guard tokens.count == 1 else { return false }
            return MasterFileRdata.ipv4(b, t.next()!, into: &rdata)
        case .aaaa:
            guard tokens.count == 1 else { return false }
            return MasterFileRdata.ipv6(b, t.next()!, into: &rdata)
        case .ns, .cname, .ptr, .dname:
            guard tokens.count == 1 else { return false }
            return MasterFileRdata.name(b, t.next()!, origin: o, into: &rdata)
        case .mx:
            guard tokens.count == 2 else { return false }
            return MasterFileRdata.u16(b, t.next()!, into: &rdata)
                && MasterFileRdata.name(b, t.next()!, origin: o, into: &rdata)
        case .srv:
            guard tokens.count == 4 else { return false }
            return MasterFileRdata.u16(b, t.next()!, into: &rdata) && MasterFileRdata.u16(b, t.next()!, into: &rdata)
                && MasterFileRdata.u16(b, t.next()!, into: &rdata)
                && MasterFileRdata.name(b, t.next()!, origin: o, into: &rdata)
        case .soa:
            guard tokens.count == 7 else { return false }
            guard MasterFileRdata.name(b, t.next()!, origin: o, into: &rdata),
                MasterFileRdata.name(b, t.next()!, origin: o, into: &rdata)
            else { return false }
            while let field = t.next() {
                guard MasterFileRdata.u32(b, field, into: &rdata) else { return false }
            }
            return true
        case .txt, .spf:
            guard !tokens.isEmpty else { return false }
            while let s = t.next() {
                guard MasterFileRdata.characterString(b, s, into: &rdata) else { return false }
            }
            return true
        case .caa:
            // Flags, then the tag as a character-string of letters and digits, then the value as
            // bytes to the end of the rdata (RFC 8659 §4.1).
            guard tokens.count == 3, let flags = MasterFileRdata.number(b, t.next()!, max: 255) else { return false }
            rdata.append(UInt8(flags))
            let tag = t.next()!
            guard !tag.quoted, (1...255).contains(tag.end - tag.start),
                (tag.start..<tag.end).allSatisfy({ isDecimalDigit(b[$0]) || (b[$0] | 0x20) &- 97 < 26 })
            else { return false }
            rdata.append(UInt8(tag.end - tag.start))
            rdata += UnsafeBufferPointer(rebasing: b[tag.start..<tag.end])
            let value = t.next()!
            return value.quoted && MasterFileRdata.unescaped(b, value, into: &rdata)
        default:
            return false
        }
    }

    private func endsWithUnescapedDot(_ t: Token) -> Bool {
        let b = lexer.bytes
        guard t.end > t.start, b[t.end - 1] == UInt8(ascii: ".") else { return false }
        var backslashes = 0
        var i = t.end - 2
        while i >= t.start, b[i] == backslash {
            backslashes += 1
            i -= 1
        }
        return backslashes % 2 == 0
    }

    /// Up to eight bytes of a token, upper-cased, packed into a word; 0 for longer tokens.
    static func upperKey(_ b: UnsafeBufferPointer<UInt8>, _ t: Token) -> UInt64 {
        let n = t.end - t.start
        guard n <= 8, !t.quoted else { return 0 }
        var key: UInt64 = 0
        for i in t.start..<t.end {
            let c = b[i]
            key = key << 8 | UInt64((c &- 97) < 26 ? c & ~0x20 : c)
        }
        return key
    }

    static func key(_ s: StaticString) -> UInt64 {
        var key: UInt64 = 0
        for i in 0..<s.utf8CodeUnitCount { key = key << 8 | UInt64(s.utf8Start[i]) }
        return key
    }

    static let keyIN = key("IN")
    static let keyCLASS = key("CLASS")
    static let otherClasses: [UInt64] = [key("CH"), key("HS"), key("CS"), key("NONE"), key("ANY")]
    static let nativeTypes: [(UInt64, RRType)] = [
        (key("A"), .a), (key("AAAA"), .aaaa), (key("NS"), .ns), (key("CNAME"), .cname), (key("MX"), .mx),
        (key("TXT"), .txt), (key("SOA"), .soa), (key("PTR"), .ptr), (key("SRV"), .srv), (key("CAA"), .caa),
        (key("DNAME"), .dname), (key("SPF"), .spf),
    ]

    static func nativeType(_ b: UnsafeBufferPointer<UInt8>, _ t: Token) -> RRType? {
        let k = upperKey(b, t)
        for (key, type) in nativeTypes where key == k { return type }
        return nil
    }
}
