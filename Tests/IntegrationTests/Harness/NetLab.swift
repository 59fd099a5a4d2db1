// Hosts in network namespaces joined by one bridge, for what crosses a network: a fleet, a
// partition. Each host is a namespace with `lo` up and `eth0` at 10.77.0.N/24 on a bridge in a
// namespace of its own; links are cut inside a host with blackhole routes (connects and replies
// fail at once). Nothing is added to the runner's own namespace. Namespaces outlive the processes
// in them, so `remove()` kills what runs inside and deletes them; it runs on every exit path.

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

final class NetLab: @unchecked Sendable {
    static let subnet = "10.77.0"
    /// Names are per run and per lab, so two runs (or a leftover) never meet.
    let prefix: String
    private let hub: String
    private let hosts = Locked<[String: [String]]>([:])
    let dir: TempDir
    private let processes = Locked<[Spawned]>([])

    private static let counter = Locked(0)

    init() throws {
        _ = try Peers.require("ip", "python3")
        guard getuid() == 0 else { throw HarnessError("network namespaces need root (CI runs the suite as root)") }
        let n = NetLab.counter.withLock { c -> Int in
            c += 1
            return c
        }
        prefix = "crsl\(getpid() % 100_000)x\(n)"
        hub = "\(prefix)-hub"
        dir = try TempDir(prefix: "netlab")
    }

    func namespace(_ host: String) -> String { "\(prefix)-\(host)" }

    private func ip(_ arguments: [String]) async throws {
        let r = try await Command.run("ip", arguments)
        guard r.status == 0 else { throw HarnessError("ip \(arguments.joined(separator: " ")): \(r.stderr)") }
    }

    /// Makes the bridge (once) and a host with the given last octets (the first is its main
    /// address).
    func add(_ host: String, octets: [Int]) async throws {
        if hosts.withLock({ $0.isEmpty }) {
            try await ip(["netns", "add", hub])
            try await ip(["-n", hub, "link", "add", "br0", "type", "bridge"])
            try await ip(["-n", hub, "link", "set", "br0", "up"])
        }
        let ns = namespace(host)
        let port = "p\(octets[0])"
        hosts.withLock { $0[host] = octets.map { "\(NetLab.subnet).\($0)" } }
        try await ip(["netns", "add", ns])
        try await ip(["-n", ns, "link", "set", "lo", "up"])
        try await ip(["link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", port, "netns", hub])
        for o in octets { try await ip(["-n", ns, "addr", "add", "\(NetLab.subnet).\(o)/24", "dev", "eth0"]) }
        try await ip(["-n", ns, "link", "set", "eth0", "up"])
        try await ip(["-n", hub, "link", "set", port, "master", "br0", "up"])
    }

    func address(_ host: String, _ i: Int = 0) -> String { hosts.withLock { $0[host]![i] } }

    /// Runs a command inside `host` to completion.
    func run(_ host: String, _ arguments: [String], timeout: Double = 60) async throws -> CommandResult {
        try await Command.run("ip", ["netns", "exec", namespace(host)] + arguments, timeout: timeout)
    }

    /// Starts a long-running process inside `host` (`ip netns exec` execs, so the pid is the
    /// program's); its output goes to `name`.stdout/.stderr in the lab's directory. It is killed by
    /// `remove()` if it is still running.
    func spawn(_ host: String, _ arguments: [String], name: String) throws -> Spawned {
        let p = try Spawned(
            executable: Command.which("ip")!, arguments: ["netns", "exec", namespace(host)] + arguments,
            stdout: dir.url.appendingPathComponent("\(name).stdout"),
            stderr: dir.url.appendingPathComponent("\(name).stderr"))
        processes.withLock { $0.append(p) }
        return p
    }

    func output(_ name: String) -> String {
        (try? String(contentsOfFile: dir.path("\(name).stderr"), encoding: .utf8)) ?? ""
    }

    /// Cuts `host` off from `address` (both ways: its packets and its replies to it are dropped).
    func cut(_ host: String, from address: String) async throws {
        try await ip(["-n", namespace(host), "route", "add", "blackhole", "\(address)/32"])
    }

    func mend(_ host: String, from address: String) async throws {
        try await ip(["-n", namespace(host), "route", "del", "blackhole", "\(address)/32"])
    }

    /// Stops every process started here, then kills whatever else runs in the namespaces and
    /// deletes them.
    func remove() {
        for p in processes.withLock({ $0 }) { p.kill() }
        let names = hosts.withLock { Array($0.keys) }.map(namespace) + [hub]
        for ns in names {
            let pids = (try? Self.capture(["netns", "pids", ns])) ?? ""
            for pid in pids.split(separator: "\n").compactMap({ Int32($0) }) { Glibc.kill(pid, SIGKILL) }
            _ = try? Self.capture(["netns", "del", ns])
        }
        dir.remove()
    }

    /// A synchronous `ip` for cleanup paths (no task needed).
    private static func capture(_ arguments: [String]) throws -> String {
        let dir = try TempDir(prefix: "ip")
        defer { dir.remove() }
        let p = try Spawned(
            executable: Command.which("ip")!, arguments: arguments, stdout: dir.url.appendingPathComponent("out"),
            stderr: dir.url.appendingPathComponent("err"))
        _ = p.wait(timeout: 10)
        return (try? String(contentsOfFile: dir.path("out"), encoding: .utf8)) ?? ""
    }
}

/// Runs `body` with a fresh lab, removed on every exit path.
func withNetLab<T>(_ body: (NetLab) async throws -> T) async throws -> T {
    let lab = try NetLab()
    do {
        let result = try await body(lab)
        lab.remove()
        return result
    } catch {
        lab.remove()
        throw error
    }
}
