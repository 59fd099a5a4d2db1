// Backends' agents (HAProxy's agent-check protocol) for the tests: one Python process answers
// every connection on each address with the line the test last wrote for that address, so a
// test can say "75%", "drain" or "down #disk full" for any backend at any moment; and HAProxy
// 2.6 reading the same agents, for the differential tests.

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One agent per address, all on one port; ``say(_:_:)`` sets what an address answers (no line
/// at all: it accepts and closes, an agent that says nothing).
final class Agents: @unchecked Sendable {
    let addresses: [String]
    let port: UInt16
    let dir: TempDir
    private let process: Spawned

    init(addresses: [String], replies: [String: String] = [:]) async throws {
        self.addresses = addresses
        port = try Ports.free(hosts: addresses)
        dir = try TempDir(prefix: "agents")
        _ = try dir.write("agent.py", Self.script)
        for (address, line) in replies { _ = try dir.write(Self.file(address), line) }
        let stdout = dir.url.appendingPathComponent("stdout")
        let stderr = dir.url.appendingPathComponent("stderr")
        process = try Spawned(
            executable: "/usr/bin/python3",
            arguments: ["-u", dir.path("agent.py"), dir.path("."), "\(port)"] + addresses, stdout: stdout,
            stderr: stderr)
        let deadline = Date().addingTimeInterval(15)
        while true {
            if let text = try? String(contentsOf: stdout, encoding: .utf8), text.contains("listening") { return }
            guard process.isRunning else {
                let log = (try? String(contentsOf: stderr, encoding: .utf8)) ?? ""
                dir.remove()
                throw HarnessError("agents exited: \(log)")
            }
            if Date() > deadline {
                stop()
                throw HarnessError("agents did not listen within 15 s")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    static func file(_ address: String) -> String { "reply-" + address.replacingOccurrences(of: ":", with: "_") }

    /// From the next connection on, `address` answers `line` (give the line end: "75%\n").
    func say(_ address: String, _ line: String) throws {
        // Written whole, then renamed: a connection never reads half a line.
        let temp = try dir.write(Self.file(address) + ".new", line)
        guard rename(temp, dir.path(Self.file(address))) == 0 else {
            throw HarnessError("rename \(temp): errno \(errno)")
        }
    }

    /// What `address` answered, one entry per connection in order ("-" for no line), from the
    /// agent's own log: counts the probes without asking the server, so a loaded machine's
    /// slow admin requests do not add probes made after the moment of interest.
    func served(_ address: String) -> [String] {
        let text = (try? String(contentsOfFile: dir.path("log-" + Self.file(address)), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init)
    }

    func stop() {
        process.kill()
        dir.remove()
    }

    static let script = #"""
        import os, socket, sys, threading
        directory, port, hosts = sys.argv[1], int(sys.argv[2]), sys.argv[3:]

        def serve(listener, host):
            name = os.path.join(directory, "reply-" + host.replace(":", "_"))
            log = open(os.path.join(directory, "log-reply-" + host.replace(":", "_")), "ab", buffering=0)
            while True:
                conn, _ = listener.accept()
                try:
                    with open(name, "rb") as f:
                        line = f.read()
                except FileNotFoundError:
                    line = b""
                try:
                    conn.sendall(line)
                except OSError:
                    pass
                conn.close()
                log.write((line.strip() or b"-") + b"\n")

        listeners = []
        for host in hosts:
            s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
            s.listen(128)
            listeners.append((s, host))
        for s, host in listeners:
            threading.Thread(target=serve, args=(s, host), daemon=True).start()
        print("listening", flush=True)
        threading.Event().wait()
        """#
}

func withAgents<T>(
    _ addresses: [String], replies: [String: String] = [:], _ body: (Agents) async throws -> T
) async throws -> T {
    let agents = try await Agents(addresses: addresses, replies: replies)
    do {
        let result = try await body(agents)
        agents.stop()
        return result
    } catch {
        agents.stop()
        throw error
    }
}

/// HAProxy 2.6 with one backend whose servers have `agent-check`, and its stats socket read
/// with `show stat`.
final class HAProxy: @unchecked Sendable {
    struct Server: Sendable {
        var status: String
        var weight: Int
        var agentStatus: String
        var agentDescription: String
    }

    let dir: TempDir
    private let process: Spawned
    var log: String { (try? String(contentsOfFile: dir.path("stderr"), encoding: .utf8)) ?? "" }

    /// `servers`: address → its service port; every one's agent is on `agentPort`.
    /// Each server has a TCP `check` as well: without one HAProxy 2.6 shows "no check" and does
    /// not apply the agent's weight.
    init(servers: [String], port: UInt16, agentPort: UInt16, agentInterval: String = "500ms") async throws {
        dir = try TempDir(prefix: "haproxy")
        let listen = try Ports.free()
        var config = """
            global
                stats socket \(dir.path("admin.sock")) mode 600 level admin
            defaults
                mode tcp
                timeout connect 1s
                timeout client 5s
                timeout server 5s
            listen app
                bind 127.0.0.1:\(listen)
                balance roundrobin

            """
        for (i, address) in servers.enumerated() {
            config +=
                "    server s\(i + 1) \(address):\(port) check inter 500ms agent-check agent-port \(agentPort) agent-inter \(agentInterval) weight 100\n"
        }
        _ = try dir.write("haproxy.cfg", config)
        let haproxy = try Peers.require("haproxy")[0]
        process = try Spawned(
            executable: haproxy, arguments: ["-db", "-f", dir.path("haproxy.cfg")],
            stdout: dir.url.appendingPathComponent("stdout"), stderr: dir.url.appendingPathComponent("stderr"))
        let deadline = Date().addingTimeInterval(15)
        while !FileManager.default.fileExists(atPath: dir.path("admin.sock")) {
            guard process.isRunning else { throw HarnessError("haproxy exited: \(log)") }
            if Date() > deadline { throw HarnessError("haproxy's stats socket did not appear within 15 s") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// `show stat` for the backend's servers, by server name (`s1`, `s2`, …).
    func servers() async throws -> [String: Server] {
        let csv = try await command("show stat")
        let lines = csv.split(separator: "\n").map(String.init)
        guard let header = lines.first, header.hasPrefix("# ") else { throw HarnessError("show stat: \(csv)") }
        let names = header.dropFirst(2).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        func column(_ name: String) throws -> Int {
            guard let i = names.firstIndex(of: name) else { throw HarnessError("show stat has no \(name)") }
            return i
        }
        let (sv, status, weight) = (try column("svname"), try column("status"), try column("weight"))
        let (agent, description) = (try column("agent_status"), try column("agent_desc"))
        var out: [String: Server] = [:]
        for line in lines.dropFirst() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard f.count > max(agent, description), f[sv].hasPrefix("s") else { continue }
            out[f[sv]] = Server(
                status: f[status], weight: Int(f[weight]) ?? -1, agentStatus: f[agent],
                agentDescription: f[description])
        }
        return out
    }

    /// One command on the stats socket (through Python: Foundation has no AF_UNIX client).
    func command(_ text: String) async throws -> String {
        let script = """
            import socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(sys.argv[1])
            s.sendall(sys.argv[2].encode() + b"\\n")
            out = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
            sys.stdout.write(out.decode())
            """
        let result = try await Command.run("/usr/bin/python3", ["-c", script, dir.path("admin.sock"), text])
        guard result.status == 0 else { throw HarnessError("haproxy \(text): \(result.stderr)") }
        return result.stdout
    }

    func stop() {
        process.kill()
        dir.remove()
    }
}

func withHAProxy<T>(
    servers: [String], port: UInt16, agentPort: UInt16, _ body: (HAProxy) async throws -> T
) async throws -> T {
    let haproxy = try await HAProxy(servers: servers, port: port, agentPort: agentPort)
    do {
        let result = try await body(haproxy)
        haproxy.stop()
        return result
    } catch {
        haproxy.stop()
        throw error
    }
}
