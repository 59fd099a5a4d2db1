import Crypto
import DNSWire
import Foundation
import Responder

/// A DNSSEC algorithm Carousel signs with (RFC 8624 §3.1: the two recommended for signing).
public enum DNSSECAlgorithm: UInt8, Sendable, CaseIterable {
    case ecdsaP256SHA256 = 13
    case ed25519 = 15

    /// The mnemonic BIND and ldns write (`Algorithm: 13 (ECDSAP256SHA256)`).
    public var mnemonic: String {
        switch self {
        case .ecdsaP256SHA256: "ECDSAP256SHA256"
        case .ed25519: "ED25519"
        }
    }

    public init?(name: String) {
        switch name.lowercased() {
        case "ecdsap256sha256", "13", "ecdsa", "p256": self = .ecdsaP256SHA256
        case "ed25519", "15": self = .ed25519
        default: return nil
        }
    }
}

/// A key's timing metadata (BIND's `Publish`, `Activate`, `Inactive`, `Delete`, as
/// `dnssec-keygen` and `dnssec-settime` write them), in seconds since the epoch. A key with
/// neither `Publish` nor `Activate` (as `ldns-keygen` writes them) is published and active.
public struct KeyTiming: Sendable, Equatable {
    public var created: Int64?
    public var publish: Int64?
    public var activate: Int64?
    public var inactive: Int64?
    public var delete: Int64?

    public init(
        created: Int64? = nil, publish: Int64? = nil, activate: Int64? = nil, inactive: Int64? = nil,
        delete: Int64? = nil
    ) {
        self.created = created
        self.publish = publish
        self.activate = activate
        self.inactive = inactive
        self.delete = delete
    }

    /// In the DNSKEY RRset at `now`: from Publish (or Activate) until Delete.
    public func isPublished(at now: Int64) -> Bool {
        if let d = delete, now >= d { return false }
        switch (publish, activate) {
        case (nil, nil): return true
        case (let p?, _): return now >= p
        case (nil, let a?): return now >= a
        }
    }

    /// Signing at `now`: from Activate until Inactive, and only while published. A key with a
    /// Publish time and no Activate time is published only (a pre-published key).
    public func isActive(at now: Int64) -> Bool {
        guard isPublished(at: now) else { return false }
        if let i = inactive, now >= i { return false }
        switch (publish, activate) {
        case (nil, nil): return true
        case (_, let a?): return now >= a
        case (_?, nil): return false
        }
    }

    /// The times at which this key's state changes.
    public var events: [Int64] { [publish, activate, inactive, delete].compactMap { $0 } }
}

/// One DNSSEC key pair of a zone, as the BIND key files `K<zone>.+<alg>+<tag>.key` and `.private`
/// hold it.
public struct DNSSECKey: Sendable {
    public let zone: DNSName
    /// 257 for a key-signing key (the SEP bit, RFC 4034 §2.1.1), 256 for a zone-signing key.
    public let flags: UInt16
    public let algorithm: DNSSECAlgorithm
    /// The DNSKEY's public key field (P-256: x ‖ y, 64 bytes, RFC 6605; Ed25519: 32 bytes, RFC 8080).
    public let publicKey: [UInt8]
    /// The private scalar (P-256) or seed (Ed25519), 32 bytes.
    let privateKey: [UInt8]
    public var timing: KeyTiming
    /// Where it was read from (the `.key` file), for messages.
    public var file: String = ""

    public var isKeySigning: Bool { flags & 1 == 1 }

    /// DNSKEY rdata: flags, protocol 3, algorithm, public key (RFC 4034 §2.1).
    public var rdata: [UInt8] {
        [UInt8(flags >> 8), UInt8(flags & 0xFF), 3, algorithm.rawValue] + publicKey
    }

    /// RFC 4034 Appendix B.
    public var keyTag: UInt16 {
        var ac: UInt32 = 0
        for (i, b) in rdata.enumerated() { ac &+= i & 1 == 1 ? UInt32(b) : UInt32(b) << 8 }
        ac &+= (ac >> 16) & 0xFFFF
        return UInt16(ac & 0xFFFF)
    }

    /// The DS record's rdata for the parent (RFC 4509: digest type 2, SHA-256 over the owner in
    /// canonical form and the DNSKEY rdata).
    public var dsRDATA: [UInt8] {
        let digest = SHA256.hash(data: zone.lowercased.wire + rdata)
        return [UInt8(keyTag >> 8), UInt8(keyTag & 0xFF), algorithm.rawValue, 2] + Array(digest)
    }

    public var dnskeyRecord: String {
        "\(zone) IN DNSKEY \(flags) 3 \(algorithm.rawValue) \(Data(publicKey).base64EncodedString())"
    }

    public var dsRecord: String {
        let ds = dsRDATA
        let hex = ds[4...].map { String(format: "%02X", $0) }.joined()
        return "\(zone) IN DS \(keyTag) \(algorithm.rawValue) 2 \(hex)"
    }

    /// The file name stem BIND uses: `Kexample.com.+013+12345`.
    public var fileStem: String {
        let z = zone.isRoot ? "." : String(zone.description.dropLast())
        return "K\(z).+" + String(format: "%03d", algorithm.rawValue) + "+" + String(format: "%05d", keyTag)
    }

    init(
        zone: DNSName, flags: UInt16, algorithm: DNSSECAlgorithm, publicKey: [UInt8], privateKey: [UInt8],
        timing: KeyTiming
    ) {
        self.zone = zone
        self.flags = flags
        self.algorithm = algorithm
        self.publicKey = publicKey
        self.privateKey = privateKey
        self.timing = timing
    }

    /// A new key pair (a CSK by default: flags 257), published and active from `now`.
    public static func generate(
        zone: DNSName, algorithm: DNSSECAlgorithm, flags: UInt16 = 257, now: Int64 = Int64(Date().timeIntervalSince1970)
    ) -> DNSSECKey {
        let timing = KeyTiming(created: now, publish: now, activate: now)
        switch algorithm {
        case .ecdsaP256SHA256:
            let k = P256.Signing.PrivateKey()
            return DNSSECKey(
                zone: zone, flags: flags, algorithm: algorithm, publicKey: Array(k.publicKey.rawRepresentation),
                privateKey: Array(k.rawRepresentation), timing: timing)
        case .ed25519:
            let k = Curve25519.Signing.PrivateKey()
            return DNSSECKey(
                zone: zone, flags: flags, algorithm: algorithm, publicKey: Array(k.publicKey.rawRepresentation),
                privateKey: Array(k.rawRepresentation), timing: timing)
        }
    }

    /// The signer for the query path.
    public func signer() throws -> any RRsetSigner {
        switch algorithm {
        case .ecdsaP256SHA256: return try P256Signer(key: P256.Signing.PrivateKey(rawRepresentation: privateKey))
        case .ed25519: return try Ed25519Signer(key: Curve25519.Signing.PrivateKey(rawRepresentation: privateKey))
        }
    }
}

extension DNSSECKey {
    /// The private half makes the public half of the DNSKEY.
    var matchesPrivateKey: Bool {
        switch algorithm {
        case .ecdsaP256SHA256:
            guard let k = try? P256.Signing.PrivateKey(rawRepresentation: privateKey) else { return false }
            return Array(k.publicKey.rawRepresentation) == publicKey
        case .ed25519:
            guard let k = try? Curve25519.Signing.PrivateKey(rawRepresentation: privateKey) else { return false }
            return Array(k.publicKey.rawRepresentation) == publicKey
        }
    }
}

extension DNSSECKey {
    /// Whether `rrsig` is this key's valid signature over `records` (one RRset, as a response
    /// holds it): RFC 4034 §3.1.8.1's signed data rebuilt from the records in canonical form with
    /// the RRSIG's original TTL. For the fuzzers and tests; validators judge the real answers.
    public func verifies(_ rrsig: ResourceRecord, over records: [ResourceRecord]) -> Bool {
        let r = rrsig.rdata
        guard r.count > 18, let first = records.first, let signerEnd = WireName.uncompressedEnd(r, from: 18) else {
            return false
        }
        guard Int(r[16]) << 8 | Int(r[17]) == Int(keyTag), r[2] == algorithm.rawValue else { return false }
        var data = Array(r[0..<signerEnd])
        let ttl = r[4..<8]
        var owner = first.name.lowercased
        let labels = Int(r[3])
        // A wildcard's expansion: the owner the signature was made for is `*.` and its last
        // `labels` labels (RFC 4035 §5.3.2).
        if owner.labelCount > labels {
            var n = owner
            while n.labelCount > labels { n = n.parent }
            guard let w = try? n.prepending(label: [UInt8(ascii: "*")]) else { return false }
            owner = w
        }
        let canonical = records.map { CanonicalRData.canonical($0.type, $0.rdata) }
        var last: [UInt8]?
        for d in canonical.sorted(by: { $0.lexicographicallyPrecedes($1) }) where d != last {
            last = d
            data += owner.wire + [UInt8(first.type.rawValue >> 8), UInt8(first.type.rawValue & 0xFF), 0, 1]
            data += ttl + [UInt8(d.count >> 8), UInt8(d.count & 0xFF)] + d
        }
        let signature = Array(r[signerEnd...])
        switch algorithm {
        case .ecdsaP256SHA256:
            guard let pub = try? P256.Signing.PublicKey(rawRepresentation: publicKey),
                let s = try? P256.Signing.ECDSASignature(rawRepresentation: signature)
            else { return false }
            return pub.isValidSignature(s, for: data)
        case .ed25519:
            guard let pub = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
            return pub.isValidSignature(signature, for: data)
        }
    }
}
