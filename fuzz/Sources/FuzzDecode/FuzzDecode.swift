import DNSWire
import FuzzSupport

/// libFuzzer target for the two decoders: `Query.decode` (the hot path, no allocation) and
/// `Message.decode` (whole messages as values). Besides not crashing, they must agree with each
/// other and with themselves:
/// - `Query.decode` drops exactly the inputs shorter than a header or with QR set, and what it
///   returns lies inside the input;
/// - whatever `Message.decode` accepts re-encodes to a message that decodes to the same value;
/// - a query `Message.decode` accepts (QR clear, one question) is a query for `Query.decode` too,
///   with the same id, type, class and EDNS (the hot path is never stricter than the full decoder);
/// - every name decoded prints as text that parses back to the same wire bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDecode(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    checkQueryDecode(input)
    checkMessageDecode(input)
    return 0
}

func checkQueryDecode(_ input: UnsafeRawBufferPointer) {
    let n = input.count
    let isResponseOrShort = n < Header.size || input[2] & 0x80 != 0
    switch Query.decode(input) {
    case .drop:
        Invariant.check(isResponseOrShort, "dropped a query with a readable header", input: input)
    case .formErr(let id, let flags, let questionEnd, let reason):
        Invariant.check(!isResponseOrShort, "FORMERR for a response or a short packet", input: input)
        Invariant.check(id == input.u16(0) && flags == input.u16(2), "FORMERR echoes another header", input: input)
        Invariant.check(!reason.description.isEmpty, "FORMERR without a reason", input: input)
        if let end = questionEnd {
            Invariant.check(
                end >= Header.size + 5 && end <= n, "FORMERR question end \(end) outside 17...\(n)", input: input)
        }
    case .query(let q):
        Invariant.check(!isResponseOrShort, "a response decoded as a query", input: input)
        Invariant.check(
            q.id == input.u16(0) && q.flags == input.u16(2), "query header differs from the input", input: input)
        Invariant.check(input.u16(4) == 1, "a query without exactly one question", input: input)
        Invariant.check(q.qnameStart == Header.size, "qname does not start at 12", input: input)
        Invariant.check(
            q.qnameEnd + 4 == q.questionEnd && q.questionEnd <= n, "question bounds \(q.questionEnd) > \(n)",
            input: input)
        let qname = Array(input[q.qnameStart..<q.qnameEnd])
        Invariant.check(qname.count <= 255, "qname of \(qname.count) bytes", input: input)
        guard let name = try? DNSName(wire: qname) else {
            Invariant.fail("qname is not a valid uncompressed name", input: input, file: #fileID, line: #line)
        }
        Invariant.check(q.qtype.rawValue == input.u16(q.qnameEnd), "qtype differs", input: input)
        Invariant.check(q.qclass.rawValue == input.u16(q.qnameEnd + 2), "qclass differs", input: input)
        checkText(name, input)
    }
}

func checkMessageDecode(_ input: UnsafeRawBufferPointer) {
    let bytes = Array(input)
    guard let m = try? Message.decode(bytes) else { return }
    let encoded = m.encode()
    guard let again = try? Message.decode(encoded) else {
        Invariant.fail(
            "re-encoded message does not decode: \(Invariant.hex(encoded))", input: input, file: #fileID, line: #line)
    }
    Invariant.check(again == m, "re-encoded message decodes differently: \(Invariant.hex(encoded))", input: input)
    for q in m.question { checkText(q.name, input) }
    for r in m.answer + m.authority + m.additional {
        checkText(r.name, input)
        guard decompressed.contains(r.type) else { continue }
        for range in ResourceRecord.embeddedNameRanges(type: r.type, rdata: r.rdata) {
            Invariant.check(
                range.lowerBound >= 0 && range.upperBound <= r.rdata.count, "embedded name range outside rdata",
                input: input)
            Invariant.check(
                (try? DNSName(wire: Array(r.rdata[range]))) != nil, "embedded name in \(r.type) rdata is not a name",
                input: input)
        }
    }
    // The hot path must accept every query the full decoder accepts, and read it the same way.
    if input[2] & 0x80 == 0 && m.question.count == 1 {
        guard case .query(let q) = Query.decode(input) else {
            Invariant.fail(
                "Message.decode accepts a query that Query.decode rejects", input: input, file: #fileID, line: #line)
        }
        Invariant.check(
            q.id == m.id && q.qtype == m.question[0].type && q.qclass == m.question[0].qclass,
            "the decoders read different questions", input: input)
        Invariant.check(
            q.edns == m.edns,
            "the decoders read different EDNS: \(String(describing: q.edns)) vs \(String(describing: m.edns))",
            input: input)
        let cookie = m.ednsOptions.first { $0.code == 10 }
        Invariant.check(
            q.nsidRequested == m.ednsOptions.contains { $0.code == 3 }
                && q.cookieLength == (cookie?.data.count ?? 0)
                && (cookie == nil || Array(input[q.cookieStart..<(q.cookieStart + q.cookieLength)]) == cookie!.data),
            "the decoders read different NSID or COOKIE options", input: input)
        // The ECS option: the same one, read back from the option's own bytes.
        let ecs = m.ednsOptions.first { $0.code == EDNSOptionCode.clientSubnet }
        let reread = ecs.flatMap { o in
            o.data.withUnsafeBytes { try? ClientSubnet.read($0, at: 0, length: o.data.count).get() }
        }
        Invariant.check(
            q.clientSubnet == reread && (ecs == nil) == (q.clientSubnet == nil),
            "the decoders read different ECS options: \(String(describing: q.clientSubnet)) vs \(String(describing: reread))",
            input: input)
    }
}

/// Types whose rdata names `Message.decode` decompresses (and so validates); others are opaque.
let decompressed: Set<RRType> = [.ns, .cname, .mb, .mg, .mr, .ptr, .soa, .minfo, .rp, .mx, .afsdb]

/// A name printed in presentation format parses back to the same bytes, case included.
func checkText(_ name: DNSName, _ input: UnsafeRawBufferPointer) {
    let text = name.description
    guard let parsed = try? DNSName(text) else {
        Invariant.fail("\"\(text)\" does not parse back", input: input, file: #fileID, line: #line)
    }
    Invariant.check(
        parsed.wire == name.wire,
        "\"\(text)\" parses to \(Invariant.hex(parsed.wire)), not \(Invariant.hex(name.wire))", input: input)
}

@_cdecl("FuzzDecode_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzDecode)
}
