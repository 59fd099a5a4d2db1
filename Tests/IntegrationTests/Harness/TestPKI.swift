// Certificates for the DNS-over-TLS tests, made by openssl in a temp directory: a CA and server
// certificates it signs (P-256, a day long), keys mode 0600 as servers demand.

import Foundation

final class TestPKI: @unchecked Sendable {
    let dir: TempDir
    var ca: String { dir.path("ca.pem") }

    init() async throws {
        dir = try TempDir(prefix: "pki")
        do {
            try await Self.openssl([
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                "-subj", "/CN=Carousel test CA", "-keyout", dir.path("ca.key"), "-out", ca,
            ])
        } catch {
            dir.remove()
            throw error
        }
    }

    /// A certificate for `name` (and 127.0.0.1) signed by the CA: (certificate, key) paths.
    @discardableResult
    func issue(_ name: String, file: String? = nil) async throws -> (certificate: String, key: String) {
        let base = file ?? name
        let (cert, key, csr, ext) = (
            dir.path("\(base).pem"), dir.path("\(base).key"), dir.path("\(base).csr"), dir.path("\(base).ext")
        )
        try await Self.openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=\(name)",
            "-keyout", key, "-out", csr,
        ])
        _ = try dir.write("\(base).ext", "subjectAltName=DNS:\(name),IP:127.0.0.1\n")
        try await Self.openssl([
            "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", dir.path("ca.key"), "-CAcreateserial", "-days", "2",
            "-extfile", ext, "-out", cert,
        ])
        guard chmod(key, 0o600) == 0, chmod(cert, 0o644) == 0 else { throw HarnessError("chmod \(key)") }
        return (cert, key)
    }

    /// RFC 7858's pin of a certificate's key: base64(SHA-256(SubjectPublicKeyInfo)).
    func pin(_ certificate: String) async throws -> String {
        let r = try await Command.run(
            "/bin/sh",
            [
                "-c",
                "openssl x509 -in '\(certificate)' -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64",
            ])
        guard r.status == 0 else { throw HarnessError("pin: \(r.stderr)") }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func remove() { dir.remove() }

    static func openssl(_ arguments: [String]) async throws {
        let r = try await Command.run("openssl", arguments)
        guard r.status == 0 else { throw HarnessError("openssl \(arguments.joined(separator: " ")): \(r.stderr)") }
    }
}
