import Health
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
        switch check.kind {
        case .none: return .success("not checked")
        case .exec(let command): return await ExecCheck.run(target: target, command: command, on: loop)
        default: break
        }
        let socketAddress: SocketAddress
        do {
            socketAddress = try SocketAddress(ipAddress: target.address, port: check.port)
        } catch {
            return .failure("\(quoted(target.address)) is not an IP address")
        }
        switch check.kind {
        case .tcp: return await TCPCheck.run(to: socketAddress, timeout: check.timing.timeout, on: loop)
        case .http(let probe):
            return await HTTPCheck.run(target: target, probe, tls: nil, to: socketAddress, on: loop)
        case .https(let probe, let insecure):
            return await HTTPCheck.run(target: target, probe, tls: insecure, to: socketAddress, on: loop)
        case .dns(let probe): return await DNSCheck.run(target: target, probe, to: socketAddress, on: loop)
        case .agent: return await AgentCheckProbe.run(to: socketAddress, timeout: check.timing.timeout, on: loop)
        case .exec, .none: preconditionFailure("handled above")
        }
    }
}
