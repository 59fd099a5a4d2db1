import CSocket
import NIOCore
import Responder

#if canImport(Glibc)
    import Glibc
#endif

/// A bound UDP socket of one ``UDPWorker``. On a wildcard address (0.0.0.0, ::) it asks for the
/// destination of every datagram (IP_PKTINFO) and replies from that address, so a host with
/// several addresses answers from the one it was asked on; resolvers drop replies from another.
final class UDPSocket: Sendable {
    /// How long a worker's receive blocks before it looks at its mailbox again when no query
    /// comes: the most an idle server takes to pick up a new snapshot or to stop.
    static let wakeInterval = 10  // milliseconds

    let fd: Int32
    let pktinfo: Bool

    init(binding address: SocketAddress) throws {
        let family: Int32
        var wildcard = false
        switch address {
        case .v4(let a):
            family = AF_INET
            wildcard = a.address.sin_addr.s_addr == 0
        case .v6(let a):
            family = AF_INET6
            wildcard = withUnsafeBytes(of: a.address.sin6_addr) { $0.allSatisfy { $0 == 0 } }
        case .unixDomainSocket:
            throw ServerError(message: "\(address): UDP needs an IP address")
        }
        let fd = Glibc.socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ServerError(message: "socket: \(String(cString: strerror(errno)))") }
        func option(_ level: Int32, _ name: Int32) throws {
            var one: Int32 = 1
            guard setsockopt(fd, level, name, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                let message = String(cString: strerror(errno))
                Glibc.close(fd)
                throw ServerError(message: "\(address): setsockopt: \(message)")
            }
        }
        try option(SOL_SOCKET, SO_REUSEADDR)
        try option(SOL_SOCKET, SO_REUSEPORT)
        // Room for a burst while the thread is descheduled (the default, ~200 KiB, holds about
        // 1,000 queries). FORCE passes net.core.rmem_max when running as root; else best effort.
        var size: Int32 = 4 << 20
        let sizeLength = socklen_t(MemoryLayout<Int32>.size)
        if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeLength) != 0 {
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeLength)
        }
        if wildcard {
            if family == AF_INET {
                try option(Int32(IPPROTO_IP), csocket_ip_pktinfo)
            } else {
                try option(Int32(IPPROTO_IPV6), csocket_ipv6_recvpktinfo)
            }
        }
        var timeout = timeval(tv_sec: 0, tv_usec: UDPSocket.wakeInterval * 1000)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let bound = address.withSockAddr { Glibc.bind(fd, $0, socklen_t($1)) }
        guard bound == 0 else {
            let message = String(cString: strerror(errno))
            Glibc.close(fd)
            throw ServerError(message: "\(address): bind: \(message)")
        }
        self.fd = fd
        self.pktinfo = wildcard
    }

    deinit { Glibc.close(fd) }

    /// Sends one datagram to `peer` (from the address it wrote to, on a wildcard socket). Safe
    /// from any thread; used for the few replies that do not go out with a batch.
    func send(_ bytes: [UInt8], to peer: UDPPeer) {
        var peer = peer
        bytes.withUnsafeBytes { data in
            withUnsafeMutableBytes(of: &peer.name) { name in
                withUnsafeMutableBytes(of: &peer.control) { control in
                    var iov = iovec(iov_base: UnsafeMutableRawPointer(mutating: data.baseAddress), iov_len: data.count)
                    withUnsafeMutablePointer(to: &iov) { iov in
                        var msg = msghdr()
                        msg.msg_name = name.baseAddress
                        msg.msg_namelen = peer.nameLength
                        msg.msg_iov = iov
                        msg.msg_iovlen = 1
                        if peer.controlLength > 0 {
                            msg.msg_control = control.baseAddress
                            msg.msg_controllen = peer.controlLength
                        }
                        _ = sendmsg(fd, &msg, 0)
                    }
                }
            }
        }
    }
}

/// Where a datagram came from, and the control message that makes the reply leave from the
/// address it was sent to.
struct UDPPeer: Sendable {
    var name = sockaddr_storage()
    var nameLength: socklen_t = 0
    var control: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
    var controlLength = 0

    /// The client's address in network order: 4 bytes for IPv4 (also when it reached an IPv6
    /// socket as ::ffff:a.b.c.d), 16 for IPv6.
    var addressBytes: [UInt8] {
        withUnsafeBytes(of: name) { UDPPeer.address(in: $0).map(Array.init) ?? [] }
    }

    /// The address bytes inside a sockaddr_in or sockaddr_in6.
    @inline(__always)
    static func address(in name: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        let family = name.load(as: sa_family_t.self)
        if family == AF_INET { return UnsafeRawBufferPointer(rebasing: name[4..<8]) }
        guard family == AF_INET6 else { return nil }
        // ::ffff:a.b.c.d — an IPv4 client of a dual-stack socket.
        var mapped = name[18] == 0xff && name[19] == 0xff
        if mapped { for i in 8..<18 where name[i] != 0 { mapped = false; break } }
        return UnsafeRawBufferPointer(rebasing: mapped ? name[20..<24] : name[8..<24])
    }
}

extension ClientAddress {
    /// A TCP peer's address (an IPv4 client of a dual-stack socket as IPv4).
    init(peer: SocketAddress?) {
        var storage = sockaddr_storage()
        guard let peer else {
            self = .unknown
            return
        }
        let copied: Bool = withUnsafeMutableBytes(of: &storage) { out in
            peer.withSockAddr { address, length in
                guard length <= out.count else { return false }
                out.copyMemory(from: UnsafeRawBufferPointer(start: address, count: length))
                return true
            }
        }
        guard copied else {
            self = .unknown
            return
        }
        self = withUnsafeBytes(of: &storage) { name in
            UDPPeer.address(in: name).map(ClientAddress.init) ?? .unknown
        }
    }
}
