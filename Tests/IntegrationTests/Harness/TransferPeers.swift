// NSD and Knot from Debian as the other end of zone transfers: secondaries of Carousel, or the
// primary that Carousel follows. Each runs in its own temp directory on a free loopback port and
// is stopped by `with…` also when the test throws.

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The TSIG key the transfer tests share (32 random-looking bytes, base64).
enum TestKey {
    static let name = "xfr"
    static let secret = "Y2Fyb3VzZWwtdGVzdC1zZWNyZXQtMDEyMzQ1Njc4OSE="
    static let wrongSecret = "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZyE="
    /// hmac-sha256 unless a test runs under another (`TestKey.$algorithm.withValue`): the
    /// config of Carousel and of the peers, and the dig and kdig keys, all follow it.
    @TaskLocal static var algorithm = "hmac-sha256"
    static var yaml: String {
        "tsig_keys:\n  - { name: \(name), algorithm: \(algorithm), secret: \"\(secret)\" }\n"
    }
}

/// A running NSD or Knot with a generated config.
final class TransferPeer: @unchecked Sendable {
    enum Kind: String, Sendable { case nsd, knot }

    let kind: Kind
    let endpoint: Endpoint
    let process: Spawned
    let dir: TempDir

    var log: String {
        ((try? String(contentsOfFile: dir.path("stderr"), encoding: .utf8)) ?? "")
            + ((try? String(contentsOfFile: dir.path("stdout"), encoding: .utf8)) ?? "")
    }

    /// One zone: as a secondary of `primary` (nil: a primary serving `file`), with an optional
    /// TSIG key for the transfers and NOTIFYs, and `notify` targets (for a primary).
    struct Zone: Sendable {
        var origin: String
        var primary: Endpoint? = nil
        var file: String? = nil
        var key: Bool = false
        var notify: [Endpoint] = []
        /// NSD only: pull over TLS (XoT), the primary's certificate checked for this name
        /// against `start`'s `tlsCA`.
        var tlsName: String? = nil
    }

    /// Starts the peer on `port` (pick it with `Ports.free()` first when the other side must know it).
    /// `cookieSecret` (32 hex digits, Knot only) turns on Knot's mod-cookies with that secret.
    static func start(
        _ kind: Kind, port: UInt16, zones: [Zone], cookieSecret: String? = nil, tlsCA: String? = nil
    ) async throws -> TransferPeer {
        let executable = try Peers.require(kind == .nsd ? "nsd" : "knotd")[0]
        let dir = try TempDir(prefix: kind.rawValue)
        let conf: String
        do {
            conf = try dir.write(
                kind == .nsd ? "nsd.conf" : "knot.conf",
                kind == .nsd
                    ? nsdConfig(port: port, dir: dir, zones: zones, tlsCA: tlsCA)
                    : knotConfig(port: port, dir: dir, zones: zones, cookieSecret: cookieSecret))
            if kind == .nsd {
                let check = try await Command.run("nsd-checkconf", [conf])
                guard check.status == 0 else { throw HarnessError("nsd-checkconf: \(check.stderr)\(check.stdout)") }
            }
        } catch {
            dir.remove()
            throw error
        }
        let arguments = kind == .nsd ? ["-d", "-c", conf] : ["-c", conf]
        let process = try Spawned(
            executable: executable, arguments: arguments,
            stdout: dir.url.appendingPathComponent("stdout"), stderr: dir.url.appendingPathComponent("stderr"))
        return TransferPeer(kind: kind, endpoint: Endpoint(host: "127.0.0.1", port: port), process: process, dir: dir)
    }

    private init(kind: Kind, endpoint: Endpoint, process: Spawned, dir: TempDir) {
        self.kind = kind
        self.endpoint = endpoint
        self.process = process
        self.dir = dir
    }

    private static func nsdConfig(port: UInt16, dir: TempDir, zones: [Zone], tlsCA: String?) -> String {
        var text = """
            server:
                ip-address: 127.0.0.1@\(port)
                port: \(port)
                do-ip6: no
                username: ""
                database: ""
                chroot: ""
                zonelistfile: "\(dir.path("zone.list"))"
                xfrdfile: "\(dir.path("xfrd.state"))"
                xfrdir: "\(dir.url.path)"
                pidfile: "\(dir.path("nsd.pid"))"
                zonesdir: "\(dir.url.path)"
                server-count: 1
                rrl-ratelimit: 0
                rrl-whitelist-ratelimit: 0
                minimal-responses: yes
                verbosity: 2
                xfrd-reload-timeout: 0
            \(tlsCA.map { "    tls-cert-bundle: \"\($0)\"" } ?? "")
            remote-control:
                control-enable: yes
                control-interface: "\(dir.path("nsd.ctl"))"
            key:
                name: \(TestKey.name)
                algorithm: \(TestKey.algorithm)
                secret: "\(TestKey.secret)"

            """
        for name in Set(zones.compactMap(\.tlsName)).sorted() {
            text += "tls-auth:\n    name: \(name)\n    auth-domain-name: \"\(name)\"\n"
        }
        for z in zones {
            let key = z.key ? TestKey.name : "NOKEY"
            text += "zone:\n    name: \"\(z.origin)\"\n"
            if let p = z.primary {
                text += "    zonefile: \"\(dir.path(z.origin + "zone"))\"\n"
                text += "    request-xfr: \(p.host)@\(p.port) \(key)\(z.tlsName.map { " \($0)" } ?? "")\n"
                text += "    allow-notify: \(p.host) \(key)\n"
            } else {
                text += "    zonefile: \"\(z.file!)\"\n"
                text += "    provide-xfr: 127.0.0.0/8 \(key)\n"
                for n in z.notify { text += "    notify: \(n.host)@\(n.port) \(key)\n" }
            }
        }
        return text
    }

    private static func knotConfig(port: UInt16, dir: TempDir, zones: [Zone], cookieSecret: String?) -> String {
        var text = """
            server:
                rundir: "\(dir.url.path)"
                listen: 127.0.0.1@\(port)
                udp-workers: 1
                tcp-workers: 1
                background-workers: 1
            log:
              - target: stderr
                any: info
            database:
                storage: "\(dir.url.path)"
            key:
              - id: \(TestKey.name)
                algorithm: \(TestKey.algorithm)
                secret: \(TestKey.secret)
            remote:

            """
        var remotes: [String: Endpoint] = [:]
        for z in zones {
            if let p = z.primary { remotes["primary\(p.port)"] = p }
            for n in z.notify { remotes["notify\(n.port)"] = n }
        }
        for (id, e) in remotes.sorted(by: { $0.key < $1.key }) {
            let key = zones.contains(where: \.key) ? "\n    key: \(TestKey.name)" : ""
            text += "  - id: \(id)\n    address: \(e.host)@\(e.port)\(key)\n"
        }
        text += "acl:\n  - id: peers\n    address: 127.0.0.0/8\n    action: [transfer, notify]\n"
        if zones.contains(where: \.key) { text += "    key: \(TestKey.name)\n" }
        if let cookieSecret { text += "mod-cookies:\n  - id: default\n    secret: 0x\(cookieSecret)\n" }
        text +=
            "template:\n  - id: default\n    storage: \"\(dir.url.path)\"\n    zonefile-sync: -1\n    journal-content: none\n"
        if cookieSecret != nil { text += "    global-module: mod-cookies/default\n" }
        text += "zone:\n"
        for z in zones {
            text += "  - domain: \(z.origin)\n"
            if let p = z.primary {
                text += "    master: primary\(p.port)\n    acl: peers\n"
            } else {
                // Diffs between zone file versions kept in the journal: Knot answers IXFR with them.
                text +=
                    "    file: \"\(z.file!)\"\n    acl: peers\n    journal-content: changes\n    zonefile-load: difference\n"
                if !z.notify.isEmpty {
                    text += "    notify: [\(z.notify.map { "notify\($0.port)" }.joined(separator: ", "))]\n"
                }
            }
        }
        return text
    }

    /// Waits until the peer answers `name` `type` with NOERROR and an answer (it has the zone).
    func waitForZone(_ origin: String, timeout: Double = 15) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard process.isRunning else {
                throw HarnessError("\(kind) exited with status \(process.exitStatus)\n\(log)")
            }
            let r = try await Dig.query(endpoint, origin, "SOA")
            if r.status == "NOERROR", !r.answer.isEmpty { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HarnessError("\(kind) did not load \(origin) within \(timeout) s\n\(log)")
    }

    /// The serial of the peer's SOA for `origin`, or nil.
    func serial(_ origin: String) async throws -> Int? {
        let r = try await Dig.query(endpoint, origin, "SOA")
        guard r.status == "NOERROR", let soa = r.answer.first(where: { $0.type == "SOA" }) else { return nil }
        let fields = soa.rdata.split(separator: " ")
        return fields.count >= 3 ? Int(fields[2]) : nil
    }

    /// Re-reads the zone files (NSD 4.6 ignores SIGHUP for that: `nsd-control reload` over the
    /// control socket does it; Knot: `knotc zone-reload`).
    func reload() async throws {
        let conf = dir.path(kind == .nsd ? "nsd.conf" : "knot.conf")
        let result =
            kind == .nsd
            ? try await Command.run("nsd-control", ["-c", conf, "reload"])
            : try await Command.run("knotc", ["-c", conf, "zone-reload"])
        guard result.status == 0 else { throw HarnessError("reload: \(result.stdout)\(result.stderr)") }
    }

    func stop() {
        process.stop()
        dir.remove()
    }
}

/// Runs `body` with a peer, stopped afterwards also when `body` throws.
func withPeer<T>(
    _ kind: TransferPeer.Kind, port: UInt16, zones: [TransferPeer.Zone], _ body: (TransferPeer) async throws -> T
) async throws -> T {
    let peer = try await TransferPeer.start(kind, port: port, zones: zones)
    do {
        let result = try await body(peer)
        peer.stop()
        return result
    } catch {
        peer.stop()
        throw error
    }
}

/// A secondary that only takes NOTIFYs: a UDP socket on 127.0.0.1:`port` that logs the serial of
/// each NOTIFY it gets and answers those `answers` accepts (a NOTIFY response: the query with QR
/// set). Stands in where a test needs to choose which NOTIFYs go unanswered.
final class NotifyCatcher: @unchecked Sendable {
    private let fd: Int32
    private let lock = NSLock()
    private var seen: [UInt32] = []
    private var stopped = false
    private var thread: Thread?

    /// Serials of the NOTIFYs received, in order of arrival.
    var serials: [UInt32] { lock.withLock { seen } }

    init(port: UInt16, answers: @escaping @Sendable (_ serial: UInt32, _ seenSoFar: [UInt32]) -> Bool) throws {
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(String(cString: strerror(errno)))") }
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_port = port.bigEndian
        _ = inet_pton(AF_INET, "127.0.0.1", &local.sin_addr)
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw HarnessError("bind 127.0.0.1:\(port): \(message)")
        }
        let thread = Thread { [self] in serve(answers) }
        self.thread = thread
        thread.start()
    }

    private func serve(_ answers: (UInt32, [UInt32]) -> Bool) {
        var buffer = [UInt8](repeating: 0, count: 65535)
        while !lock.withLock({ stopped }) {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 100) > 0 else { continue }
            var from = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let n = withUnsafeMutablePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(fd, &buffer, buffer.count, 0, $0, &length)
                }
            }
            // Opcode NOTIFY, not a response; the SOA's serial is the answer's last 20 bytes' first
            // four (no TSIG or OPT follows in these tests).
            guard n >= 12 + 20, buffer[2] & 0xF8 == 4 << 3 else { continue }
            let serial = buffer[(n - 20)..<(n - 16)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let before = lock.withLock { () -> [UInt32] in
                defer { seen.append(serial) }
                return seen
            }
            guard answers(serial, before) else { continue }
            var reply = Array(buffer[0..<n])
            reply[2] |= 0x80
            reply[3] &= 0xF0
            _ = withUnsafePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, reply, reply.count, 0, $0, length) }
            }
        }
    }

    func stop() {
        lock.withLock { stopped = true }
        while thread?.isFinished == false { usleep(10_000) }
        close(fd)
    }
}
