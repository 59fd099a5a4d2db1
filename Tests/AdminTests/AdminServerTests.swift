import Admin
import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Admin HTTP server")
struct AdminServerTests {
    @Test("a body of many megabytes arrives whole before the connection closes (a /status of 10,000 members)")
    func bigBody() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let body = [UInt8](repeating: 0x61, count: 8 << 20)
        let server = try await AdminServer.bind(
            host: "127.0.0.1", port: 0, group: group, logger: Logger(label: "test")
        ) { _ in AdminResponse(status: .ok, contentType: "application/octet-stream", body: body) }
        let port = try #require(server.port)
        let task = Task { try await server.run() }
        defer { task.cancel() }
        // A slow reader: the server's writes outrun the socket buffer many times over.
        let received = await Task.detached { () -> [UInt8] in
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
            let ok = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard ok == 0 else { return [] }
            let request = Array("GET /status HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
            _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            usleep(200_000)
            var out: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = recv(fd, &chunk, chunk.count, 0)
                if n <= 0 { break }
                out += chunk[0..<n]
            }
            return out
        }.value
        // The header ends at the first blank line, within its first few hundred bytes.
        let head = received.prefix(1024)
        let end = try #require(
            head.indices.dropLast(3).first {
                head[$0] == 13 && head[$0 + 1] == 10 && head[$0 + 2] == 13 && head[$0 + 3] == 10
            }, "no header in \(received.count) bytes")
        #expect(received.count - (end + 4) == body.count, "got \(received.count - end - 4) of \(body.count) bytes")
        let same = received.suffix(from: end + 4).elementsEqual(body)
        #expect(same, "the bytes are the body's")
        try await group.shutdownGracefully()
    }
}
