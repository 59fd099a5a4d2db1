import DNSWire
import Foundation
import Health
import Listeners
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Transfer

/// A fleet member's exchanges with its peers: the loop per peer (its SOA each second, at once
/// on its NOTIFY), the signed IXFR pulls that bring its verdicts forward, and the NOTIFYs of
/// this member's own versions.
extension FleetExchange {
    /// One peer's loop: its SOA every `pollInterval` (at once on its NOTIFY), a transfer when its
    /// serial moved.
    func follow(peer id: String) async {
        while !Task.isCancelled {
            await refresh(id)
            let until = ContinuousClock.now + FleetSettings.pollInterval
            while ContinuousClock.now < until, !wakeRequested.contains(id), !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(20))
            }
            wakeRequested.remove(id)
        }
    }

    func refresh(_ id: String) async {
        guard let settings, let me, let peer = peers[id] else { return }
        let origin = FleetSettings.origin(of: id)
        do {
            let address = try SocketAddress(ipAddress: peer.member.address.host, port: peer.member.address.port)
            let serial = try await soaSerial(origin, address, settings.key, from: me.address.host)
            guard peers[id] != nil else { return }
            peers[id]?.heardSerial = serial
            heard(id)
            if peers[id]?.soa.map({ SOA.serial($0.rdata) }) != serial {
                try await pull(id, origin, address, settings.key, from: me.address.host)
            }
            await takeDrains(from: id)
            await followMaster(id, address)
            if let e = peers[id]?.error {
                logger.notice("fleet: \(id) answers again (was: \(e))")
                peers[id]?.error = nil
            }
        } catch {
            exchangesFailed += 1
            if peers[id]?.error != "\(error)" {
                logger.warning("fleet: \(id) at \(peer.member.address): \(error)")
                peers[id]?.error = "\(error)"
            }
        }
        recompute()
    }

    func heard(_ id: String) {
        peers[id]?.lastHeard = .now
        peers[id]?.lastHeardDate = Date()
        exchangesOK += 1
    }

    func soaSerial(_ zone: DNSName, _ address: SocketAddress, _ key: TSIGKey, from: String) async throws -> UInt32 {
        let (bytes, mac) = TSIG.sign(
            Message.query(id: UInt16.random(in: 0...UInt16.max), zone, .soa, flags: 0).encode(), key: key)
        let reply = try await DNSClient.udp(bytes, to: address, from: from, timeout: .seconds(1), group: group)
        var v = TSIGStreamVerifier(key: key, requestMAC: mac)
        try v.check(reply)
        let m = try Message.decode(reply)
        guard m.rcode == 0, let soa = m.answer.first(where: { $0.type == .soa }) else {
            throw TransferFailure(
                description: "SOA query answered \(RCode(rawValue: m.rcode)?.description ?? "\(m.rcode)")")
        }
        return SOA.serial(soa.rdata)
    }

    /// IXFR from the version held (AXFR without one), signed; the peer's verdicts replaced.
    func pull(_ id: String, _ zone: DNSName, _ address: SocketAddress, _ key: TSIGKey, from: String) async throws {
        let ours = peers[id]?.soa
        let result = try await transfer(zone, have: ours, address, key, from: from)
        guard peers[id] != nil else { throw TransferFailure(description: "transfer ended early") }
        switch result {
        case .upToDate:
            return
        case .full(let soa, let records):
            peers[id]?.soa = soa
            peers[id]?.observed = Observations(records: records)
        case .incremental(let diffs):
            // Each diff must start where the one before ended, the first at the serial we hold.
            var serial = ours.map { SOA.serial($0.rdata) }
            for d in diffs {
                guard SOA.serial(d.from.rdata) == serial else {
                    peers[id]?.soa = nil  // start again with AXFR
                    throw TransferFailure(description: "IXFR diffs do not start from our serial")
                }
                serial = SOA.serial(d.to.rdata)
            }
            var observed = peers[id]?.observed ?? Observations()
            observed.apply(diffs)
            peers[id]?.observed = observed
            peers[id]?.soa = diffs.last?.to ?? ours
        }
        dirty = true
        heard(id)
    }

    /// A signed NOTIFY of `version` to every peer, resent twice at most (each polls every second
    /// anyway).
    func notifyPeers(_ version: ZoneVersion) {
        guard let settings, let me else { return }
        for (id, peer) in peers {
            notifyTasks[id]?.cancel()
            let group = self.group
            notifyTasks[id] = Task {
                var m = Message(
                    id: UInt16.random(in: 0...UInt16.max), flags: UInt16(Opcode.notify) << 11 | Header.aaBit)
                m.question = [Question(name: version.origin, type: .soa)]
                m.answer = [version.soa]
                let bytes = TSIG.sign(m.encode(), key: settings.key).message
                guard
                    let address = try? SocketAddress(
                        ipAddress: peer.member.address.host, port: peer.member.address.port)
                else { return }
                for timeout in [TimeAmount.milliseconds(250), .milliseconds(500)] {
                    if Task.isCancelled { return }
                    if (try? await DNSClient.udp(
                        bytes, to: address, from: me.address.host, timeout: timeout, group: group))
                        != nil
                    {
                        return
                    }
                }
            }
        }
    }
}
