import DNSSEC
import DNSWire
import FuzzSupport
import Glibc
import Health
import Responder

/// libFuzzer target for the whole query handler, `Responder.respond`, over `World`'s zones and
/// pools. The first input byte picks the setting, the rest is the query:
///
///     bit 0     transport: UDP (0) or TCP (1)
///     bits 1-2  snapshot: max UDP payload 512, 1232, 4096 or 65535 (and CH identities)
///     bits 3-5  health view of the pools' members
///     bits 6-7  the client's address (for cookies): none, 192.0.2.7, 2001:db8::7, 198.51.100.1
///
/// Output buffers are the documented minimum (4096 bytes for UDP, 65535 for TCP), allocated
/// at exactly that size so AddressSanitizer sees any write past them. Every response must be a
/// message our own decoder accepts, answer the query it was given, and fit the transport.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRespond(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard size >= 1, let data else { return 0 }
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let control = input[0]
    let query = UnsafeRawBufferPointer(rebasing: input[1...])
    let transport: Transport = control & 1 == 0 ? .udp : .tcp
    let snapshot = World.built.snapshots[Int(control >> 1) & 3]
    let health = World.built.views[Int(control >> 3) & 7]
    let out = transport == .udp ? Buffers.udp : Buffers.tcp
    let client = Buffers.clients[Int(control >> 6)]
    let outcome = Responder.respond(
        to: query, over: transport, snapshot: snapshot, health: health, into: out, scratch: Buffers.scratch,
        client: client)
    let response = Array(UnsafeRawBufferPointer(rebasing: out[0..<outcome.length]))
    check(query: query, transport, snapshot, outcome, response, input, client: client)
    return 0
}

enum Buffers {
    nonisolated(unsafe) static let udp = UnsafeMutableRawBufferPointer(start: malloc(4096), count: 4096)
    nonisolated(unsafe) static let tcp = UnsafeMutableRawBufferPointer(start: malloc(65535), count: 65535)
    static let scratch = ResponderScratch()
    static let clients = [
        ClientAddress.unknown, ClientAddress([192, 0, 2, 7]),
        ClientAddress([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7]), ClientAddress([198, 51, 100, 1]),
    ]
}

func check(
    query: UnsafeRawBufferPointer, _ transport: Transport, _ snapshot: Snapshot, _ outcome: QueryOutcome,
    _ response: [UInt8], _ input: UnsafeRawBufferPointer, client: ClientAddress
) {
    func expect(_ ok: Bool, _ message: @autoclosure () -> String, line: UInt = #line) {
        Invariant.check(ok, message(), input: input, line: line)
    }
    let decoded = Query.decode(query)
    if case .drop = decoded {
        expect(outcome.length == 0, "answered a packet that must be dropped")
        return
    }
    expect(outcome.length >= Header.size, "no answer (\(outcome.length) bytes) to a packet with a query header")
    guard let m = try? Message.decode(response) else {
        Invariant.fail(
            "the response does not decode: \(Invariant.hex(response))", input: input, file: #fileID, line: #line)
    }
    expect(m.id == query.u16(0), "id not echoed")
    expect(m.has(Header.qrBit), "QR clear in a response")
    expect(!m.has(Header.raBit), "RA set: authoritative only")
    expect(m.opcode == Header.opcode(query.u16(2)), "opcode not echoed")
    expect(m.has(Header.rdBit) == (query.u16(2) & Header.rdBit != 0), "RD not copied")
    expect(outcome.rcode == m.rcode, "outcome rcode \(outcome.rcode) but the message says \(m.rcode)")
    expect(transport == .tcp || outcome.length <= 4096, "UDP response of \(outcome.length) bytes")

    switch decoded {
    case .drop:
        break
    case .formErr(_, let flags, let questionEnd, _):
        expect(m.answer.isEmpty && m.authority.isEmpty && m.additional.isEmpty, "an error with records")
        expect(outcome.length <= 512, "an error of \(outcome.length) bytes")
        // The opcode is judged before the body: one we do not implement is NOTIMP with no question.
        let opcode = Header.opcode(flags)
        if opcode != Opcode.query && opcode != Opcode.notify {
            expect(m.rcode == RCode.notImp.rawValue, "unknown opcode \(opcode), malformed, answered \(m.rcode)")
            expect(outcome.length == Header.size, "NOTIMP with a question (\(outcome.length) bytes)")
            break
        }
        expect(m.rcode == RCode.formErr.rawValue, "malformed query answered with rcode \(m.rcode)")
        if let end = questionEnd {
            expect(Array(response[Header.size..<end]) == Array(query[Header.size..<end]), "FORMERR question not echoed")
        }
    case .query(let q):
        // The question echoed byte for byte (case included, RFC 1035 §7.3 / 0x20).
        expect(m.question.count == 1, "\(m.question.count) questions in the response")
        expect(
            Array(response[Header.size..<q.questionEnd]) == Array(query[Header.size..<q.questionEnd]),
            "question not echoed")
        expect(outcome.qtype == q.qtype.rawValue, "outcome qtype \(outcome.qtype)")
        // The size limit: 512 without EDNS, else the client's payload (at least 512) capped by ours.
        if transport == .udp {
            let limit = q.edns.map { Int(max(512, min($0.udpPayloadSize, snapshot.options.maxUDPPayload))) } ?? 512
            expect(outcome.length <= limit, "UDP response of \(outcome.length) bytes over the limit \(limit)")
        } else {
            expect(!outcome.truncated, "TC over TCP")
        }
        // EDNS answered with EDNS (RFC 6891 §7), never without; BADVERS for a version above 0.
        expect(
            (m.edns != nil) == (q.edns != nil), "EDNS in the query \(q.edns != nil), in the response \(m.edns != nil)")
        if let e = q.edns, let r = m.edns {
            expect(r.version == 0 && r.dnssecOK == e.dnssecOK, "OPT version \(r.version) or DO not copied")
            expect(r.udpPayloadSize == snapshot.options.maxUDPPayload, "OPT payload \(r.udpPayloadSize)")
            expect(
                (m.rcode == RCode.badVers.rawValue) == (e.version > 0), "BADVERS \(m.rcode) for version \(e.version)")
        }
        // A COOKIE comes back when the query sent one, cookies are on and the client is known:
        // its client cookie first, then a 16-byte server cookie of version 1 (RFC 9018).
        if m.edns != nil {
            let cookies = m.ednsOptions.filter { $0.code == 10 }
            let expected = q.cookieStart > 0 && snapshot.options.cookieSecret != nil && client.length > 0
            expect(cookies.count == (expected ? 1 : 0), "\(cookies.count) COOKIE options in the response")
            if let c = cookies.first {
                expect(
                    c.data.count == 24 && Array(c.data[0..<8]) == Array(query[q.cookieStart..<(q.cookieStart + 8)])
                        && c.data[8] == 1, "COOKIE \(Invariant.hex(c.data))")
            }
            let nsid = m.ednsOptions.filter { $0.code == 3 }
            // An NSID too long for the header, the question and the rest of the OPT is left out.
            var wanted = q.nsidRequested ? snapshot.options.nsid : nil
            if let n = wanted {
                let limit =
                    transport == .udp
                    ? q.edns.map { Int(max(512, min($0.udpPayloadSize, snapshot.options.maxUDPPayload))) } ?? 512
                    : 65535
                let rest = 11 + (expected ? 4 + 24 : 0) + (q.clientSubnet.map { 8 + $0.addressLength } ?? 0)
                if q.questionEnd + rest + 4 + n.count > limit { wanted = nil }
            }
            expect(nsid.map(\.data) == (wanted.map { [$0] } ?? []), "NSID \(nsid.map(\.data))")
            // ECS (RFC 7871 §7.2.1): echoed exactly when sent, with FAMILY, SOURCE and ADDRESS as
            // they came; a scope above 0 only for a sticky pool's answer, never above the source
            // nor the pool's prefix (24 or 56 here).
            let ecs = m.ednsOptions.filter { $0.code == EDNSOptionCode.clientSubnet }
            expect(ecs.count == (q.clientSubnet == nil ? 0 : 1), "\(ecs.count) ECS options in the response")
            if let sent = q.clientSubnet, let back = ecs.first {
                let echoed = back.data.withUnsafeBytes {
                    try? ClientSubnet.read($0, at: 0, length: back.data.count, inResponse: true).get()
                }
                expect(echoed == sent, "ECS echoed as \(Invariant.hex(back.data))")
                let scope = back.data.count >= 4 ? Int(back.data[3]) : -1
                let sticky = m.answer.contains { World.stickyOwners.contains($0.name) }
                expect(
                    scope == 0
                        || (sticky && scope <= Int(sent.sourcePrefix) && scope <= (sent.family == .ipv4 ? 24 : 56)),
                    "ECS scope \(scope) for source \(sent.sourcePrefix), sticky answer \(sticky)")
            }
        }
        // TC=1 answers carry no answer records (the client retries over TCP).
        expect(outcome.truncated == m.has(Header.tcBit), "outcome and TC bit disagree")
        if outcome.truncated { expect(m.answer.isEmpty, "TC=1 with \(m.answer.count) answers") }
        if m.rcode == RCode.refused.rawValue || m.rcode == RCode.notImp.rawValue || m.rcode == RCode.formErr.rawValue
            || m.rcode == RCode.servFail.rawValue || m.rcode == RCode.badVers.rawValue
        {
            // A SERVFAIL at the end of a chain keeps the CNAMEs and DNAMEs that led there (signed,
            // with their RRSIGs).
            let chain =
                m.rcode == RCode.servFail.rawValue
                && m.answer.allSatisfy { $0.type == .cname || $0.type == .dname || $0.type == .rrsig }
            expect((m.answer.isEmpty || chain) && m.authority.isEmpty, "rcode \(m.rcode) with records")
            expect(!m.has(Header.aaBit), "AA with rcode \(m.rcode)")
        }
        // Extended DNS Errors (RFC 8914): at most one, in an OPT, with a code that fits the rcode
        // (it may be left out when it does not fit, never the other way round).
        let errors = m.ednsOptions.filter { $0.code == EDNSOptionCode.extendedError }
        expect(errors.count <= 1, "\(errors.count) EDE options")
        if let e = errors.first {
            expect(e.data.count >= 2, "EDE of \(e.data.count) bytes")
            let code = e.data.count >= 2 ? UInt16(e.data[0]) << 8 | UInt16(e.data[1]) : 0xFFFF
            let fits: [UInt16: [UInt16]] = [
                RCode.refused.rawValue: [
                    ExtendedErrorCode.prohibited, ExtendedErrorCode.notAuthoritative, ExtendedErrorCode.notSupported,
                ],
                RCode.servFail.rawValue: [ExtendedErrorCode.other, ExtendedErrorCode.invalidData],
            ]
            expect(fits[m.rcode]?.contains(code) == true, "EDE \(code) with rcode \(m.rcode)")
        }
        let signed = !snapshot.signing.isEmpty && q.edns?.dnssecOK == true
        if m.rcode == RCode.nxDomain.rawValue && !outcome.truncated {
            if signed {
                // Compact denial says NXDOMAIN only to a query with the CO flag (RFC 9824 §5).
                expect(q.edns?.compactOK == true, "NXDOMAIN from a signed zone without CO")
                expect(
                    m.authority.map(\.type).starts(with: [.soa, .rrsig]),
                    "signed NXDOMAIN without the signed SOA: authority \(m.authority.map(\.type))")
                expect(m.authority.contains { $0.type == .nsec }, "signed NXDOMAIN without an NSEC")
            } else {
                expect(m.authority.count == 1 && m.authority[0].type == .soa, "NXDOMAIN without one SOA in authority")
            }
        }
        if !signed {
            expect(
                !(m.answer + m.authority + m.additional).contains { $0.type == .rrsig || $0.type == .nsec },
                "RRSIG or NSEC without DO=1 from a signed snapshot")
        }
        checkSignatures(m, input)
        checkChain(m, q, input)
    }
}

/// Every RRSIG travels with its RRset (same owner and section), has the set's TTL, and verifies
/// with the key its tag names over exactly the records of that section.
func checkSignatures(_ m: Message, _ input: UnsafeRawBufferPointer) {
    for section in [m.answer, m.authority, m.additional] {
        for sig in section where sig.type == .rrsig {
            guard sig.rdata.count > 18 else {
                Invariant.fail("an RRSIG of \(sig.rdata.count) bytes", input: input, file: #fileID, line: #line)
            }
            let covered = RRType(UInt16(sig.rdata[0]) << 8 | UInt16(sig.rdata[1]))
            let set = section.filter { $0.type == covered && $0.name == sig.name }
            Invariant.check(!set.isEmpty, "an RRSIG for \(sig.name) \(covered) without its RRset", input: input)
            Invariant.check(
                set.allSatisfy { $0.ttl == sig.ttl }, "RRSIG TTL \(sig.ttl) for \(sig.name) \(covered)", input: input)
            let tag = UInt16(sig.rdata[16]) << 8 | UInt16(sig.rdata[17])
            let keys = World.keys[tag] ?? []
            Invariant.check(
                keys.contains { $0.verifies(sig, over: set) },
                "the RRSIG over \(sig.name) \(covered) does not verify (key \(tag))", input: input)
        }
    }
}

/// The answer section reads as a chain: it starts at the question name, and each record's owner
/// is the previous owner or the target of the CNAME before it (RFC 1034 §4.3.2 step 3a); the
/// types are the question's or CNAME.
func checkChain(_ m: Message, _ q: Query, _ input: UnsafeRawBufferPointer) {
    let answer = m.answer.filter { $0.type != .rrsig }
    guard let first = answer.first else { return }
    let qname = m.question[0].name
    Invariant.check(first.name == qname, "the first answer is for \(first.name), not \(qname)", input: input)
    for (i, r) in answer.enumerated() {
        Invariant.check(
            r.type == q.qtype || r.type == .cname || q.qtype == .any, "a \(r.type) answer to a \(q.qtype) question",
            input: input)
        guard i > 0 else { continue }
        let previous = answer[i - 1]
        let follows = previous.type == .cname && (try? DNSName(wire: previous.rdata)) == r.name
        Invariant.check(
            r.name == previous.name || follows, "answer \(i) for \(r.name) does not follow \(previous.name)",
            input: input)
    }
}

@_cdecl("FuzzRespond_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzRespond)
}
