import CEpoll
import Foundation
import Health

#if canImport(Glibc)
    import Glibc
#endif

/// An agent's probe after its connect: the line it sends (HAProxy's agent-check protocol).
extension TCPProbeEngine {
    /// An agent's socket is readable (or closed): take what it sent; a line end (CR or LF), the
    /// agent's close or ``replyLimit`` bytes end the reply, anything else waits for more.
    func readReply(_ i: Int, _ events: UInt32, _ now: Int64) {
        let fd = slots[i].fd
        var chunk = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        var ended = false
        var failure: Int32 = 0
        while true {
            let room = min(MemoryLayout.size(ofValue: chunk), Self.replyLimit - slots[i].reply.count)
            if room <= 0 {
                ended = true
                break
            }
            let n = withUnsafeMutableBytes(of: &chunk) { recv(fd, $0.baseAddress, room, 0) }
            if n > 0 {
                withUnsafeBytes(of: &chunk) { slots[i].reply.append(contentsOf: $0[0..<n]) }
                if slots[i].reply.contains(where: { $0 == 0x0A || $0 == 0x0D }) {
                    ended = true
                    break
                }
                continue
            }
            if n == 0 {
                ended = true
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                if events & (EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 { ended = true }
            } else if errno == EINTR {
                continue
            } else {
                failure = errno
            }
            break
        }
        if failure != 0 && failure != ECONNRESET {
            release(i)
            return finish(i, .failed(failure), now)
        }
        if !ended && failure == 0 {
            guard watch(fd, i, Self.readable, EPOLL_CTL_MOD) else {
                let code = errno
                release(i)
                return finish(i, .failed(code), now)
            }
            return
        }
        var line = slots[i].reply
        if let end = line.firstIndex(where: { $0 == 0x0A || $0 == 0x0D }) { line.removeSubrange((end + 1)...) }
        // Reset and keep the socket for the next probe, as a tcp check does.
        slots[i].fd = -1
        slots[i].reading = false
        inFlight -= 1
        if let family = slots[i].spec?.address.family, ProbeSocket.disconnect(fd) {
            recycle(fd, family)
        } else {
            close(fd)
        }
        finish(i, .replied(line), now)
    }
}
