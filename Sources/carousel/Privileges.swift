import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Port 53 as a normal user: start as root, bind, then switch to `user:`/`group:` from the
/// config (glibc applies setuid/setgid to every thread). The alternative without root is
/// `setcap cap_net_bind_service=+ep carousel` (see the README).
enum Privileges {
    static func drop(user: String?, group: String?, logger: Logger) throws {
        guard user != nil || group != nil else { return }
        guard geteuid() == 0 else {
            logger.warning(
                "user/group are set in the config but Carousel is not running as root: keeping uid \(geteuid())")
            return
        }
        var gid: gid_t?
        var uid: uid_t?
        if let group {
            guard let g = getgrnam(group) else { throw CommandError("group: no such group \(group)") }
            gid = g.pointee.gr_gid
        }
        if let user {
            guard let p = getpwnam(user) else { throw CommandError("user: no such user \(user)") }
            uid = p.pointee.pw_uid
            if gid == nil { gid = p.pointee.pw_gid }
        }
        if let gid {
            guard setgroups(1, [gid]) == 0, setgid(gid) == 0 else {
                throw CommandError("cannot switch to group \(gid): \(String(cString: strerror(errno)))")
            }
        }
        if let uid {
            guard setuid(uid) == 0 else {
                throw CommandError("cannot switch to user \(uid): \(String(cString: strerror(errno)))")
            }
            guard setuid(0) != 0 else { throw CommandError("privileges were not dropped: setuid(0) still works") }
        }
        // Every thread must have switched: a thread left as root would be a way back.
        if let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") {
            for t in tasks {
                let status = (try? String(contentsOfFile: "/proc/self/task/\(t)/status", encoding: .utf8)) ?? ""
                if status.split(separator: "\n").contains(where: {
                    $0.hasPrefix("Uid:") && $0.split(separator: "\t").dropFirst().contains("0")
                }) {
                    throw CommandError(
                        "thread \(t) still runs as root after setuid; refusing to continue (use CAP_NET_BIND_SERVICE instead)"
                    )
                }
            }
        }
        logger.info("dropped privileges", metadata: ["user": "\(user ?? "-")", "group": "\(group ?? "-")"])
    }
}
