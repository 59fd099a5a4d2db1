/// What a `dns` check makes of a datagram that came back (RFC 1035 §4.1.1): nil for anything that
/// is not the reply to our query (shorter than a header, another id, QR clear), which a resolver
/// ignores; else up when its rcode is one the check accepts. Bytes in, a verdict out: the prober's
/// handler and the fuzzer call the same function.
public enum DNSCheckReply {
    public static func judge(_ reply: some Collection<UInt8>, id: UInt16, rcodes: Set<Int>) -> (up: Bool, text: String)?
    {
        guard reply.count >= 12 else { return nil }
        var header = reply.makeIterator()
        let (b0, b1, b2, b3) = (header.next()!, header.next()!, header.next()!, header.next()!)
        guard UInt16(b0) << 8 | UInt16(b1) == id, b2 & 0x80 != 0 else { return nil }
        let rcode = Int(b3 & 0x0F)
        return (rcodes.contains(rcode), "rcode \(name(rcode))")
    }

    static func name(_ rcode: Int) -> String {
        switch rcode {
        case 0: "NOERROR"
        case 1: "FORMERR"
        case 2: "SERVFAIL"
        case 3: "NXDOMAIN"
        case 4: "NOTIMP"
        case 5: "REFUSED"
        default: "\(rcode)"
        }
    }
}
