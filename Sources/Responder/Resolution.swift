import DNSWire

/// How one question was answered, beside the records written: what the header says, whether
/// the message was cut, which answer it is (for rate limiting) and why it is an error (for the
/// Extended DNS Error option). A value, so no side channel carries any of it.
struct Resolution {
    var rcode: UInt16 = RCode.noError.rawValue
    /// AA: the answer comes from a zone served here (RFC 1035 §4.1.1).
    var authoritative = false
    var truncation = Truncation.none
    /// RRL's identity of the answer (`Responder.answerKey`); 0 for errors.
    var answerKey: UInt64 = 0
    var error = ExtendedError.none
    /// The prefix a sticky pool's answer was computed from (its ECS scope, RFC 7871 §7.2.1);
    /// nil when no sticky pool answered, and every other answer holds for all clients (scope 0).
    var stickyScope: UInt8? = nil

    static func refused(_ error: ExtendedError) -> Resolution {
        Resolution(rcode: RCode.refused.rawValue, error: error)
    }
}

/// What a response that did not fit keeps.
enum Truncation {
    case none
    /// TC=1 with header and question only (RFC 2181 §9): the client asks again over TCP.
    case empty
    /// TC=1 with what fitted: a referral whose in-domain glue had to be left out keeps its NS
    /// RRset and the glue that fitted (RFC 9471 §3, as Knot does).
    case kept
}

/// The Extended DNS Error (RFC 8914) an answer carries, as a code and where its text lives, so the
/// query path writes it without allocating. Sent only to queries with an OPT record, and left out
/// when it does not fit.
enum ExtendedError: Equatable {
    case none
    /// REFUSED for a name outside every zone (code 20, no text: as NSD and Knot send it).
    case notAuthoritative
    /// REFUSED for a class or CH name not served here (code 21, as NSD).
    case notSupported
    /// REFUSED by policy: an identity query not configured, a transfer (code 18, as NSD).
    case prohibited
    /// SERVFAIL because every member of pool `plan.pools[index]` is out (`all_down: servfail`):
    /// code 0 with the pool's text.
    case poolDown(Int)
    /// SERVFAIL for a zone without data (`catalog.unavailable[index]`): code 24 with its reason.
    case zoneUnavailable(Int)
}

extension Responder {
    /// Appends the EDE option to the OPT record just written, if there is room.
    static func writeExtendedError(_ w: inout ResponseWriter, _ error: ExtendedError, _ snap: Snapshot) {
        let code: UInt16
        var text: [UInt8] = []
        switch error {
        case .none: return
        case .notAuthoritative: code = ExtendedErrorCode.notAuthoritative
        case .notSupported: code = ExtendedErrorCode.notSupported
        case .prohibited: code = ExtendedErrorCode.prohibited
        case .poolDown(let p):
            code = ExtendedErrorCode.other
            text = snap.plan.pools[p].allDownText
        case .zoneUnavailable(let z):
            code = ExtendedErrorCode.invalidData
            text = snap.catalog.unavailable[z].reason
        }
        guard let data = w.appendOPTOption(code: EDNSOptionCode.extendedError, length: 2 + text.count) else { return }
        data[0] = UInt8(code >> 8)
        data[1] = UInt8(code & 0xFF)
        if !text.isEmpty {
            text.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: data[2...]).copyMemory(from: $0) }
        }
    }
}
