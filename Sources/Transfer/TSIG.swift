import Crypto
import DNSWire
import Foundation

/// TSIG (RFC 8945): a shared-secret HMAC over a message and a few variables, carried as the last
/// record of the additional section. Only transfers, NOTIFY and signed queries come here, never
/// the query fast path.
public enum TSIGAlgorithm: String, Sendable, Hashable, CaseIterable {
    /// Mandatory to implement, not recommended for use (RFC 8945 §6); for old peers.
    case hmacMD5 = "hmac-md5"
    case hmacSHA1 = "hmac-sha1"
    case hmacSHA256 = "hmac-sha256"
    case hmacSHA384 = "hmac-sha384"
    case hmacSHA512 = "hmac-sha512"

    /// The algorithm's name on the wire (RFC 8945 §6, RFC 4635).
    public var name: DNSName { try! DNSName(wireText) }

    var wireText: String { self == .hmacMD5 ? "hmac-md5.sig-alg.reg.int." : rawValue + "." }

    public init?(name: DNSName) {
        let text = name.lowercased.description
        guard let a = TSIGAlgorithm.allCases.first(where: { $0.wireText == text }) else { return nil }
        self = a
    }

    public func mac(secret: [UInt8], data: [UInt8]) -> [UInt8] {
        let key = SymmetricKey(data: secret)
        switch self {
        case .hmacMD5: return Array(HMAC<Insecure.MD5>.authenticationCode(for: data, using: key))
        case .hmacSHA1: return Array(HMAC<Insecure.SHA1>.authenticationCode(for: data, using: key))
        case .hmacSHA256: return Array(HMAC<SHA256>.authenticationCode(for: data, using: key))
        case .hmacSHA384: return Array(HMAC<SHA384>.authenticationCode(for: data, using: key))
        case .hmacSHA512: return Array(HMAC<SHA512>.authenticationCode(for: data, using: key))
        }
    }
}

/// A named shared secret.
public struct TSIGKey: Sendable, Hashable {
    /// Lower-cased, as the MAC covers it in canonical form (RFC 8945 §4.3.3).
    public let name: DNSName
    public let algorithm: TSIGAlgorithm
    public let secret: [UInt8]

    public init(name: DNSName, algorithm: TSIGAlgorithm, secret: [UInt8]) {
        self.name = name.lowercased
        self.algorithm = algorithm
        self.secret = secret
    }
}

/// TSIG error codes (RFC 8945 §3: in the TSIG record's error field, with NOTAUTH in the header).
public enum TSIGError {
    public static let badSig: UInt16 = 16
    public static let badKey: UInt16 = 17
    public static let badTime: UInt16 = 18
    public static let badTrunc: UInt16 = 22
}

/// The TSIG record of a message, and where it starts.
public struct TSIGRecord: Sendable, Equatable {
    public var keyName: DNSName
    public var algorithm: DNSName
    /// Seconds since the epoch, 48 bits on the wire.
    public var timeSigned: UInt64
    public var fudge: UInt16
    public var mac: [UInt8]
    public var originalID: UInt16
    public var error: UInt16
    public var other: [UInt8]
    /// Offset of the record in the message: everything before it is what the MAC covers.
    public var offset: Int
}

/// What a signed message said about itself.
public enum TSIGStatus: Sendable, Equatable {
    case unsigned
    case valid(TSIGKey, TSIGRecord)
    /// A TSIG record that does not check out: `error` is BADKEY, BADSIG or BADTIME (RFC 8945 §5.2).
    case failed(error: UInt16, key: TSIGKey?, record: TSIGRecord)
    /// A TSIG record that is not the last record, or not readable: FORMERR (RFC 8945 §5.2).
    case malformed
}

public struct TSIGKeyring: Sendable {
    public let keys: [DNSName: TSIGKey]

    public init(_ keys: [TSIGKey]) {
        self.keys = Dictionary(keys.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    public static let empty = TSIGKeyring([])

    public func key(named name: DNSName) -> TSIGKey? { keys[name.lowercased] }

    /// Checks a request's TSIG (RFC 8945 §5.2): key known, MAC right, time within the fudge.
    public func verify(request bytes: [UInt8], now: UInt64 = UInt64(Date().timeIntervalSince1970)) -> TSIGStatus {
        let found: TSIGRecord?
        do { found = try TSIG.find(in: bytes) } catch { return .malformed }
        guard let record = found else { return .unsigned }
        guard let key = key(named: record.keyName), key.algorithm.name == record.algorithm.lowercased else {
            return .failed(error: TSIGError.badKey, key: nil, record: record)
        }
        let data = TSIG.digestInput(message: bytes, record: record, priorMAC: nil, timersOnly: false)
        let expected = key.algorithm.mac(secret: key.secret, data: data)
        // RFC 8945 §5.2.2.1: a truncated MAC shorter than half the hash (or 10 bytes) is refused.
        guard record.mac.count >= max(10, expected.count / 2), record.mac.count <= expected.count,
            TSIG.constantTimeEqual(Array(expected.prefix(record.mac.count)), record.mac)
        else {
            return .failed(error: TSIGError.badSig, key: key, record: record)
        }
        let skew = now > record.timeSigned ? now - record.timeSigned : record.timeSigned - now
        if skew > UInt64(record.fudge) { return .failed(error: TSIGError.badTime, key: key, record: record) }
        return .valid(key, record)
    }
}

public enum TSIG {
    public static let defaultFudge: UInt16 = 300

    /// Signs `message` (which must not carry a TSIG yet): appends the TSIG record and bumps
    /// ARCOUNT. A response passes the request's MAC (`priorMAC`); the second and later messages
    /// of a transfer pass the previous message's MAC and `timersOnly` (RFC 8945 §5.3.1).
    /// Returns the signed message and its MAC, which signs the next message of a stream.
    public static func sign(
        _ message: [UInt8], key: TSIGKey, priorMAC: [UInt8]? = nil, timersOnly: Bool = false,
        time: UInt64 = UInt64(Date().timeIntervalSince1970), fudge: UInt16 = defaultFudge, error: UInt16 = 0,
        other: [UInt8] = []
    ) -> (message: [UInt8], mac: [UInt8]) {
        let originalID = UInt16(message[0]) << 8 | UInt16(message[1])
        var record = TSIGRecord(
            keyName: key.name, algorithm: key.algorithm.name, timeSigned: time, fudge: fudge, mac: [],
            originalID: originalID, error: error, other: other, offset: message.count)
        var data: [UInt8] = []
        if let prior = priorMAC { data += u16(UInt16(prior.count)) + prior }
        data += message
        data += variables(record, timersOnly: timersOnly)
        record.mac = key.algorithm.mac(secret: key.secret, data: data)
        return (append(record, to: message), record.mac)
    }

    /// An unsigned error TSIG for a failed request (BADKEY, BADSIG: RFC 8945 §5.2.2): empty MAC.
    public static func unsignedError(_ message: [UInt8], record: TSIGRecord, error: UInt16) -> [UInt8] {
        var r = record
        r.mac = []
        r.error = error
        r.originalID = UInt16(message[0]) << 8 | UInt16(message[1])
        r.other = []
        return append(r, to: message)
    }

    static func append(_ r: TSIGRecord, to message: [UInt8]) -> [UInt8] {
        var out = message
        var rdata = r.algorithm.lowercased.wire
        rdata += u48(r.timeSigned) + u16(r.fudge)
        rdata += u16(UInt16(r.mac.count)) + r.mac
        rdata += u16(r.originalID) + u16(r.error) + u16(UInt16(r.other.count)) + r.other
        out += r.keyName.lowercased.wire
        out += u16(RRType.tsig.rawValue) + u16(DNSClass.any.rawValue) + [0, 0, 0, 0]
        out += u16(UInt16(rdata.count)) + rdata
        let ar = (UInt16(out[10]) << 8 | UInt16(out[11])) &+ 1
        out[10] = UInt8(ar >> 8)
        out[11] = UInt8(ar & 0xFF)
        return out
    }

    /// The bytes the MAC covers (RFC 8945 §4.3): the prior MAC when there is one, the message as
    /// it was before signing (original ID, ARCOUNT less one, no TSIG), and the TSIG variables.
    public static func digestInput(message: [UInt8], record: TSIGRecord, priorMAC: [UInt8]?, timersOnly: Bool)
        -> [UInt8]
    {
        var data: [UInt8] = []
        if let prior = priorMAC { data += u16(UInt16(prior.count)) + prior }
        data += unsignedPart(message, record)
        data += variables(record, timersOnly: timersOnly)
        return data
    }

    /// The message without its TSIG: original ID, ARCOUNT less one.
    public static func unsignedPart(_ message: [UInt8], _ record: TSIGRecord) -> [UInt8] {
        var m = Array(message[0..<record.offset])
        m[0] = UInt8(record.originalID >> 8)
        m[1] = UInt8(record.originalID & 0xFF)
        let ar = (UInt16(m[10]) << 8 | UInt16(m[11])) &- 1
        m[10] = UInt8(ar >> 8)
        m[11] = UInt8(ar & 0xFF)
        return m
    }

    static func variables(_ r: TSIGRecord, timersOnly: Bool) -> [UInt8] {
        if timersOnly { return u48(r.timeSigned) + u16(r.fudge) }
        var v = r.keyName.lowercased.wire
        v += u16(DNSClass.any.rawValue) + [0, 0, 0, 0]
        v += r.algorithm.lowercased.wire
        v += u48(r.timeSigned) + u16(r.fudge) + u16(r.error) + u16(UInt16(r.other.count)) + r.other
        return v
    }

    /// Finds the TSIG record: it must be the last record of the message (RFC 8945 §5.1).
    /// Throws when the message cannot be walked or a TSIG record is anywhere else.
    public static func find(in b: [UInt8]) throws(DNSWireError) -> TSIGRecord? {
        guard b.count >= Header.size else { throw .truncated("short message") }
        let qd = Int(u16(b, 4)), an = Int(u16(b, 6)), ns = Int(u16(b, 8)), ar = Int(u16(b, 10))
        var i = Header.size
        for _ in 0..<qd { i = try skipName(b, i) + 4 }
        let total = an + ns + ar
        var found: TSIGRecord?
        for n in 0..<total {
            let start = i
            let afterOwner = try skipName(b, i)
            guard afterOwner + 10 <= b.count else { throw .truncated("record cut short") }
            let type = u16(b, afterOwner)
            let rdlen = Int(u16(b, afterOwner + 8))
            let rstart = afterOwner + 10
            i = rstart + rdlen
            guard i <= b.count else { throw .truncated("RDLENGTH past the end") }
            if type == RRType.tsig.rawValue {
                guard n == total - 1, n >= an + ns else { throw .malformed("TSIG is not the last record") }
                var r = MessageBytes(b: b, i: rstart, end: i)
                let owner = try DNSName.read(b, at: start).name
                let algorithm = try DNSName.read(b, at: rstart).name
                r.i = try skipName(b, rstart)
                let time = try r.u48()
                let fudge = try r.u16()
                let macLen = Int(try r.u16())
                let mac = try r.bytes(macLen)
                let orig = try r.u16()
                let err = try r.u16()
                let otherLen = Int(try r.u16())
                let other = try r.bytes(otherLen)
                guard r.i == i else { throw .malformed("TSIG rdata has trailing bytes") }
                found = TSIGRecord(
                    keyName: owner, algorithm: algorithm, timeSigned: time, fudge: fudge, mac: mac,
                    originalID: orig, error: err, other: other, offset: start)
            }
        }
        guard i == b.count else { throw .malformed("bytes after the last record") }
        return found
    }

    /// The offset just past the name at `start` (`WireName`'s rules).
    static func skipName(_ b: [UInt8], _ start: Int) throws(DNSWireError) -> Int {
        guard let end = WireName.skip(b, at: start) else {
            throw .malformedName("name at offset \(start) cannot be read")
        }
        return end
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var d: UInt8 = 0
        for (x, y) in zip(a, b) { d |= x ^ y }
        return d == 0
    }

    static func u16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) << 8 | UInt16(b[i + 1]) }
    static func u16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
    static func u48(_ v: UInt64) -> [UInt8] { (0..<6).map { UInt8((v >> (8 * (5 - $0))) & 0xFF) } }
}

/// A bounds-checked cursor over rdata.
struct MessageBytes {
    let b: [UInt8]
    var i: Int
    let end: Int

    mutating func u16() throws(DNSWireError) -> UInt16 {
        guard i + 2 <= end else { throw .truncated("rdata cut short") }
        defer { i += 2 }
        return UInt16(b[i]) << 8 | UInt16(b[i + 1])
    }
    mutating func u48() throws(DNSWireError) -> UInt64 {
        guard i + 6 <= end else { throw .truncated("rdata cut short") }
        defer { i += 6 }
        return (0..<6).reduce(UInt64(0)) { $0 << 8 | UInt64(b[i + $1]) }
    }
    mutating func bytes(_ n: Int) throws(DNSWireError) -> [UInt8] {
        guard i + n <= end else { throw .truncated("rdata cut short") }
        defer { i += n }
        return Array(b[i..<(i + n)])
    }
}
