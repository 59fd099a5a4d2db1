import CarouselConfig
import DNSWire
import Foundation
import Listeners
import Loading
import NIOSSL

/// DNS over TLS (`tls:`): the certificate loaded at start, read again whenever its files change
/// (a renewal by certbot or an ACME client needs no restart); a renewal that does not load is
/// logged and the last good certificate stays.
extension CarouselRuntime {
    /// The TLS listeners' addresses and context, for `bind`; nil without `tls:`.
    func startTLS() throws -> (listen: [HostPort], context: TLSServerContext)? {
        guard let tls = config.tls else { return nil }
        do {
            let context = try TLSCredentials.serverContext(certificate: tls.certificate, key: tls.key)
            let server = TLSServerContext(context)
            tlsContext = server
            tlsFiles = [FileSignature(tls.certificate), FileSignature(tls.key)]
            return (tls.listen, server)
        } catch {
            throw ServerError(message: "\(configPath ?? "carousel.yaml"):\(config.lines.tls): \(error)")
        }
    }

    /// Reloads the certificate when its files changed (called at every poll).
    func pollTLS() {
        guard let tls = config.tls, let server = tlsContext else { return }
        let now = [FileSignature(tls.certificate), FileSignature(tls.key)]
        guard now != tlsFiles else { return }
        tlsFiles = now
        do {
            server.replace(try TLSCredentials.serverContext(certificate: tls.certificate, key: tls.key))
            tlsError = nil
            logger.info("TLS certificate reloaded", metadata: ["certificate": "\(tls.certificate)"])
        } catch {
            let line = "\(configPath ?? "carousel.yaml"):\(config.lines.tls): \(error)"
            tlsError = line
            logger.error("\(line); the last good certificate stays")
        }
    }

    /// What `carousel check` and a reload refuse beside the `Validator`'s: TLS files that do not
    /// load (the Validator links no TLS library).
    public static func tlsProblems(_ config: Config, file: String) -> [Problem] {
        var out: [Problem] = []
        if let tls = config.tls {
            do {
                _ = try TLSCredentials.serverContext(certificate: tls.certificate, key: tls.key)
            } catch {
                out.append(Problem(file: file, line: config.lines.tls, message: "\(error)"))
            }
        }
        for (i, s) in config.secondaries.enumerated() {
            guard let ca = s.tls?.ca else { continue }
            let line = i < config.lines.secondaries.count ? config.lines.secondaries[i] : 1
            if (try? NIOSSLCertificate.fromPEMFile(ca))?.isEmpty ?? true {
                out.append(
                    Problem(
                        file: file, line: line,
                        message: "secondaries[\(i)].tls.ca: \(ca) cannot be read as PEM certificates"))
            }
        }
        return out
    }
}
