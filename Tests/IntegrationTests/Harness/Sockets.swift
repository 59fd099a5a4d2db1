// Plain loopback sockets for the cases dig cannot produce: raw bytes over UDP and TCP, with
// timeouts, so a test can see that the server sent nothing at all.

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A loopback address a server listens on.
struct Endpoint: Sendable, Equatable, CustomStringConvertible {
    var host: String  // "127.0.0.1" or "::1"
    var port: UInt16

    var isIPv6: Bool { host.contains(":") }
    /// The form of the `--listen` flag and of the config file: `127.0.0.1:53`, `[::1]:53`.
    var listen: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
    var description: String { listen }

    fileprivate func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        if isIPv6 {
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = port.bigEndian
            _ = inet_pton(AF_INET6, host, &addr.sin6_addr)
            return withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    body($0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        _ = inet_pton(AF_INET, host, &addr.sin_addr)
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    fileprivate var family: Int32 { isIPv6 ? AF_INET6 : AF_INET }
}

enum Ports {
    private static let handedOut = Locked<Set<UInt16>>([])

    /// A port free for both UDP and TCP on every given host, never handed out twice in this run.
    /// It is drawn below the kernel's ephemeral range (32768–60999), where clients' source ports
    /// and other harnesses' bind-to-port-0 picks never land.
    static func free(hosts: [String] = ["127.0.0.1"]) throws -> UInt16 {
        for _ in 0..<200 {
            let port = UInt16.random(in: 20000...32000)
            let ok = hosts.allSatisfy { host in
                canBind(Endpoint(host: host, port: port), type: SOCK_DGRAM)
                    && canBind(Endpoint(host: host, port: port), type: SOCK_STREAM)
            }
            if ok, handedOut.withLock({ $0.insert(port).inserted }) { return port }
        }
        throw HarnessError("no free port found")
    }

    /// Sockets bound to `port` (UDP or TCP, IPv4 or IPv6) that process `pid` does not own: with
    /// SO_REUSEPORT another server can share our port and silently take some of the queries.
    static func foreignSockets(port: UInt16, pid: Int32) -> [String] {
        let hexPort = String(format: ":%04X", port)
        var inodes: [String: String] = [:]  // inode → table
        for table in ["udp", "udp6", "tcp", "tcp6"] {
            guard let text = try? String(contentsOfFile: "/proc/net/\(table)", encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                guard fields.count > 9, fields[1].hasSuffix(hexPort), fields[9] != "0" else { continue }
                // Only a TCP listener (state 0A) can take our connections; a client socket that
                // happens to hold the port number (a prober's spare socket) cannot.
                if table.hasPrefix("tcp") && fields[3] != "0A" { continue }
                inodes[String(fields[9])] = table
            }
        }
        let fdDir = "/proc/\(pid)/fd"
        let ours = Set(
            ((try? FileManager.default.contentsOfDirectory(atPath: fdDir)) ?? []).compactMap {
                try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fdDir)/\($0)")
            })
        return inodes.filter { !ours.contains("socket:[\($0.key)]") }.map { "\($0.value) socket inode \($0.key)" }
    }

    private static func canBind(_ endpoint: Endpoint, type: __socket_type) -> Bool {
        let fd = socket(endpoint.family, Int32(type.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return endpoint.withSockaddr { bind(fd, $0, $1) } == 0
    }
}

/// Waits until `fd` is readable; false on timeout.
func waitReadable(_ fd: Int32, timeout: Double) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        let remaining = deadline.timeIntervalSinceNow
        if remaining <= 0 { return false }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let n = poll(&pfd, 1, Int32(remaining * 1000) + 1)
        if n > 0 { return true }
        if n < 0 && errno != EINTR { return false }
    }
}

enum UDP {
    /// Sends one datagram and returns the first reply, or nil when none comes within `timeout`.
    static func exchange(_ bytes: [UInt8], with endpoint: Endpoint, timeout: Double = 2) throws -> [UInt8]? {
        let fd = socket(endpoint.family, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard endpoint.withSockaddr({ connect(fd, $0, $1) }) == 0 else {
            throw HarnessError("connect \(endpoint): \(String(cString: strerror(errno)))")
        }
        guard send(fd, bytes, bytes.count, 0) == bytes.count else {
            throw HarnessError("send to \(endpoint): \(String(cString: strerror(errno)))")
        }
        guard waitReadable(fd, timeout: timeout) else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65535)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n < 0 ? nil : Array(buffer[0..<n])
    }

    static func exchange(_ bytes: [UInt8], with endpoint: Endpoint, timeout: Double = 2) async throws -> [UInt8]? {
        try await offload { try exchange(bytes, with: endpoint, timeout: timeout) }
    }
}

/// One TCP connection carrying DNS messages with the two-byte length prefix (RFC 1035 §4.2.2).
final class TCPConnection: @unchecked Sendable {
    private let fd: Int32
    private var pending: [UInt8] = []
    let endpoint: Endpoint

    init(to endpoint: Endpoint) throws {
        self.endpoint = endpoint
        fd = try Self.connectedSocket(to: endpoint)
    }

    /// A blocking TCP socket connected to `endpoint`.
    static func connectedSocket(to endpoint: Endpoint) throws -> Int32 {
        let fd = socket(endpoint.family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(String(cString: strerror(errno)))") }
        guard endpoint.withSockaddr({ connect(fd, $0, $1) }) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw HarnessError("connect \(endpoint) over TCP: \(message)")
        }
        return fd
    }

    deinit { close(fd) }

    /// Writes bytes as they are (no framing).
    func sendRaw(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw HarnessError("TCP send to \(endpoint): \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    /// Writes one message with its length prefix.
    func send(_ message: [UInt8]) throws {
        try sendRaw(Self.frame(message))
    }

    static func frame(_ message: [UInt8]) -> [UInt8] {
        [UInt8(message.count >> 8), UInt8(message.count & 0xff)] + message
    }

    /// Reads one framed message; nil when the peer closed or nothing complete came within `timeout`.
    func receiveBlocking(timeout: Double = 3) -> [UInt8]? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if pending.count >= 2 {
                let length = Int(pending[0]) << 8 | Int(pending[1])
                if pending.count >= 2 + length {
                    let message = Array(pending[2..<2 + length])
                    pending.removeFirst(2 + length)
                    return message
                }
            }
            guard waitReadable(fd, timeout: deadline.timeIntervalSinceNow) else { return nil }
            var buffer = [UInt8](repeating: 0, count: 65537)
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return nil }
            pending += buffer[0..<n]
        }
    }

    /// True when the server closes the connection (EOF or reset) within `timeout` seconds.
    func waitForCloseBlocking(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            guard waitReadable(fd, timeout: deadline.timeIntervalSinceNow) else { return false }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return true }
            pending += buffer[0..<n]
        }
    }

    /// Sends one query and reads one reply.
    static func exchange(_ bytes: [UInt8], with endpoint: Endpoint, timeout: Double = 3) async throws -> [UInt8]? {
        try await offload {
            let connection = try TCPConnection(to: endpoint)
            try connection.send(bytes)
            return connection.receiveBlocking(timeout: timeout)
        }
    }

    func receive(timeout: Double = 3) async throws -> [UInt8]? {
        try await offload { self.receiveBlocking(timeout: timeout) }
    }

    func waitForClose(timeout: Double) async throws -> Bool {
        try await offload { self.waitForCloseBlocking(timeout: timeout) }
    }
}
