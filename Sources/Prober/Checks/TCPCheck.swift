import Health
import NIOCore
import NIOPosix

/// `tcp` check: up when a connection is accepted within the timeout; it is closed at once.
enum TCPCheck {
    static func run(to socketAddress: SocketAddress, timeout: Duration, on loop: any EventLoop) async -> ProbeResult {
        await ProbeAttempt.run(on: loop, timeout: timeout) { attempt in
            ClientBootstrap(group: loop)
                .connectTimeout(.nanoseconds(timeout.nanoseconds))
                .connect(to: socketAddress)
                .whenComplete { result in
                    switch result {
                    case .success(let channel):
                        attempt.attach(channel)
                        attempt.finish(.success("connected"))
                    case .failure(let error):
                        attempt.fail(error)
                    }
                }
        }
    }
}
