import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// The certificate and key the TLS listeners present, replaced whole when their files change:
/// each new connection takes the current one (a lock per connection accepted, never per query).
public final class TLSServerContext: Sendable {
    let current: NIOLockedValueBox<NIOSSLContext>

    public init(_ context: NIOSSLContext) { current = NIOLockedValueBox(context) }

    public func replace(_ context: NIOSSLContext) { current.withLockedValue { $0 = context } }

    var context: NIOSSLContext { current.withLockedValue { $0 } }
}

/// Loading the PEM files of `tls:` into a server context: TLS 1.3 only (RFC 9103 §5.1 requires
/// it of XoT), ALPN "dot" offered (RFC 9103 §7.1). The key must be readable by its owner only,
/// as DNSSEC private keys must.
public enum TLSCredentials {
    public struct LoadError: Error, CustomStringConvertible {
        /// `certificate` or `key`: the config field the message is about.
        public var field: String
        public var message: String
        public var description: String { "tls.\(field): \(message)" }
    }

    public static let alpn = "dot"

    public static func serverContext(certificate: String, key: String) throws(LoadError) -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificate)
        } catch {
            throw LoadError(
                field: "certificate", message: "\(certificate): \(readable(certificate) ?? "no PEM certificate in it")")
        }
        guard !chain.isEmpty else {
            throw LoadError(field: "certificate", message: "\(certificate): no PEM certificate in it")
        }
        var st = stat()
        guard stat(key, &st) == 0 else {
            throw LoadError(field: "key", message: "\(key): \(String(cString: strerror(errno)))")
        }
        if st.st_mode & 0o077 != 0 {
            throw LoadError(
                field: "key",
                message:
                    "\(key) is readable by group or others (mode \(String(st.st_mode & 0o777, radix: 8))): chmod 600 it"
            )
        }
        let privateKey: NIOSSLPrivateKey
        do {
            privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
        } catch {
            throw LoadError(field: "key", message: "\(key): \(readable(key) ?? "no PEM private key in it")")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        configuration.minimumTLSVersion = .tlsv13
        configuration.applicationProtocols = [alpn]
        // A connection we close (idle, over the limits) waits at most this long for the client's
        // close_notify before its socket goes.
        configuration.shutdownTimeout = .seconds(1)
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw LoadError(field: "key", message: "\(key) is not the key of the certificate in \(certificate)")
        }
    }

    /// Why a file cannot be read, or nil when it can.
    static func readable(_ path: String) -> String? {
        FileManager.default.isReadableFile(atPath: path) ? nil : "cannot read it (missing, or no permission)"
    }
}
