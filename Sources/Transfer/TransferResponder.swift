import DNSWire
import Foundation

/// Answers AXFR and IXFR requests (RFC 5936, RFC 1995) from the journals, bytes in and messages
/// out, with TSIG (RFC 8945) on every message of a signed exchange. No I/O.
public enum TransferResponder {
    /// `source` is the client's address (4 or 16 bytes); `serves` says whether a zone is one this
    /// server answers for (from a zone file or a primary).
    ///
    /// Errors are answered as NSD answers them: AXFR over UDP is NOTIMP (RFC 5936 §4.2 defines no
    /// UDP AXFR), a zone not served here NOTAUTH, a transfer not allowed REFUSED with Extended DNS
    /// Error 18 (Prohibited, RFC 8914 §4.19) and a short text saying why. None of them has AA (it
    /// speaks of authoritative data); RD and the opcode are copied, and an OPT is echoed when the
    /// request had one.
    public static func respond(
        to request: [UInt8], source: [UInt8], tcp: Bool, keyring: TSIGKeyring, primaries: [DNSName: PrimaryZone],
        journals: [DNSName: ZoneJournal], serves: (DNSName) -> Bool, now: UInt64 = UInt64(Date().timeIntervalSince1970)
    ) -> [[UInt8]] {
        let verdict = keyring.verify(request: request, now: now)
        if let early = tsigFailure(request, verdict, now: now) { return [early] }
        guard let m = try? Message.decode(request), let q = m.question.first, m.question.count == 1 else {
            return [header(request, rcode: RCode.formErr.rawValue)]
        }
        var key: TSIGKey?
        var requestMAC: [UInt8]?
        if case .valid(let k, let r) = verdict {
            key = k
            requestMAC = r.mac
        }
        func fail(_ rcode: RCode, _ why: String? = nil) -> [[UInt8]] {
            sign([error(to: m, rcode: rcode, prohibited: why)], key: key, requestMAC: requestMAC, now: now)
        }
        if q.type == .axfr && !tcp { return fail(.notImp) }
        guard let policy = primaries[q.name], let journal = journals[q.name] else {
            return serves(q.name) ? fail(.refused, "no transfers of this zone") : fail(.notAuth)
        }
        guard policy.allow.contains(where: { $0.contains(source) }) else {
            return fail(.refused, "not allowed from \(source.withUnsafeBytes { IPAddress.text($0) } ?? "this address")")
        }
        if let required = policy.key, required != key {
            return fail(
                .refused,
                key == nil
                    ? "TSIG key \(required.name) required" : "TSIG key \(required.name) required, not \(key!.name)")
        }
        let records: [ResourceRecord]
        if q.type == .axfr {
            records = journal.current.axfrRecords
        } else {
            // RFC 1995 §3: the client's SOA is in the authority section.
            guard let theirs = m.authority.first(where: { $0.type == .soa }) else {
                return [header(request, rcode: RCode.formErr.rawValue)]
            }
            // Over UDP, a reply that does not fit is the current SOA alone (RFC 1995 §2): the
            // client then asks again over TCP. We send the SOA alone whatever the size.
            records = tcp ? journal.ixfrRecords(clientSerial: SOA.serial(theirs.rdata)) : [journal.current.soa]
        }
        let msgs = TransferWriter.messages(id: m.id, question: q, records: records)
        return sign(msgs, key: key, requestMAC: requestMAC, now: now)
    }

    /// An error answer to a transfer request: header and question, the OPT echoed when the
    /// request had one, with EDE 18 and `prohibited` as its text when given.
    static func error(to m: Message, rcode: RCode, prohibited: String?) -> [UInt8] {
        var reply = Message(
            id: m.id, flags: Header.qrBit | m.flags & (0x7800 | Header.rdBit | Header.cdBit), rcode: rcode.rawValue,
            question: Array(m.question.prefix(1)))
        if m.edns != nil {
            reply.edns = EDNS(payload: 1232)
            if let prohibited {
                let code = ExtendedErrorCode.prohibited
                reply.ednsOptions = [
                    EDNSOption(
                        code: EDNSOptionCode.extendedError,
                        data: [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(prohibited.utf8.prefix(200)))
                ]
            }
        }
        return reply.encode()
    }

    /// The answer to a request whose TSIG failed (RFC 8945 §5.2): NOTAUTH with the error in an
    /// unsigned TSIG (BADKEY, BADSIG) or a signed one carrying our time (BADTIME); FORMERR when
    /// the TSIG is misplaced. Nil when the request is unsigned or valid.
    public static func tsigFailure(_ request: [UInt8], _ verdict: TSIGStatus, now: UInt64) -> [UInt8]? {
        switch verdict {
        case .unsigned, .valid: return nil
        case .malformed: return header(request, rcode: RCode.formErr.rawValue)
        case .failed(let error, let key, let record):
            let base = errorBase(request, rcode: RCode.notAuth.rawValue, record: record)
            if error == TSIGError.badTime, let key {
                return TSIG.sign(base, key: key, priorMAC: record.mac, time: now, error: error, other: TSIG.u48(now))
                    .message
            }
            return TSIG.unsignedError(base, record: record, error: error)
        }
    }

    /// Signs every message of a response stream: the first over the request's MAC, the later
    /// ones over the previous MAC with the timers only (RFC 8945 §5.3.1).
    public static func sign(_ msgs: [[UInt8]], key: TSIGKey?, requestMAC: [UInt8]?, now: UInt64) -> [[UInt8]] {
        guard let key else { return msgs }
        var prior = requestMAC
        var out: [[UInt8]] = []
        for (i, m) in msgs.enumerated() {
            let (signed, mac) = TSIG.sign(m, key: key, priorMAC: prior, timersOnly: i > 0, time: now)
            out.append(signed)
            prior = mac
        }
        return out
    }

    /// The request's header and the questions that can be read before the TSIG, with QR set, an
    /// rcode and QDCOUNT saying how many were copied: for errors.
    static func errorBase(_ request: [UInt8], rcode: UInt16, record: TSIGRecord) -> [UInt8] {
        var end = Header.size
        var copied = 0
        for _ in 0..<Int(TSIG.u16(request, 4)) {
            guard let e = try? TSIG.skipName(request, end), e + 4 <= record.offset else { break }
            end = e + 4
            copied += 1
        }
        var out = Array(request[0..<end])
        out[2] = 0x80 | (out[2] & 0x79)  // QR; opcode and RD copied; no AA, no TC
        out[3] = (out[3] & 0x10) | UInt8(rcode & 0xF)  // CD copied
        for i in 6..<12 { out[i] = 0 }
        out[4] = UInt8(copied >> 8)
        out[5] = UInt8(copied & 0xFF)
        return out
    }

    /// A bare reply (header and question when readable) with `rcode`.
    public static func header(_ request: [UInt8], rcode: UInt16) -> [UInt8] {
        let dummy = TSIGRecord(
            keyName: .root, algorithm: .root, timeSigned: 0, fudge: 0, mac: [], originalID: 0, error: 0, other: [],
            offset: request.count)
        return errorBase(request, rcode: rcode, record: dummy)
    }
}
