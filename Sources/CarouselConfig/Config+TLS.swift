import DNSWire
import Foundation
import Transfer
import Yams

/// `tls:`: DNS over TLS listeners (RFC 7858 queries, RFC 9103 zone transfers) and the
/// certificate they present.
public struct TLSSettings: Sendable, Equatable {
    /// Addresses to accept TLS on (TCP only), usually port 853.
    public var listen: [HostPort]
    /// PEM files: the certificate chain (leaf first) and its private key (mode 0600). Read again
    /// whenever either file changes.
    public var certificate: String
    public var key: String

    public init(listen: [HostPort], certificate: String, key: String) {
        self.listen = listen
        self.certificate = certificate
        self.key = key
    }
}

extension YAMLReader {
    /// `tls: { listen: ["10.0.0.5:853"], certificate: cert.pem, key: key.pem }`; paths relative
    /// to the config file. Whether the files load is the `Validator`'s.
    mutating func tlsSettings(_ node: Node, baseDirectory: String?) -> (TLSSettings, line: Int)? {
        let line = node.mark?.line ?? 1
        var listen: [HostPort] = [], certificate: String?, key: String?
        let entries = mapping(node, "tls", known: ["listen", "certificate", "key"])
        for (k, v) in entries {
            let p = "tls.\(k)"
            switch k {
            case "listen":
                for s in strings(v, p) ?? [] {
                    if let a = HostPort(s) { listen.append(a) } else { fail(v, p, "\"\(s)\" is not ADDRESS:PORT") }
                }
                if listen.isEmpty { fail(v, p, "needs at least one address (port 853 is DNS over TLS's)") }
            case "certificate": certificate = string(v, p).map { Config.resolve($0, against: baseDirectory) }
            default: key = string(v, p).map { Config.resolve($0, against: baseDirectory) }
            }
        }
        guard let certificate, let key else {
            fail(node, "tls", "needs certificate: and key: (PEM files) besides listen:")
            return nil
        }
        guard !listen.isEmpty else {
            if !entries.contains(where: { $0.0 == "listen" }) {
                fail(node, "tls.listen", "needs the addresses to accept TLS on, e.g. [\"10.0.0.5:853\"]")
            }
            return nil
        }
        return (TLSSettings(listen: listen, certificate: certificate, key: key), line)
    }

    /// A secondary's `tls: { verify_name: ns.example.net, ca: ca.pem }` or
    /// `tls: { pin_sha256: ["base64…"] }`.
    mutating func tlsPeer(_ node: Node, _ path: String, baseDirectory: String?) -> TLSPeer? {
        var peer = TLSPeer()
        var ok = true
        for (k, v) in mapping(node, path, known: ["verify_name", "ca", "pin_sha256"]) {
            let p = "\(path).\(k)"
            switch k {
            case "verify_name":
                guard let name = string(v, p) else { continue }
                let labels = (name.hasSuffix(".") ? String(name.dropLast()) : name).split(
                    separator: ".", omittingEmptySubsequences: false)
                let host = labels.allSatisfy { l in
                    !l.isEmpty && l.count <= 63
                        && l.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
                }
                if !host || (try? DNSName(name)) == nil {
                    fail(v, p, "\"\(name)\" is not a host name")
                    ok = false
                } else {
                    peer.verifyName = name.hasSuffix(".") ? String(name.dropLast()) : name
                }
            case "ca": peer.ca = string(v, p).map { Config.resolve($0, against: baseDirectory) }
            default:
                for t in strings(v, p) ?? [] {
                    if let d = Data(base64Encoded: t), d.count == 32 {
                        peer.pins.append(Array(d))
                    } else {
                        fail(v, p, "\"\(t)\" is not the base64 of a SHA-256 digest (44 characters)")
                        ok = false
                    }
                }
            }
        }
        guard ok else { return nil }
        if peer.verifyName == nil && peer.pins.isEmpty {
            fail(node, path, "needs verify_name (the name in the primary's certificate) or pin_sha256")
            return nil
        }
        if !peer.pins.isEmpty && (peer.verifyName != nil || peer.ca != nil) {
            fail(node, path, "pin_sha256 authenticates the key itself: give it alone, or verify_name (and ca)")
            return nil
        }
        return peer
    }
}
