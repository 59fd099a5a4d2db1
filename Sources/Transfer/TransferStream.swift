import DNSWire

/// One incoming AXFR or IXFR, message by message, as the secondary reads it from its primary:
/// each message's TSIG checked against the request's (when the zone has a key), its rcode, then
/// its answer records collected until the transfer is complete. Bytes in, a verdict out, no I/O:
/// `SecondaryTransfers` feeds it from the connection, the fuzzer from its input.
public struct TransferStream: Sendable {
    public private(set) var collector: TransferCollector
    var verifier: TSIGStreamVerifier?

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// `key` and `requestMAC`: the TSIG the request was signed with, nil when it was not.
    public init(collector: TransferCollector, key: TSIGKey?, requestMAC: [UInt8]) {
        self.collector = collector
        self.verifier = key.map { TSIGStreamVerifier(key: $0, requestMAC: requestMAC) }
    }

    /// Takes one message; true once the transfer is complete. Throws on a TSIG failure, an error
    /// rcode, a malformed message or records that are not a transfer.
    public mutating func take(_ message: [UInt8]) throws -> Bool {
        try verifier?.check(message)
        let m = try Message.decode(message)
        guard m.rcode == 0 else {
            throw Failure(description: "primary answered \(RCode(rawValue: m.rcode)?.description ?? "\(m.rcode)")")
        }
        let done = try collector.add(m.answer)
        if done, let v = verifier, !v.lastSigned {
            throw Failure(description: "the last message of the transfer is not signed")
        }
        return done
    }
}
