// Many datagrams from one socket without waiting for each answer: rate limiting and floods.

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A UDP socket bound to a chosen loopback source address (127.0.0.0/8 is all local), so a test
/// can speak as several client prefixes.
final class UDPClient: @unchecked Sendable {
    private let fd: Int32
    let endpoint: Endpoint

    init(to endpoint: Endpoint, from source: String = "127.0.0.1") throws {
        self.endpoint = endpoint
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(String(cString: strerror(errno)))") }
        var size: Int32 = 4 << 20
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        _ = inet_pton(AF_INET, source, &local.sin_addr)
        var remote = sockaddr_in()
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = endpoint.port.bigEndian
        _ = inet_pton(AF_INET, endpoint.host, &remote.sin_addr)
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        let connected = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, connected == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw HarnessError("UDP socket from \(source) to \(endpoint): \(message)")
        }
    }

    deinit { close(fd) }

    /// Sends without waiting; false when the kernel refused (a full buffer).
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) } == bytes.count
    }

    /// Every datagram that arrives until none has come for `quiet` seconds.
    func drain(quiet: Double = 0.5) -> [[UInt8]] {
        var replies: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: 65535)
        while true {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Int32(quiet * 1000)) > 0 else { return replies }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n >= 0 { replies.append(Array(buffer[0..<n])) }
        }
    }
}

/// The resident set of a process, in KiB, from /proc.
func residentKiB(_ pid: Int32) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    }
    return nil
}

/// A Prometheus sample's value from `/metrics` text: `name{labels}` exactly as written.
func metric(_ text: String, _ series: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Double(line.dropFirst(series.count + 1))
    }
    return nil
}
