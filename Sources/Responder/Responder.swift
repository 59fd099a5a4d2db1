import DNSWire
import DNSZone
import Health

/// Turns one query message into one response, bytes in and bytes out, with no I/O: decode →
/// lookup → (balance) → encode. Transport-independent so the listeners, the tests and the fuzzer
/// all drive the same code. Must not allocate on the common path, take locks, or mutate the
/// snapshot (rotation counters are atomics owned by the zone).
public enum Responder {
    /// Writes the response to `query` into `out` (at least 65535 bytes for TCP, 4096 for UDP).
    /// `health` is the prober's latest view, published separately from the snapshot.
    /// `client` is the query's source address, which a server cookie is bound to (RFC 9018).
    /// `gate`: response rate limiting asked before signing (`SigningGate`; UDP with RRL on).
    public static func respond(
        to query: UnsafeRawBufferPointer, over transport: Transport, snapshot: Snapshot, health: HealthView = .empty,
        into out: UnsafeMutableRawBufferPointer, scratch: ResponderScratch, client: ClientAddress = .unknown,
        gate: SigningGate? = nil
    ) -> QueryOutcome {
        switch Query.decode(query) {
        case .drop:
            return .dropped
        case .formErr(let id, let flags, let questionEnd, _):
            // The opcode is judged before the body (RFC 1035 §4.1.1, RFC 6895 §2.2, as NSD and
            // Knot do): an opcode we do not implement is NOTIMP, with an empty question, whatever
            // follows the header. NOTIFY is ours, so its malformed body is FORMERR.
            let opcode = Header.opcode(flags)
            if opcode != Opcode.query && opcode != Opcode.notify {
                var w = ResponseWriter(into: out, limit: 512, scratch: scratch.compression)
                w.start(id: id, flags: responseFlags(flags, rcode: RCode.notImp.rawValue), question: nil)
                return QueryOutcome(
                    length: w.finish(), rcode: RCode.notImp.rawValue, qtype: 0, truncated: false,
                    questionEnd: Header.size)
            }
            var w = ResponseWriter(into: out, limit: transport == .tcp ? 65535 : 512, scratch: scratch.compression)
            let question = questionEnd.map { UnsafeRawBufferPointer(rebasing: query[Header.size..<$0]) }
            w.start(id: id, flags: responseFlags(flags, rcode: RCode.formErr.rawValue), question: question)
            return QueryOutcome(
                length: w.finish(), rcode: RCode.formErr.rawValue, qtype: 0, truncated: false,
                questionEnd: questionEnd ?? Header.size)
        case .query(let q):
            return answer(q, query, transport, snapshot, health, out, scratch, client, gate)
        }
    }

    static func answer(
        _ q: Query, _ p: UnsafeRawBufferPointer, _ transport: Transport, _ snap: Snapshot, _ health: HealthView,
        _ out: UnsafeMutableRawBufferPointer, _ scratch: ResponderScratch, _ client: ClientAddress,
        _ gate: SigningGate?
    ) -> QueryOutcome {
        let options = snap.options
        var limit = 65535
        if transport == .udp {
            // RFC 6891 §6.2.3/§6.2.5: values below 512 mean 512; cap at our own maximum.
            limit = q.edns.map { Int(max(512, min($0.udpPayloadSize, options.maxUDPPayload))) } ?? 512
        }
        // The OPT record, with the NSID and COOKIE options the query asked for.
        var nsid = q.nsidRequested ? options.nsid : nil
        let cookie = q.cookieStart > 0 && client.length > 0 && options.cookieSecret != nil
        var optSize = 0
        if q.edns != nil {
            optSize = 11 + (nsid.map { 4 + $0.count } ?? 0) + (cookie ? 4 + DNSCookies.responseLength : 0)
            // The ECS option comes back with every answer to a query that sent one (RFC 7871 §7.2.1).
            if let subnet = q.clientSubnet { optSize += 8 + subnet.addressLength }
        }
        limit = min(limit, out.count)
        // An NSID is a courtesy (RFC 5001 §2.2 lets a server leave it out): one too long for the
        // header, the question and the rest of the OPT within the limit is dropped, never those.
        if let n = nsid, q.questionEnd + optSize > limit {
            optSize -= 4 + n.count
            nsid = nil
        }
        var w = ResponseWriter(into: out, limit: limit - optSize, scratch: scratch.compression)
        let question = UnsafeRawBufferPointer(rebasing: p[Header.size..<q.questionEnd])
        w.start(id: q.id, flags: responseFlags(q.flags, rcode: 0), question: question)
        let afterQuestion = w.mark

        // The COOKIE answer is made before the answer: a valid server cookie shows the source is
        // real, so RRL passes it (the listener's check) and the signer must not ask RRL either.
        var gate = gate
        var verdict = DNSCookies.Status.none
        if cookie, let secret = options.cookieSecret {
            verdict = DNSCookies.respond(
                to: UnsafeRawBufferPointer(rebasing: p[q.cookieStart..<(q.cookieStart + q.cookieLength)]),
                client: client, secret: secret, previous: options.cookiePreviousSecret, now: DNSCookies.now(),
                into: scratch.cookie)
            if verdict == .valid { gate = nil }
        }

        var extended: UInt8 = 0
        var reply = Resolution()
        var withheld = false
        if let e = q.edns, e.version > 0 {
            // RFC 6891 §6.1.3: an unknown version gets BADVERS (16: upper bits in the OPT).
            extended = UInt8(RCode.badVers.rawValue >> 4)
        } else if q.opcode != Opcode.query {
            reply.rcode = RCode.notImp.rawValue
        } else if q.qclass == .ch {
            reply = chaos(q, p, options, &w)
        } else if q.qclass != .in && q.qclass != .any {
            reply = .refused(.notSupported)
        } else if q.qtype == .axfr || q.qtype == .ixfr {
            reply = .refused(.prohibited)  // transfers go to the Server's transfer lane; never from here.
        } else if q.qtype == .opt || q.qtype == .tsig {
            reply.rcode = RCode.formErr.rawValue  // meta types that are not questions (RFC 6895 §3.1).
        } else {
            let withheldBefore = gate == nil ? 0 : scratch.signing.counters.limited.load(ordering: .relaxed)
            reply = resolve(q, p, snap, health, &w, scratch, client: client, gate: gate)
            if gate != nil { withheld = scratch.signing.counters.limited.load(ordering: .relaxed) != withheldBefore }
            // RFC 1035 §6.2: an answer to QCLASS * is never authoritative (we cannot vouch for
            // every class).
            if q.qclass == .any { reply.authoritative = false }
        }
        if reply.truncation == .empty {
            w.rewind(to: afterQuestion)
        }
        var flags = w.flags | reply.rcode
        if reply.authoritative { flags |= Header.aaBit }
        if reply.truncation != .none { flags |= Header.tcBit }
        w.flags = flags
        if let e = q.edns {
            w.limit += optSize
            w.writeOPT(
                payloadSize: options.maxUDPPayload, extendedRCode: extended, dnssecOK: e.dnssecOK,
                compactOK: e.compactOK && e.dnssecOK && !snap.signing.isEmpty)
            if let nsid, let data = w.appendOPTOption(code: EDNSOptionCode.nsid, length: nsid.count) {
                nsid.withUnsafeBytes { data.copyMemory(from: $0) }
            }
            if verdict != .none,
                let data = w.appendOPTOption(code: EDNSOptionCode.cookie, length: DNSCookies.responseLength)
            {
                data.copyMemory(from: UnsafeRawBufferPointer(scratch.cookie))
            }
            if let subnet = q.clientSubnet,
                let data = w.appendOPTOption(code: EDNSOptionCode.clientSubnet, length: 4 + subnet.addressLength)
            {
                // An answer cut to TC=1 holds nothing a scope could speak of.
                _ = subnet.write(scope: reply.truncation == .empty ? 0 : reply.stickyScope ?? 0, into: data)
            }
            // Last, in the room left (RFC 8914 §3: an EDE that does not fit is dropped, never the answer).
            writeExtendedError(&w, reply.error, snap)
        }
        let length = w.finish()
        let fullRCode = UInt16(extended) << 4 | reply.rcode
        return QueryOutcome(
            length: length, rcode: fullRCode, qtype: q.qtype.rawValue, truncated: reply.truncation != .none,
            answerKey: reply.answerKey, questionEnd: q.questionEnd, cookie: verdict,
            clientSubnet: q.clientSubnet.map { $0.family },
            usedClientSubnet: q.clientSubnet != nil && reply.truncation != .empty && (reply.stickyScope ?? 0) > 0,
            signaturesWithheld: withheld)
    }

    /// QR set, opcode, RD and CD copied from the query (RFC 1035 §4.1.1, RFC 4035 §3.1.6); RA never.
    @inline(__always)
    static func responseFlags(_ queryFlags: UInt16, rcode: UInt16) -> UInt16 {
        Header.qrBit | (queryFlags & (0x7800 | Header.rdBit | Header.cdBit)) | rcode
    }

    /// CH TXT identity queries (the `version.bind` convention of BIND, RFC 4892 for `id.server`).
    /// Names other than these four are not served in CH (EDE 21); these four, when not
    /// configured, are withheld (EDE 18), as NSD answers both. Allocates nothing: the names are
    /// compared in place and the answers were made into rdata with the options.
    static func chaos(
        _ q: Query, _ p: UnsafeRawBufferPointer, _ options: ResponderOptions, _ w: inout ResponseWriter
    ) -> Resolution {
        guard q.qtype == .txt || q.qtype == .any else { return .refused(.notSupported) }
        let name = UnsafeRawBufferPointer(rebasing: p[q.qnameStart..<q.qnameEnd])
        let text: [UInt8]?
        if equalFolded(name, versionBind) || equalFolded(name, versionServer) {
            text = options.versionTXT
        } else if equalFolded(name, idServer) || equalFolded(name, hostnameBind) {
            text = options.identityTXT
        } else {
            return .refused(.notSupported)
        }
        guard let text else { return .refused(.prohibited) }
        let ok = text.withUnsafeBytes {
            w.writeRecord(.answer, owner: nil, type: .txt, rrClass: DNSClass.ch.rawValue, ttl: 0, rdata: $0)
        }
        return Resolution(authoritative: true, truncation: ok ? .none : .empty)
    }

    static let versionBind: [UInt8] = [7] + Array("version".utf8) + [4] + Array("bind".utf8) + [0]
    static let versionServer: [UInt8] = [7] + Array("version".utf8) + [6] + Array("server".utf8) + [0]
    static let idServer: [UInt8] = [2] + Array("id".utf8) + [6] + Array("server".utf8) + [0]
    static let hostnameBind: [UInt8] = [8] + Array("hostname".utf8) + [4] + Array("bind".utf8) + [0]

    /// A wire name against a lower-case one, ASCII case folded (RFC 4343).
    @inline(__always)
    static func equalFolded(_ name: UnsafeRawBufferPointer, _ lower: [UInt8]) -> Bool {
        guard name.count == lower.count else { return false }
        for i in 0..<lower.count where asciiLower(name[i]) != lower[i] { return false }
        return true
    }
}
