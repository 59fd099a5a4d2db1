import CSocket
import Responder

#if canImport(Glibc)
    import Glibc
#endif

/// The memory of one ``UDPWorker``'s batches, allocated once: `count` receive buffers with their
/// peer addresses and control messages, the reply arena, and the two `mmsghdr` vectors.
/// Touched only by the worker's thread.
final class UDPBatch {
    let count: Int
    private let buffers: UnsafeMutableRawPointer
    private let arenaStart: UnsafeMutableRawPointer
    private let names: UnsafeMutablePointer<sockaddr_storage>
    private let rxControl: UnsafeMutableRawPointer
    private let txControl: UnsafeMutableRawPointer
    private let rxIov: UnsafeMutablePointer<iovec>
    private let txIov: UnsafeMutablePointer<iovec>
    private let rx: UnsafeMutablePointer<csocket_mmsghdr>
    private let tx: UnsafeMutablePointer<csocket_mmsghdr>

    init(count: Int) {
        self.count = count
        let control = UDPWorker.controlSize
        buffers = .allocate(byteCount: count * UDPWorker.maxQuery, alignment: 16)
        // Only the pages replies touch become resident: a few KiB, not count × 64 KiB.
        arenaStart = .allocate(byteCount: count * UDPWorker.slot, alignment: 16)
        names = .allocate(capacity: count)
        rxControl = .allocate(byteCount: count * control, alignment: 16)
        txControl = .allocate(byteCount: count * control, alignment: 16)
        rxIov = .allocate(capacity: count)
        txIov = .allocate(capacity: count)
        rx = .allocate(capacity: count)
        tx = .allocate(capacity: count)
        for i in 0..<count {
            rxIov[i] = iovec(iov_base: buffers + i * UDPWorker.maxQuery, iov_len: UDPWorker.maxQuery)
            rx[i] = csocket_mmsghdr()
            rx[i].msg_hdr.msg_name = UnsafeMutableRawPointer(names + i)
            rx[i].msg_hdr.msg_iov = rxIov + i
            rx[i].msg_hdr.msg_iovlen = 1
            rx[i].msg_hdr.msg_control = rxControl + i * control
            tx[i] = csocket_mmsghdr()
            tx[i].msg_hdr.msg_iov = txIov + i
            tx[i].msg_hdr.msg_iovlen = 1
        }
    }

    deinit {
        buffers.deallocate()
        arenaStart.deallocate()
        names.deallocate()
        rxControl.deallocate()
        txControl.deallocate()
        rxIov.deallocate()
        txIov.deallocate()
        rx.deallocate()
        tx.deallocate()
    }

    /// Waits for a datagram (up to the socket's receive timeout), then reads up to `count`
    /// without waiting more: the number read, or -1 (errno set).
    @inline(__always)
    func receive(_ fd: Int32) -> Int {
        for i in 0..<count {
            rx[i].msg_hdr.msg_namelen = socklen_t(MemoryLayout<sockaddr_storage>.size)
            rx[i].msg_hdr.msg_controllen = UDPWorker.controlSize
        }
        return Int(csocket_recvmmsg(fd, rx, UInt32(count), Int32(MSG_WAITFORONE)))
    }

    /// Datagram `i` of the last receive (cut at `maxQuery` bytes).
    @inline(__always)
    func query(_ i: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(
            start: buffers + i * UDPWorker.maxQuery, count: min(Int(rx[i].msg_len), UDPWorker.maxQuery))
    }

    /// Room for one reply at `offset` in the arena (offsets stay below `count` × slot because
    /// each reply takes at most one slot).
    @inline(__always)
    func arena(from offset: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: arenaStart + offset, count: UDPWorker.slot - 1)
    }

    /// Makes reply `j` the `length` bytes at `offset`, addressed to the sender of datagram `i`.
    @inline(__always)
    func addReply(_ j: Int, to i: Int, at offset: Int, length: Int, pktinfo: Bool) {
        txIov[j] = iovec(iov_base: arenaStart + offset, iov_len: length)
        tx[j].msg_hdr.msg_name = UnsafeMutableRawPointer(names + i)
        tx[j].msg_hdr.msg_namelen = rx[i].msg_hdr.msg_namelen
        let controlLength = pktinfo ? replyControl(from: i, into: txControl + j * UDPWorker.controlSize) : 0
        tx[j].msg_hdr.msg_control = controlLength > 0 ? txControl + j * UDPWorker.controlSize : nil
        tx[j].msg_hdr.msg_controllen = controlLength
    }

    /// Sends the first `n` replies; a reply the kernel refuses (say, to an unreachable
    /// destination) is skipped, the rest still go.
    @inline(__always)
    func send(_ fd: Int32, _ n: Int) {
        var sent = 0
        while sent < n {
            let r = Int(csocket_sendmmsg(fd, tx + sent, UInt32(n - sent), 0))
            if r > 0 {
                sent += r
            } else if r < 0 && errno == EINTR {
                continue
            } else {
                sent += 1
            }
        }
    }

    /// Response rate limiting's key for the sender of datagram `i`.
    @inline(__always)
    func clientKey(_ i: Int, v4Bits: Int, v6Bits: Int) -> UInt64 {
        let name = UnsafeRawBufferPointer(start: names + i, count: MemoryLayout<sockaddr_storage>.size)
        guard let address = UDPPeer.address(in: name) else { return 0 }
        return RateLimiter.prefixKey(address, v4Bits: v4Bits, v6Bits: v6Bits)
    }

    /// The source address of datagram `i` (an IPv4 client of a dual-stack socket as IPv4).
    func clientAddress(_ i: Int) -> ClientAddress {
        let name = UnsafeRawBufferPointer(start: names + i, count: MemoryLayout<sockaddr_storage>.size)
        guard let address = UDPPeer.address(in: name) else { return .unknown }
        return ClientAddress(address)
    }

    /// The sender of datagram `i`, kept beyond the batch.
    func peer(_ i: Int) -> UDPPeer {
        var peer = UDPPeer()
        peer.name = names[i]
        peer.nameLength = rx[i].msg_hdr.msg_namelen
        peer.controlLength = withUnsafeMutableBytes(of: &peer.control) { replyControl(from: i, into: $0.baseAddress!) }
        return peer
    }

    /// Writes the control message that sends a reply to datagram `i` from the address it was
    /// sent to (IP_PKTINFO or IPV6_PKTINFO); returns its length, 0 when there is none.
    private func replyControl(from i: Int, into out: UnsafeMutableRawPointer) -> Int {
        let header = MemoryLayout<cmsghdr>.size
        let length = Int(rx[i].msg_hdr.msg_controllen)
        let control = rxControl + i * UDPWorker.controlSize
        var at = 0
        while at + header <= length {
            let cmsg = (control + at).load(as: cmsghdr.self)
            let size = Int(cmsg.cmsg_len)
            guard size >= header, at + size <= length else { return 0 }
            let data = control + at + header
            if cmsg.cmsg_level == Int32(IPPROTO_IP) && cmsg.cmsg_type == csocket_ip_pktinfo {
                var info = data.loadUnaligned(as: csocket_in_pktinfo.self)
                info.ipi_ifindex = 0
                info.ipi_spec_dst = info.ipi_addr
                return UDPBatch.write(level: Int32(IPPROTO_IP), type: csocket_ip_pktinfo, info, into: out)
            }
            if cmsg.cmsg_level == Int32(IPPROTO_IPV6) && cmsg.cmsg_type == csocket_ipv6_pktinfo {
                let info = data.loadUnaligned(as: csocket_in6_pktinfo.self)
                // An IPv4 client of a dual-stack socket: let the kernel choose.
                let mapped = withUnsafeBytes(of: info.ipi6_addr) { a in
                    a[10] == 0xff && a[11] == 0xff && a[0..<10].allSatisfy { $0 == 0 }
                }
                if mapped { return 0 }
                return UDPBatch.write(level: Int32(IPPROTO_IPV6), type: csocket_ipv6_pktinfo, info, into: out)
            }
            at += (size + 7) & ~7
        }
        return 0
    }

    private static func write<T>(level: Int32, type: Int32, _ value: T, into out: UnsafeMutableRawPointer) -> Int {
        let header = MemoryLayout<cmsghdr>.size
        let space = header + (MemoryLayout<T>.size + 7) & ~7
        out.initializeMemory(as: UInt8.self, repeating: 0, count: space)
        var cmsg = cmsghdr()
        cmsg.cmsg_len = header + MemoryLayout<T>.size
        cmsg.cmsg_level = level
        cmsg.cmsg_type = type
        out.storeBytes(of: cmsg, as: cmsghdr.self)
        (out + header).storeBytes(of: value, as: T.self)
        return space
    }
}
