import NIOCore

/// Runs one check against one target, whatever its kind, and times it. Network checks run on
/// the given group (the prober's own, never the server's query loops); `exec` runs a process.
public enum Probe {
    public static func run(_ target: TargetKey, on group: any EventLoopGroup) async -> ProbeResult {
        let start = ContinuousClock.now
        var result = await dispatch(target, on: group.next())
        result.latency = ContinuousClock.now - start
        return result
    }

    private static func dispatch(_ target: TargetKey, on loop: any EventLoop) async -> ProbeResult {
        let check = target.check
        if check.type == .none { return .success("not checked") }
        if check.type == .exec { return await ExecCheck.run(target: target, on: loop) }
        let socketAddress: SocketAddress
        do {
            socketAddress = try SocketAddress(ipAddress: target.address, port: check.port)
        } catch {
            return .failure("\(quoted(target.address)) is not an IP address")
        }
        switch check.type {
        case .tcp: return await TCPCheck.run(to: socketAddress, timeout: check.timeout, on: loop)
        case .http, .https: return await HTTPCheck.run(target: target, to: socketAddress, on: loop)
        case .dns: return await DNSCheck.run(target: target, to: socketAddress, on: loop)
        case .exec, .none: preconditionFailure("handled above")
        }
    }
}
