import Foundation
import Health
import NIOCore
import NIOHTTP1
import NIOSSL

#if canImport(Glibc)
    import Glibc
#endif

/// One network probe, confined to one event loop: the first of the handler's verdict, an error
/// and the deadline decides, and whatever comes later is ignored. Finishing closes the channel,
/// so a probe never outlives its timeout and never leaks a socket.
final class ProbeAttempt: @unchecked Sendable {
    // @unchecked: every mutable field is touched only on `loop` (asserted in `finish`).
    let loop: any EventLoop
    let timeout: Duration
    private let promise: EventLoopPromise<ProbeResult>
    private var channel: (any Channel)?
    private var timer: Scheduled<Void>?
    private var done = false

    private init(loop: any EventLoop, timeout: Duration) {
        self.loop = loop
        self.timeout = timeout
        self.promise = loop.makePromise()
    }

    /// Runs `start` on `loop` with a fresh attempt whose deadline is already armed, and waits for
    /// the verdict.
    static func run(
        on loop: any EventLoop, timeout: Duration, _ start: @escaping @Sendable (ProbeAttempt) -> Void
    ) async -> ProbeResult {
        let attempt = ProbeAttempt(loop: loop, timeout: timeout)
        loop.execute {
            attempt.timer = loop.scheduleTask(in: .nanoseconds(timeout.nanoseconds)) {
                attempt.finish(.failure("timeout after \(DurationText.format(timeout))"))
            }
            start(attempt)
        }
        // The promise is only ever succeeded, and always: by the verdict, the deadline, or the
        // cancellation of the probing task (its target was removed or the prober is stopping).
        return await withTaskCancellationHandler {
            (try? await attempt.promise.futureResult.get()) ?? .failure("probe abandoned")
        } onCancel: {
            loop.execute { attempt.finish(.failure("cancelled")) }
        }
    }

    /// Hands over the connected channel, to be closed when the attempt ends.
    func attach(_ channel: any Channel) {
        loop.preconditionInEventLoop()
        if done { channel.close(promise: nil) } else { self.channel = channel }
    }

    func finish(_ result: ProbeResult) {
        loop.preconditionInEventLoop()
        guard !done else { return }
        done = true
        timer?.cancel()
        channel?.close(promise: nil)
        channel = nil
        promise.succeed(result)
    }

    func fail(_ error: any Error) {
        finish(.failure(ProbeAttempt.describe(error, timeout: timeout)))
    }

    var isDone: Bool { done }

    /// A short reason for a network error: `connect refused`, `timeout after 500ms`,
    /// `TLS: certificate verify failed`.
    static func describe(_ error: any Error, timeout: Duration) -> String {
        switch error {
        case ChannelError.connectTimeout:
            return "timeout after \(DurationText.format(timeout))"
        case ChannelError.eof, ChannelError.ioOnClosedChannel, ChannelError.alreadyClosed:
            return "connection closed"
        case let e as IOError:
            return errnoText(e.errnoCode)
        case let e as NIOSSLError:
            return "TLS: " + tlsText(e)
        case let e as NIOSSLExtraError:
            return "TLS: \(e)"
        case let e as HTTPParserError:
            return "bad HTTP response (\(e))"
        default:
            return "\(error)"
        }
    }

    static func errnoText(_ code: CInt) -> String {
        switch code {
        case ECONNREFUSED: "connect refused"
        case ECONNRESET: "connection reset"
        case EPIPE: "connection closed"
        case EHOSTUNREACH: "no route to host"
        case ENETUNREACH: "network unreachable"
        case EADDRNOTAVAIL: "address not available"
        case ETIMEDOUT: "connect timed out"
        default: String(cString: strerror(code)).lowercased()
        }
    }

    /// BoringSSL's `error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED`
    /// becomes `certificate verify failed`.
    static func tlsText(_ error: NIOSSLError) -> String {
        switch error {
        case .handshakeFailed(let e):
            switch e {
            case .sslError(let stack), .unknownError(let stack):
                let reasons = stack.map { item -> String in
                    // "Error: 268435581 error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED at file.cc:127"
                    var text = "\(item)"
                    if let at = text.range(of: " at ", options: .backwards) { text = String(text[..<at.lowerBound]) }
                    guard text.contains("error:"), let last = text.split(separator: ":").last else {
                        return text.replacingOccurrences(of: "Error: ", with: "").trimmingCharacters(in: .whitespaces)
                    }
                    return String(last).replacingUnderscores.lowercased()
                }
                return reasons.isEmpty ? "handshake failed" : reasons.joined(separator: ", ")
            case .syscallError, .zeroReturn:
                return "connection closed during handshake"
            default:
                return "handshake failed (\(e))"
            }
        case .uncleanShutdown:
            return "connection closed without close_notify"
        default:
            return "\(error)"
        }
    }
}

extension String {
    fileprivate var replacingUnderscores: String { String(map { $0 == "_" ? " " : $0 }) }
}

extension Duration {
    var nanoseconds: Int64 {
        let (s, atto) = components
        return s * 1_000_000_000 + atto / 1_000_000_000
    }
}
