import DNSWire
import Health

/// The observation zone's records besides the verdicts (the README's "Running a fleet" documents
/// them too):
///
///     vote.ns1.fleet.invalid.        TXT  "vote" "ns2"
///     z<16 hex digits>.ns1.fleet.invalid.  TXT  "serial" "example.com." "1765000123"
///     k<16 hex digits>.ns1.fleet.invalid.  TXT  "drain" "www.example.com/192.0.2.10" "on" "1765000123456" "ns2"
///
/// `vote`: the member this one votes for as master (absent while it holds no vote). `serial`: the
/// serial of a `publish_health` zone as this member serves it to secondaries (the master's own
/// versions, a standby's copy of them): a standby pulls the master's zone when it moves, and a new
/// master continues above every serial it sees. `drain`: the newest mark this member holds of a
/// drain key (a bare address, or `pool/address`): `on` or `off`, milliseconds since the epoch, and
/// the member that took the order; every member takes a newer mark than its own, so a drain given
/// to any member applies fleet-wide.
extension ObservationZone {
    public static func voteRecord(of id: String, for candidate: String) -> ResourceRecord? {
        guard let owner = try? DNSName("vote.\(FleetSettings.origin(of: id))") else { return nil }
        return ResourceRecord(name: owner, type: .txt, ttl: 0, rdata: txt(["vote", candidate]))
    }

    public static func drainRecord(of id: String, key: String, mark: DrainMark) -> ResourceRecord? {
        let label = "k" + hex(Array(key.utf8).withUnsafeBytes { FNV1a.hash64($0) })
        guard let owner = try? DNSName("\(label).\(FleetSettings.origin(of: id))") else { return nil }
        return ResourceRecord(
            name: owner, type: .txt, ttl: 0,
            rdata: txt(["drain", key, mark.drained ? "on" : "off", "\(mark.at)", mark.by]))
    }

    public static func serialRecord(of id: String, zone: DNSName, serial: UInt32) -> ResourceRecord? {
        let text = zone.description
        let label = "z" + hex(Array(text.utf8).withUnsafeBytes { FNV1a.hash64($0) })
        guard let owner = try? DNSName("\(label).\(FleetSettings.origin(of: id))") else { return nil }
        return ResourceRecord(name: owner, type: .txt, ttl: 0, rdata: txt(["serial", text, "\(serial)"]))
    }
}

/// What a peer's observation zone says, brought forward transfer by transfer: its verdicts, its
/// vote, and the serials it serves.
public struct Observations: Sendable, Equatable {
    /// By `TargetKey.description`.
    public var verdicts: [String: HealthState] = [:]
    /// By `TargetKey.description`: the factor of an `up` that is not at the full factor.
    public var factors: [String: UInt16] = [:]
    public var vote: String?
    public var serials: [DNSName: UInt32] = [:]
    /// Drain key → the newest mark the member holds.
    public var drains: [String: DrainMark] = [:]

    public init() {}

    /// The whole zone's (records that mean nothing here are passed over).
    public init(records: [ResourceRecord]) {
        for r in records { take(r, added: true) }
    }

    /// Brought forward by IXFR diffs (each one's deleted records, then its added ones).
    public mutating func apply(_ diffs: [ZoneDiff]) {
        for d in diffs {
            for r in d.deleted { take(r, added: false) }
            for r in d.added { take(r, added: true) }
        }
    }

    mutating func take(_ r: ResourceRecord, added: Bool) {
        guard r.type == .txt else { return }
        if let v = ObservationZone.verdict(in: r) {
            if added {
                verdicts[v.target] = v.state
                factors[v.target] = v.factor == HealthView.fullFactor ? nil : v.factor
            } else if verdicts[v.target] == v.state {
                verdicts[v.target] = nil
                factors[v.target] = nil
            }
            return
        }
        let strings = ObservationZone.texts(r.rdata)
        switch strings.first {
        case "vote" where strings.count == 2:
            if added {
                vote = strings[1]
            } else if vote == strings[1] {
                vote = nil
            }
        case "serial" where strings.count == 3:
            guard let zone = try? DNSName(strings[1]), let serial = UInt32(strings[2]) else { return }
            if added {
                serials[zone] = serial
            } else if serials[zone] == serial {
                serials[zone] = nil
            }
        case "drain" where strings.count == 5 && (strings[2] == "on" || strings[2] == "off"):
            guard let at = Int64(strings[3]) else { return }
            let mark = DrainMark(drained: strings[2] == "on", at: at, by: strings[4])
            if added {
                drains[strings[1]] = mark
            } else if drains[strings[1]] == mark {
                drains[strings[1]] = nil
            }
        default:
            break
        }
    }
}
