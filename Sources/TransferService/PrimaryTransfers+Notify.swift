import DNSWire
import Foundation
import Metrics
import NIOCore
import Transfer

extension PrimaryTransfers {
    /// The delays between NOTIFY attempts (RFC 1996 §3.6 leaves the schedule to us).
    static let notifyTimeouts: [TimeAmount] = [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8)]

    /// Tells every secondary of `t` about `version` (RFC 1996 §3.7): a NOTIFY with the new SOA in
    /// the answer section, signed with the zone's key when it has one, resent until answered.
    func notify(_ t: PrimaryZone, _ version: ZoneVersion) {
        guard !t.notify.isEmpty else { return }
        let key = t.key
        for target in t.notify {
            let id = UInt16.random(in: 0...UInt16.max)
            var m = Message(id: id, flags: UInt16(Opcode.notify) << 11 | Header.aaBit)
            m.question = [Question(name: version.origin, type: .soa)]
            m.answer = [version.soa]
            let group = self.group
            let logger = self.logger
            let zone = version.origin
            let serial = version.serial
            recordNotify(zone, "\(target)", serial: serial, result: "sending")
            let notification = m
            notifyTasks[zone]?["\(target)"]?.cancel()
            notifyTasks[zone, default: [:]]["\(target)"] = Task {
                guard let address = try? SocketAddress.makeAddressResolvingHost(target.host, port: target.port) else {
                    logger.error("notify: cannot resolve \(target)")
                    return
                }
                for (attempt, timeout) in PrimaryTransfers.notifyTimeouts.enumerated() {
                    let message = notification
                    var bytes = message.encode()
                    if let key { bytes = TSIG.sign(bytes, key: key).message }
                    do {
                        if Task.isCancelled { return }
                        let reply = try await DNSClient.udp(bytes, to: address, timeout: timeout, group: group)
                        if Task.isCancelled { return }
                        let rcode = reply[3] & 0xF
                        logger.info(
                            "NOTIFY answered",
                            metadata: [
                                "zone": "\(zone)", "serial": "\(serial)", "secondary": "\(target)",
                                "rcode": "\(RCode(rawValue: UInt16(rcode))?.description ?? "\(rcode)")",
                                "attempt": "\(attempt + 1)",
                            ])
                        Counter(label: "carousel_notify_total", dimensions: [("result", "answered")]).increment()
                        self.recordNotify(
                            zone, "\(target)", serial: serial,
                            result: "answered \(RCode(rawValue: UInt16(rcode))?.description ?? "rcode \(rcode)")")
                        return
                    } catch {
                        continue
                    }
                }
                if Task.isCancelled { return }
                Counter(label: "carousel_notify_total", dimensions: [("result", "unanswered")]).increment()
                self.recordNotify(zone, "\(target)", serial: serial, result: "unanswered")
                logger.warning(
                    "NOTIFY not answered",
                    metadata: ["zone": "\(zone)", "serial": "\(serial)", "secondary": "\(target)"])
            }
        }
    }
}
