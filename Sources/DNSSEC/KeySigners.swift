import Crypto
import Foundation
import Responder

/// ECDSA P-256 with SHA-256 (RFC 6605): the signature is r ‖ s, 64 bytes.
// The key is an immutable value; BoringSSL signs with it from any thread.
struct P256Signer: RRsetSigner, @unchecked Sendable {
    let key: P256.Signing.PrivateKey

    func sign(_ data: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int {
        guard let s = try? key.signature(for: data) else { return 0 }
        return copy(s.rawRepresentation, into: out)
    }
}

/// Ed25519 (RFC 8080): the signature is 64 bytes.
struct Ed25519Signer: RRsetSigner, @unchecked Sendable {
    let key: Curve25519.Signing.PrivateKey

    func sign(_ data: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int {
        guard let s = try? key.signature(for: data) else { return 0 }
        return copy(s, into: out)
    }
}

private func copy(_ d: Data, into out: UnsafeMutableRawBufferPointer) -> Int {
    guard d.count <= out.count else { return 0 }
    d.withUnsafeBytes { out.copyMemory(from: $0) }
    return d.count
}
