// Throwaway HTTP, HTTPS and TCP backends for the balancing tests: one small Python server per
// address, on addresses no other test uses, killed and restarted at will.

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Loopback addresses for one test: `127.0.N.11`, `127.0.N.12`, … with an `N` no other test of
/// this run gets, so tests running in parallel never share a backend (every 127/8 address is
/// local without setup).
enum BackendNet {
    private static let next = Locked<Int>(Int.random(in: 1...200))

    static func addresses(_ count: Int = 4) -> [String] {
        let n = next.withLock { value -> Int in
            defer { value = value >= 250 ? 1 : value + 1 }
            return value
        }
        return (0..<count).map { "127.0.\(n).\(11 + $0)" }
    }
}

/// A set of backends, one process per address, all on one port.
final class Backends: @unchecked Sendable {
    enum Kind: Sendable {
        /// `GET /healthz` → 200 "ok" (or the code written with ``setStatus(_:_:)``).
        case http
        /// The same over TLS, with a self-signed certificate for CN=localhost.
        case https
    }

    let addresses: [String]
    let port: UInt16
    let kind: Kind
    let dir: TempDir
    private let processes: Locked<[Spawned?]>

    /// Starts one backend on each address (a port free on all of them is picked) and waits until
    /// every one listens.
    init(addresses: [String], kind: Kind = .http) async throws {
        self.addresses = addresses
        self.kind = kind
        port = try Ports.free(hosts: addresses)
        dir = try TempDir(prefix: "backends")
        processes = Locked(Array(repeating: nil, count: addresses.count))
        _ = try dir.write("backend.py", Self.script)
        if kind == .https { try await Self.makeCertificate(in: dir) }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in addresses.indices { group.addTask { try await self.start(i) } }
                try await group.waitForAll()
            }
        } catch {
            stop()
            throw error
        }
    }

    /// `127.0.N.11` → index 0.
    func index(of address: String) -> Int {
        guard let i = addresses.firstIndex(of: address) else { fatalError("\(address) is not a backend") }
        return i
    }

    /// Starts (or restarts) backend `i` and waits until it listens.
    func start(_ i: Int) async throws {
        let address = addresses[i]
        let tag = address.replacingOccurrences(of: ":", with: "_")
        var arguments = [dir.path("backend.py"), address, "\(port)", dir.path("status-\(tag)")]
        if kind == .https { arguments += [dir.path("cert.pem"), dir.path("key.pem")] }
        let stdout = dir.url.appendingPathComponent("stdout-\(tag)")
        let stderr = dir.url.appendingPathComponent("stderr-\(tag)")
        // The system python starts faster than a version manager's shim, and is the one Debian has.
        let system = "/usr/bin/python3"
        guard let python = FileManager.default.isExecutableFile(atPath: system) ? system : Command.which("python3")
        else { throw HarnessError("python3 is not installed") }
        let process = try Spawned(executable: python, arguments: ["-u"] + arguments, stdout: stdout, stderr: stderr)
        processes.withLock { $0[i] = process }
        let deadline = Date().addingTimeInterval(15)
        while true {
            if let text = try? String(contentsOf: stdout, encoding: .utf8), text.contains("listening") { return }
            guard process.isRunning else {
                let log = (try? String(contentsOf: stderr, encoding: .utf8)) ?? ""
                throw HarnessError("backend \(address):\(port) exited: \(log)")
            }
            if Date() > deadline { throw HarnessError("backend \(address):\(port) did not listen within 15 s") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// SIGKILL for backend `i`; returns once the process is gone (its socket closes with it).
    /// The wait runs on its own thread, off Swift's small cooperative pool.
    func kill(_ i: Int) async throws {
        guard let process = processes.withLock({ $0[i] }) else { return }
        try await offload { process.kill() }
    }

    func kill(_ address: String) async throws { try await kill(index(of: address)) }
    func restart(_ address: String) async throws { try await start(index(of: address)) }

    func killAll() async throws {
        for i in addresses.indices { try await kill(i) }
    }

    /// Makes backend `i` answer `/healthz` with `code` from its next request on.
    func setStatus(_ i: Int, _ code: Int) throws {
        let tag = addresses[i].replacingOccurrences(of: ":", with: "_")
        _ = try dir.write("status-\(tag)", "\(code)\n")
    }

    func isRunning(_ i: Int) -> Bool { processes.withLock { $0[i] }?.isRunning ?? false }

    func stop() {
        for process in processes.withLock({ $0 }) { process?.kill() }
        dir.remove()
    }

    /// A self-signed certificate for CN=localhost, valid one day.
    static func makeCertificate(in dir: TempDir) async throws {
        let result = try await Command.run(
            "openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-days", "1",
                "-keyout", dir.path("key.pem"), "-out", dir.path("cert.pem"),
            ])
        guard result.status == 0 else { throw HarnessError("openssl req failed: \(result.stderr)") }
    }

    /// `backend.py ADDRESS PORT STATUSFILE [CERT KEY]`: answers every GET with the status code in
    /// STATUSFILE (200 when absent), body "ok"; prints "listening" once bound.
    static let script = #"""
        import http.server, socket, ssl, sys

        host, port, status_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
        cert = sys.argv[4:6]

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def setup(self):
                if isinstance(self.request, ssl.SSLSocket):
                    self.request.settimeout(5)
                    self.request.do_handshake()
                super().setup()

            def do_GET(self):
                try:
                    with open(status_file) as f:
                        code = int(f.read().strip() or "200")
                except (OSError, ValueError):
                    code = 200
                body = b"ok\n" if code == 200 else b"failing\n"
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request, client_address):
                pass  # failed TLS handshakes are expected (the verifying check rejects the certificate)

        server = Server((host, port), Handler)
        if cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert[0], cert[1])
            server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        print("listening", flush=True)
        server.serve_forever()
        """#
}

/// Runs `body` with backends on fresh addresses and stops them afterwards, also when it throws.
func withBackends<T>(
    _ count: Int = 4, kind: Backends.Kind = .http, _ body: (Backends) async throws -> T
) async throws -> T {
    let backends = try await Backends(addresses: BackendNet.addresses(count), kind: kind)
    do {
        let result = try await body(backends)
        backends.stop()
        return result
    } catch {
        backends.stop()
        throw error
    }
}
