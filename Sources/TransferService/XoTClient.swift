import Crypto
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import NIOTLS
import Transfer

/// A secondary's TLS to its primary (XoT, RFC 9103): TLS 1.3, ALPN "dot", and the primary
/// authenticated as `TLSPeer` says (RFC 8310's strict profiles): its certificate's name and
/// chain, or its key's pin. A failure says which of them failed, for `/status`.
struct XoTClient: Sendable {
    let peer: TLSPeer
    let primary: String
    let context: NIOSSLContext

    init(_ peer: TLSPeer, primary: String) throws {
        self.peer = peer
        self.primary = primary
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv13
        configuration.applicationProtocols = ["dot"]
        // Done with the primary once its answer is in: close without waiting for its close_notify
        // (BIND 9.18 sends none; NIOSSL would wait 5 s by default, a refresh late by as much).
        configuration.shutdownTimeout = .zero
        if peer.pins.isEmpty {
            // The chain here, the name in `HandshakeGate`: NIOSSL's own name check also accepts a
            // certificate for the connected IP address, whatever name was asked for.
            configuration.certificateVerification = .noHostnameVerification
            if let ca = peer.ca {
                guard FileManager.default.isReadableFile(atPath: ca) else {
                    throw XoTFailure(description: "TLS: cannot read the CA bundle \(ca)")
                }
                configuration.trustRoots = .file(ca)
            }
        } else {
            // The pin replaces the chain: the callback below decides.
            configuration.certificateVerification = .noHostnameVerification
        }
        context = try NIOSSLContext(configuration: configuration)
    }

    /// The handlers of one connection: TLS, then the gate that completes `handshake` once the
    /// primary is authenticated (nothing is written before); `rejected` learns the pin of a key
    /// that was not pinned.
    func handlers(rejected: PinBox, handshake: EventLoopPromise<Void>) throws -> [ChannelHandler] {
        [try tlsHandler(rejected: rejected), HandshakeGate(verifyName: peer.verifyName, promise: handshake)]
    }

    func tlsHandler(rejected: PinBox) throws -> NIOSSLClientHandler {
        if peer.pins.isEmpty {
            return try NIOSSLClientHandler(context: context, serverHostname: peer.verifyName)
        }
        let pins = peer.pins
        return try NIOSSLClientHandler(context: context, serverHostname: nil) { certificates, promise in
            guard let leaf = certificates.first, let spki = try? leaf.extractPublicKey().toSPKIBytes() else {
                promise.succeed(.failed)
                return
            }
            let pin = Array(SHA256.hash(data: spki))
            if pins.contains(pin) {
                promise.succeed(.certificateVerified)
            } else {
                rejected.pin.withLockedValue { $0 = Data(pin).base64EncodedString() }
                promise.succeed(.failed)
            }
        }
    }

    /// What went wrong, in the operator's words.
    func explain(_ error: Error, rejected: PinBox) -> Error {
        if let pin = rejected.pin.withLockedValue({ $0 }) {
            return XoTFailure(
                description: "TLS: the key of \(primary) is not pinned (its pin_sha256 is \(pin))")
        }
        if error is NameMismatch || (error as? NIOSSLExtraError) == .failedToValidateHostname {
            return XoTFailure(
                description:
                    "TLS: the certificate of \(primary) is not valid for verify_name \(peer.verifyName ?? "?")")
        }
        let text = "\(error)"
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            let roots = peer.ca.map { "a CA of \($0)" } ?? "a CA the system trusts"
            return XoTFailure(
                description:
                    "TLS: the certificate of \(primary) is not signed by \(roots), or is out of its validity dates")
        }
        if error is NIOSSLError || error is BoringSSLError {
            return XoTFailure(description: "TLS with \(primary) failed: \(error)")
        }
        return error
    }
}

/// Where a pin callback (on the event loop) leaves what it saw.
final class PinBox: Sendable {
    let pin = NIOLockedValueBox<String?>(nil)
}

/// TLS with the primary failed: retrying over another transfer type would fail the same way.
struct XoTFailure: Error, CustomStringConvertible {
    var description: String
}

struct NameMismatch: Error {}

/// Completes the handshake promise when TLS is up and the certificate names `verifyName` (a DNS
/// name in its subjectAltName, RFC 6125 §6.4: exact, or a wildcard for the leftmost label), or
/// fails it with what went wrong, so that the query is written only to an authenticated primary.
final class HandshakeGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let verifyName: String?
    let promise: EventLoopPromise<Void>
    var done = false

    init(verifyName: String?, promise: EventLoopPromise<Void>) {
        self.verifyName = verifyName
        self.promise = promise
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? TLSUserEvent, case .handshakeCompleted = e, !done {
            done = true
            if let name = verifyName {
                let certificate = try? context.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self)
                    .peerCertificate
                guard let certificate, Self.names(certificate, name) else {
                    promise.fail(NameMismatch())
                    context.close(promise: nil)
                    return
                }
            }
            promise.succeed(())
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if !done {
            done = true
            promise.fail(error)
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done {
            done = true
            promise.fail(DNSClient.Closed())
        }
        context.fireChannelInactive()
    }

    static func names(_ certificate: NIOSSLCertificate, _ name: String) -> Bool {
        let wanted = name.lowercased().split(separator: ".", omittingEmptySubsequences: false)
        for san in certificate._subjectAlternativeNames() where san.nameType == .dnsName {
            guard let text = String(bytes: san.contents, encoding: .utf8) else { continue }
            var labels = text.lowercased().split(separator: ".", omittingEmptySubsequences: false)
            if labels.last == "" { labels.removeLast() }
            guard labels.count == wanted.count else { continue }
            if labels == wanted { return true }
            if labels.first == "*" && labels.dropFirst() == wanted.dropFirst() { return true }
        }
        return false
    }
}
