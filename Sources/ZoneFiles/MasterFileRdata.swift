import DNSWire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Presentation-to-wire conversion of the fields the common record types are made of, straight
/// from the file's bytes. Each function appends to `out` and returns false when the text is not
/// in the plain form it knows: the record then goes to libldns, which accepts or rejects it with
/// its own error text. So these may be strict, never lenient.
enum MasterFileRdata {
    typealias Bytes = UnsafeBufferPointer<UInt8>

    /// A domain name (RFC 1035 §5.1): `@` is the origin, a name without a trailing dot is relative
    /// to it, `\X` and `\DDD` escape a byte. Case is kept.
    static func name(_ b: Bytes, _ t: MasterFileLexer.Token, origin: [UInt8], into out: inout [UInt8]) -> Bool {
        if t.quoted || t.start == t.end { return false }
        if t.end - t.start == 1 {
            if b[t.start] == UInt8(ascii: "@") {
                out += origin
                return true
            }
            if b[t.start] == UInt8(ascii: ".") {
                out.append(0)
                return true
            }
        }
        let base = out.count
        var lengthAt = out.count
        out.append(0)
        var i = t.start
        var absolute = false
        while i < t.end {
            var c = b[i]
            if c == UInt8(ascii: ".") {
                let length = out.count - lengthAt - 1
                guard length > 0 else { return false }
                out[lengthAt] = UInt8(length)
                i += 1
                if i == t.end {
                    absolute = true
                    break
                }
                lengthAt = out.count
                out.append(0)
                continue
            }
            if c == backslash {
                guard let (byte, width) = escape(b, at: i, end: t.end) else { return false }
                c = byte
                i += width
            } else {
                i += 1
            }
            out.append(c)
            if out.count - lengthAt - 1 > 63 { return false }
        }
        if absolute {
            out.append(0)
        } else {
            let length = out.count - lengthAt - 1
            guard length > 0 else { return false }
            out[lengthAt] = UInt8(length)
            out += origin
        }
        return out.count - base <= 255
    }

    /// An unsigned decimal of at most `max`, digits only.
    static func number(_ b: Bytes, _ t: MasterFileLexer.Token, max: UInt64) -> UInt64? {
        if t.quoted || t.start == t.end || t.end - t.start > 10 { return nil }
        var v: UInt64 = 0
        for i in t.start..<t.end {
            let c = b[i]
            guard isDecimalDigit(c) else { return nil }
            v = v * 10 + UInt64(c - 48)
        }
        return v <= max ? v : nil
    }

    static func u16(_ b: Bytes, _ t: MasterFileLexer.Token, into out: inout [UInt8]) -> Bool {
        guard let v = number(b, t, max: 0xFFFF) else { return false }
        out.append(UInt8(v >> 8))
        out.append(UInt8(v & 0xFF))
        return true
    }

    static func u32(_ b: Bytes, _ t: MasterFileLexer.Token, into out: inout [UInt8]) -> Bool {
        guard let v = number(b, t, max: 0xFFFF_FFFF) else { return false }
        out.append(UInt8(v >> 24))
        out.append(UInt8((v >> 16) & 0xFF))
        out.append(UInt8((v >> 8) & 0xFF))
        out.append(UInt8(v & 0xFF))
        return true
    }

    /// A dotted quad, as `inet_pton` reads it: four decimals 0…255 without leading zeros.
    static func ipv4(_ b: Bytes, _ t: MasterFileLexer.Token, into out: inout [UInt8]) -> Bool {
        if t.quoted { return false }
        var i = t.start
        for part in 0..<4 {
            var v = 0
            let first = i
            while i < t.end, isDecimalDigit(b[i]) {
                v = v * 10 + Int(b[i] - 48)
                i += 1
                if i - first > 3 { return false }
            }
            let digits = i - first
            guard digits > 0, v <= 255, digits == 1 || b[first] != UInt8(ascii: "0") else { return false }
            out.append(UInt8(v))
            if part < 3 {
                guard i < t.end, b[i] == UInt8(ascii: ".") else { return false }
                i += 1
            }
        }
        return i == t.end
    }

    /// An IPv6 address, read by the C library as libldns does.
    static func ipv6(_ b: Bytes, _ t: MasterFileLexer.Token, into out: inout [UInt8]) -> Bool {
        let length = t.end - t.start
        if t.quoted || length == 0 || length > 45 { return false }
        var text = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))  // 48 bytes, NUL-filled
        var address = in6_addr()
        let ok = withUnsafeMutableBytes(of: &text) { buffer -> Bool in
            for i in 0..<length { buffer[i] = b[t.start + i] }
            return withUnsafeMutableBytes(of: &address) { inet_pton(AF_INET6, buffer.baseAddress, $0.baseAddress) } == 1
        }
        guard ok else { return false }
        withUnsafeBytes(of: &address) { out += $0 }
        return true
    }

    /// A character-string (RFC 1035 §3.3): a length byte, then the bytes with escapes resolved.
    static func characterString(_ b: Bytes, _ t: MasterFileLexer.Token, into out: inout [UInt8]) -> Bool {
        let lengthAt = out.count
        out.append(0)
        guard unescaped(b, t, into: &out), out.count - lengthAt - 1 <= 255 else { return false }
        out[lengthAt] = UInt8(out.count - lengthAt - 1)
        return true
    }

    /// The token's bytes with `\X` and `\DDD` resolved.
    static func unescaped(_ b: Bytes, _ t: MasterFileLexer.Token, into out: inout [UInt8]) -> Bool {
        var i = t.start
        while i < t.end {
            let c = b[i]
            if c != backslash {
                out.append(c)
                i += 1
                continue
            }
            guard let (byte, width) = escape(b, at: i, end: t.end) else { return false }
            out.append(byte)
            i += width
        }
        return true
    }

    /// The escape at `i` (a backslash, RFC 1035 §5.1): `\DDD` (a decimal byte) or `\X` (X itself),
    /// and how many bytes it spans; nil when it is cut short or `DDD` is over 255.
    @inline(__always)
    static func escape(_ b: Bytes, at i: Int, end: Int) -> (byte: UInt8, width: Int)? {
        guard i + 1 < end else { return nil }
        let d = b[i + 1]
        guard isDecimalDigit(d) else { return (d, 2) }
        guard i + 3 < end, isDecimalDigit(b[i + 2]), isDecimalDigit(b[i + 3]) else { return nil }
        let v = Int(d - 48) * 100 + Int(b[i + 2] - 48) * 10 + Int(b[i + 3] - 48)
        return v <= 255 ? (UInt8(v), 4) : nil
    }

    /// RFC 3597 generic rdata after `\#`: the length, then hex in any number of tokens.
    static func generic(_ b: Bytes, _ tokens: ArraySlice<MasterFileLexer.Token>, into out: inout [UInt8]) -> Bool {
        guard let first = tokens.first, let length = number(b, first, max: 0xFFFF) else { return false }
        let base = out.count
        var high: UInt8? = nil
        for t in tokens.dropFirst() {
            if t.quoted { return false }
            for i in t.start..<t.end {
                guard let v = hexValue(b[i]) else { return false }
                if let h = high {
                    out.append(h << 4 | v)
                    high = nil
                } else {
                    high = v
                }
            }
        }
        return high == nil && out.count - base == Int(length)
    }

    @inline(__always)
    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 65...70: c - 55
        case 97...102: c - 87
        default: nil
        }
    }
}
