#if canImport(Glibc)
    import Glibc
#endif

/// A listening socket that never accepts, with its accept queue filled by a few connections of
/// our own: Linux then drops further SYNs, so a connect to it hangs — a real timeout on
/// loopback, without any outside traffic.
final class FullBacklog {
    private var fds: [Int32] = []
    private(set) var port: Int = 0

    init(host: String) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw TestError("socket: \(errno)") }
        fds.append(listener)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, host, &addr.sin_addr)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, len) }
        }
        guard bound == 0, listen(listener, 0) == 0 else { throw TestError("bind/listen: \(errno)") }
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &len) }
        }
        port = Int(UInt16(bigEndian: addr.sin_port))
        for _ in 0..<3 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            fds.append(fd)
            _ = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }

    deinit {
        for fd in fds { close(fd) }
    }
}
