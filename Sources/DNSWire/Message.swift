/// A whole DNS message as values: for tests, clients and zone transfers, never the query hot path
/// (that is `Query.decode` and `ResponseWriter`, which do not allocate). Decoding treats every
/// byte as hostile; encoding writes names uncompressed, which every reader accepts.
public struct Message: Sendable, Equatable {
    public var id: UInt16
    /// The header's second word (QR, opcode, AA, TC, RD, RA, Z, AD, CD) with the rcode bits clear.
    public var flags: UInt16
    /// The full response code: the header's 4 bits, plus the OPT record's upper 8 bits when there
    /// is one (RFC 6891 §6.1.3), so BADVERS reads as 16.
    public var rcode: UInt16
    public var question: [Question]
    public var answer: [ResourceRecord]
    public var authority: [ResourceRecord]
    /// The additional section without the OPT pseudo-record, which is `edns`.
    public var additional: [ResourceRecord]
    public var edns: EDNS?
    /// The OPT record's options in order (empty without EDNS).
    public var ednsOptions: [EDNSOption]

    public init(
        id: UInt16 = 0, flags: UInt16 = 0, rcode: UInt16 = 0, question: [Question] = [],
        answer: [ResourceRecord] = [], authority: [ResourceRecord] = [], additional: [ResourceRecord] = [],
        edns: EDNS? = nil, ednsOptions: [EDNSOption] = []
    ) {
        self.id = id
        self.flags = flags & 0xFFF0
        self.rcode = rcode
        self.question = question
        self.answer = answer
        self.authority = authority
        self.additional = additional
        self.edns = edns
        self.ednsOptions = ednsOptions
    }

    /// A query for one question, as a stub resolver sends it (RD set unless told otherwise).
    public static func query(
        id: UInt16 = 0, _ name: DNSName, _ type: RRType, class qclass: DNSClass = .in, flags: UInt16 = Header.rdBit,
        edns: EDNS? = nil, ednsOptions: [EDNSOption] = []
    ) -> Message {
        Message(
            id: id, flags: flags, question: [Question(name: name, type: type, qclass: qclass)], edns: edns,
            ednsOptions: ednsOptions)
    }

    public var opcode: UInt8 { Header.opcode(flags) }
    public func has(_ bit: UInt16) -> Bool { flags & bit != 0 }
}

/// One entry of the question section (RFC 1035 §4.1.2).
public struct Question: Sendable, Hashable, CustomStringConvertible {
    public var name: DNSName
    public var type: RRType
    public var qclass: DNSClass

    public init(name: DNSName, type: RRType, qclass: DNSClass = .in) {
        self.name = name
        self.type = type
        self.qclass = qclass
    }

    public var description: String { "\(name) \(qclass) \(type)" }
}

/// One EDNS option (RFC 6891 §6.1.2): a code and its opaque data (a cookie is code 10).
public struct EDNSOption: Sendable, Hashable {
    public var code: UInt16
    public var data: [UInt8]

    public init(code: UInt16, data: [UInt8]) {
        self.code = code
        self.data = data
    }
}

extension Message {
    /// The message in wire format, every name uncompressed and the OPT record last.
    public func encode() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        func u16(_ v: UInt16) { out += [UInt8(v >> 8), UInt8(v & 0xFF)] }
        func u32(_ v: UInt32) { u16(UInt16(v >> 16)); u16(UInt16(v & 0xFFFF)) }
        u16(id)
        u16(flags & 0xFFF0 | rcode & 0xF)
        u16(UInt16(question.count))
        u16(UInt16(answer.count))
        u16(UInt16(authority.count))
        u16(UInt16(additional.count + (edns == nil ? 0 : 1)))
        for q in question {
            out += q.name.wire
            u16(q.type.rawValue)
            u16(q.qclass.rawValue)
        }
        for r in answer + authority + additional {
            out += r.name.wire
            u16(r.type.rawValue)
            u16(r.rrClass.rawValue)
            u32(r.ttl)
            u16(UInt16(r.rdata.count))
            out += r.rdata
        }
        if let e = edns {
            out.append(0)
            u16(RRType.opt.rawValue)
            u16(e.udpPayloadSize)
            u32(
                UInt32(rcode >> 4 & 0xFF) << 24 | UInt32(e.version) << 16 | (e.dnssecOK ? 0x8000 : 0)
                    | (e.compactOK ? 0x4000 : 0))
            u16(UInt16(ednsOptions.reduce(0) { $0 + 4 + $1.data.count }))
            for o in ednsOptions {
                u16(o.code)
                u16(UInt16(o.data.count))
                out += o.data
            }
        }
        return out
    }
}

extension EDNS {
    /// What a client offers: its UDP payload size, EDNS version and the DO bit.
    public init(payload: UInt16, version: UInt8 = 0, dnssecOK: Bool = false, compactOK: Bool = false) {
        self.init(udpPayloadSize: payload, version: version, dnssecOK: dnssecOK, compactOK: compactOK)
    }
}
