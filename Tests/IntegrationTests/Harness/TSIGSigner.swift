// A TSIG signer for test queries (RFC 8945 §4.3), written apart from Carousel's Transfer module
// with swift-crypto's HMAC, so that NSD and Knot judge Carousel's TSIG checks, not our own code.

import Crypto
import Foundation

enum TSIGSigner {
    /// `message` with a TSIG record appended and ARCOUNT raised by one: signed by `secret` under
    /// `keyName` with `algorithm` (`hmac-sha256` or `hmac-sha512`) at `time` (seconds).
    static func sign(
        _ message: [UInt8], keyName: String, algorithm: String, secret: [UInt8], time: UInt64, fudge: UInt16 = 300
    ) -> [UInt8] {
        let name = RawQuery.encodeName(keyName.lowercased())
        let alg = RawQuery.encodeName(algorithm)
        let timers = (0..<6).map { UInt8((time >> (8 * (5 - $0))) & 0xFF) } + [UInt8(fudge >> 8), UInt8(fudge & 0xFF)]
        // The variables: key name, class ANY, TTL 0, algorithm, time, fudge, error 0, no other data.
        let variables = name + [0, 255, 0, 0, 0, 0] + alg + timers + [0, 0, 0, 0]
        let key = SymmetricKey(data: secret)
        let data = message + variables
        let mac: [UInt8] =
            algorithm == "hmac-sha512"
            ? Array(HMAC<SHA512>.authenticationCode(for: data, using: key))
            : Array(HMAC<SHA256>.authenticationCode(for: data, using: key))
        var rdata = alg + timers
        rdata.append16(UInt16(mac.count))
        rdata += mac + [message[0], message[1], 0, 0, 0, 0]
        var out = message
        out += name + [0, 250, 0, 255, 0, 0, 0, 0]
        out.append16(UInt16(rdata.count))
        out += rdata
        let count = (UInt16(out[10]) << 8 | UInt16(out[11])) + 1
        out[10] = UInt8(count >> 8)
        out[11] = UInt8(count & 0xFF)
        return out
    }

    /// The TSIG record of a reply as the differential compares it: key, algorithm and error; and
    /// apart, the lengths of the MAC and the other data (times and MACs differ by nature).
    static func summary(_ record: RawRecord) -> (record: String, lengths: String) {
        var i = 0
        var labels: [String] = []
        while i < record.rdata.count, record.rdata[i] != 0 {
            let n = Int(record.rdata[i])
            labels.append(String(decoding: record.rdata[(i + 1)..<min(record.rdata.count, i + 1 + n)], as: UTF8.self))
            i += 1 + n
        }
        i += 1 + 8  // the root label, time and fudge
        func u16(_ at: Int) -> Int {
            at + 1 < record.rdata.count ? Int(record.rdata[at]) << 8 | Int(record.rdata[at + 1]) : -1
        }
        let macLength = u16(i)
        let after = i + 2 + max(0, macLength)
        let (error, otherLength) = (u16(after + 2), u16(after + 4))
        let algorithm = labels.joined(separator: ".").lowercased()
        return (
            "\(record.name.lowercased()) \(algorithm). error \(error)",
            "MAC \(macLength) bytes, other \(otherLength) bytes"
        )
    }
}
