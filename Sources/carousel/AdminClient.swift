import DNSWire
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A minimal HTTP/1.1 client for the admin API (one request per connection, loopback or LAN),
/// with plain sockets so the CLI needs no HTTP library.
struct AdminClient {
    var host: String
    var port: Int
    var token: String?

    /// `http://HOST:PORT` (or `HOST:PORT`).
    init?(url: String, token: String?) {
        var rest = url
        if rest.hasPrefix("http://") { rest.removeFirst(7) }
        if rest.hasSuffix("/") { rest.removeLast() }
        guard let a = HostPort(rest) else { return nil }
        host = a.host
        port = a.port
        self.token = token
    }

    struct Reply {
        var status: Int
        var body: String
    }

    func request(_ method: String, _ path: String, form: [String: String] = [:]) throws -> Reply {
        let body = form.sorted { $0.key < $1.key }.map { "\($0.key)=\(escape($0.value))" }.joined(separator: "&")
        var head =
            "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n"
        if !body.isEmpty { head += "Content-Type: application/x-www-form-urlencoded\r\n" }
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        let raw = try exchange(Array((head + "\r\n" + body).utf8))
        let text = String(decoding: raw, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n"), let statusLine = text.split(separator: "\r\n").first else {
            throw CommandError("admin at \(host):\(port): malformed HTTP reply")
        }
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else {
            throw CommandError("admin at \(host):\(port): malformed status line")
        }
        return Reply(status: status, body: String(text[split.upperBound...]))
    }

    func escape(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: ".-_:/"))) ?? s
    }

    func exchange(_ bytes: [UInt8]) throws -> [UInt8] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &res) == 0, let ai = res else {
            throw CommandError("cannot resolve admin host \(host)")
        }
        defer { freeaddrinfo(res) }
        let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, ai.pointee.ai_protocol)
        guard fd >= 0 else { throw CommandError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 else {
            throw Unreachable(
                message: "cannot reach the admin API at \(host):\(port): \(String(cString: strerror(errno)))")
        }
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw CommandError("admin send failed") }
            sent += n
        }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return out
    }

    struct Unreachable: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}
