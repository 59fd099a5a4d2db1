/// A query as read off the wire, without copying: the question name stays in the packet and is
/// referred to by offsets. Every byte is treated as hostile: each read is bounds
/// checked, counts and RDLENGTHs are checked against the message, labels ≤ 63, names ≤ 255.
public struct Query: Sendable {
    public var id: UInt16
    public var flags: UInt16
    /// Offset of the question name (always 12) and the offset just past QCLASS.
    public var qnameStart: Int
    public var qnameEnd: Int
    public var questionEnd: Int
    public var qtype: RRType
    public var qclass: DNSClass
    public var edns: EDNS?
    /// The OPT record asked for the server's NSID (RFC 5001).
    public var nsidRequested = false
    /// Where the first COOKIE option's data starts in the message (RFC 7873), 0 when there is
    /// none, and its length: 8 (a client cookie alone) or 16 to 40 (with a server cookie).
    public var cookieStart = 0
    public var cookieLength = 0
    /// The EDNS Client Subnet option (RFC 7871), when the query has a sound one.
    public var clientSubnet: ClientSubnet? = nil

    public var opcode: UInt8 { Header.opcode(flags) }
    public var recursionDesired: Bool { flags & Header.rdBit != 0 }
    public var checkingDisabled: Bool { flags & Header.cdBit != 0 }
}

/// What the client said in its OPT record (RFC 6891 §6.1.2).
public struct EDNS: Sendable, Equatable {
    public var udpPayloadSize: UInt16
    public var version: UInt8
    public var dnssecOK: Bool
    /// The Compact Answers OK flag (RFC 9824 §5): a compact denial may say NXDOMAIN.
    public var compactOK = false
}

/// The outcome of reading a message that claims to be a query.
public enum QueryDecodeResult: Sendable {
    /// A well-formed query (the opcode may still be one we don't implement).
    case query(Query)
    /// A header could be read but the rest is malformed: answer FORMERR, echoing the id, opcode
    /// and RD bit; `questionEnd` is set when the question itself was readable and can be echoed.
    case formErr(id: UInt16, flags: UInt16, questionEnd: Int?, reason: FormErrReason)
    /// Too short for a header, or a response (QR=1): never answered (RFC 1035 §4.1.1; answering
    /// responses invites loops and reflection).
    case drop
}

/// Why a message was answered FORMERR: a value, so that judging garbage allocates nothing (the
/// text is made only when someone prints it).
public enum FormErrReason: Sendable, Equatable, CustomStringConvertible {
    case questionCount(Int)
    case questionName
    case questionNameTooLong
    case questionTruncated
    case recordTruncated
    case optOutsideAdditional
    case rdLengthPastEnd
    case secondOPT
    case optOwnerNotRoot
    case optOptionTruncated
    case optOptionTooLong
    case cookieLength(Int)
    case secondClientSubnet
    case clientSubnet(ClientSubnet.Defect)
    case trailingBytes(Int)

    public var description: String {
        switch self {
        case .questionCount(let n): "QDCOUNT \(n), expected 1"
        case .questionName: "question name truncated or compressed"
        case .questionNameTooLong: "question name longer than 255 bytes"
        case .questionTruncated: "question truncated"
        case .recordTruncated: "record truncated"
        case .optOutsideAdditional: "OPT outside the additional section"
        case .rdLengthPastEnd: "RDLENGTH past the end of the message"
        case .secondOPT: "more than one OPT record"
        case .optOwnerNotRoot: "OPT owner is not the root"
        case .optOptionTruncated: "OPT option truncated"
        case .optOptionTooLong: "OPT option longer than its record"
        case .cookieLength(let n): "COOKIE option of \(n) bytes"
        case .secondClientSubnet: "more than one ECS option"
        case .clientSubnet(let defect): "ECS option: \(defect)"
        case .trailingBytes(let n): "\(n) bytes after the last record"
        }
    }
}

extension Query {
    /// Reads a query message. Compression pointers are not accepted in the question (there is
    /// nothing before it to point to); pointers elsewhere must point backwards, with a hop limit.
    public static func decode(_ p: UnsafeRawBufferPointer) -> QueryDecodeResult {
        let n = p.count
        guard n >= Header.size else { return .drop }
        let id = p.u16(0)
        let flags = p.u16(2)
        if flags & Header.qrBit != 0 { return .drop }
        let qd = Int(p.u16(4)), an = Int(p.u16(6)), ns = Int(p.u16(8)), ar = Int(p.u16(10))
        guard qd == 1 else {
            return .formErr(id: id, flags: flags, questionEnd: nil, reason: .questionCount(qd))
        }
        // Question name: plain labels only (there is nothing before it to point to).
        guard let end = WireName.uncompressedEnd(p, from: Header.size) else {
            return .formErr(id: id, flags: flags, questionEnd: nil, reason: .questionName)
        }
        guard end - Header.size <= 255 else {
            return .formErr(id: id, flags: flags, questionEnd: nil, reason: .questionNameTooLong)
        }
        var i = end
        let qnameEnd = i
        guard i + 4 <= n else { return .formErr(id: id, flags: flags, questionEnd: nil, reason: .questionTruncated) }
        let qtype = RRType(p.u16(i))
        let qclass = DNSClass(rawValue: p.u16(i + 2))
        i += 4
        let questionEnd = i
        func bad(_ reason: FormErrReason) -> QueryDecodeResult {
            .formErr(id: id, flags: flags, questionEnd: questionEnd, reason: reason)
        }
        // Answer and authority sections: a query normally has none; skip them with full checks,
        // and an OPT there is malformed (RFC 6891 §6.1.1).
        for _ in 0..<(an + ns) {
            guard let next = WireName.skip(p, at: i), next + 10 <= n else { return bad(.recordTruncated) }
            if p.u16(next) == RRType.opt.rawValue { return bad(.optOutsideAdditional) }
            let rdlen = Int(p.u16(next + 8))
            i = next + 10 + rdlen
            guard i <= n else { return bad(.rdLengthPastEnd) }
        }
        var edns: EDNS?
        var nsid = false
        var cookieStart = 0
        var cookieLength = 0
        var subnet: ClientSubnet?
        for _ in 0..<ar {
            guard let next = WireName.skip(p, at: i), next + 10 <= n else { return bad(.recordTruncated) }
            let type = p.u16(next)
            let rdlen = Int(p.u16(next + 8))
            guard next + 10 + rdlen <= n else { return bad(.rdLengthPastEnd) }
            if type == RRType.opt.rawValue {
                guard edns == nil else { return bad(.secondOPT) }
                guard next == i + 1, p[i] == 0 else { return bad(.optOwnerNotRoot) }
                let ttl = p.u32(next + 4)
                edns = EDNS(
                    udpPayloadSize: p.u16(next + 2),
                    version: UInt8((ttl >> 16) & 0xFF),
                    dnssecOK: ttl & 0x8000 != 0,
                    compactOK: ttl & 0x4000 != 0
                )
                // Options are length-prefixed; check they tile RDATA exactly. Unknown ones are ignored.
                var o = next + 10
                let end = o + rdlen
                while o < end {
                    guard o + 4 <= end else { return bad(.optOptionTruncated) }
                    let code = p.u16(o)
                    let olen = Int(p.u16(o + 2))
                    guard o + 4 + olen <= end else { return bad(.optOptionTooLong) }
                    if code == EDNSOptionCode.nsid {
                        nsid = true  // RFC 5001 §2.3: the request's option is empty; any data is ignored.
                    } else if code == EDNSOptionCode.cookie {
                        // RFC 7873 §5.2.2: a client cookie of 8 bytes, then none or 8 to 32 more.
                        guard olen == 8 || (16...40).contains(olen) else {
                            return bad(.cookieLength(olen))
                        }
                        if cookieStart == 0 {
                            cookieStart = o + 4
                            cookieLength = olen
                        }
                    } else if code == EDNSOptionCode.clientSubnet {
                        // RFC 7871 §7.1.1: a malformed option, or a second one, is FORMERR.
                        guard subnet == nil else { return bad(.secondClientSubnet) }
                        switch ClientSubnet.read(p, at: o + 4, length: olen) {
                        case .success(let s): subnet = s
                        case .failure(let problem): return bad(.clientSubnet(problem))
                        }
                    }
                    o += 4 + olen
                }
            }
            i = next + 10 + rdlen
        }
        guard i == n else { return bad(.trailingBytes(n - i)) }
        return .query(
            Query(
                id: id, flags: flags, qnameStart: Header.size, qnameEnd: qnameEnd, questionEnd: questionEnd,
                qtype: qtype, qclass: qclass, edns: edns, nsidRequested: nsid, cookieStart: cookieStart,
                cookieLength: cookieLength, clientSubnet: subnet
            )
        )
    }
}

extension UnsafeRawBufferPointer {
    @inline(__always) public func u16(_ i: Int) -> UInt16 {
        UInt16(self[i]) << 8 | UInt16(self[i + 1])
    }
    @inline(__always) public func u32(_ i: Int) -> UInt32 {
        UInt32(self[i]) << 24 | UInt32(self[i + 1]) << 16 | UInt32(self[i + 2]) << 8 | UInt32(self[i + 3])
    }
}
