import Foundation

/// Checks the TSIGs of a multi-message response (RFC 8945 §5.3.1): the first message must be
/// signed over the request's MAC; later ones may be unsigned (at most 99 in a row), and a signed
/// one covers the previous MAC, every unsigned message since, and the timers. The last message
/// must be signed.
public struct TSIGStreamVerifier: Sendable {
    let key: TSIGKey
    var prior: [UInt8]
    var pending: [UInt8] = []
    var unsigned = 0
    var first = true
    public private(set) var lastSigned = false

    public init(key: TSIGKey, requestMAC: [UInt8]) {
        self.key = key
        self.prior = requestMAC
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public mutating func check(_ message: [UInt8], now: UInt64 = UInt64(Date().timeIntervalSince1970)) throws(Failure) {
        let record: TSIGRecord?
        do { record = try TSIG.find(in: message) } catch { throw Failure(description: "unreadable message: \(error)") }
        guard let record else {
            guard !first else { throw Failure(description: "the first message of the response is not signed") }
            unsigned += 1
            guard unsigned < 100 else { throw Failure(description: "more than 99 unsigned messages in a row") }
            pending += message
            lastSigned = false
            return
        }
        guard record.keyName == key.name else {
            throw Failure(description: "signed with another key (\(record.keyName))")
        }
        if record.error != 0 { throw Failure(description: "TSIG error \(record.error) from the server") }
        var data = TSIG.u16(UInt16(prior.count)) + prior + pending
        data += TSIG.unsignedPart(message, record)
        data += TSIG.variables(record, timersOnly: !first)
        let mac = key.algorithm.mac(secret: key.secret, data: data)
        guard record.mac.count >= max(10, mac.count / 2),
            TSIG.constantTimeEqual(Array(mac.prefix(record.mac.count)), record.mac)
        else {
            throw Failure(description: "bad TSIG signature on a response message")
        }
        let skew = now > record.timeSigned ? now - record.timeSigned : record.timeSigned - now
        guard skew <= UInt64(record.fudge) else { throw Failure(description: "TSIG time outside the fudge") }
        prior = record.mac
        pending = []
        unsigned = 0
        first = false
        lastSigned = true
    }
}
