import DNSWire
import DNSZone
import FuzzSupport
import Health
import Responder
import Transfer

/// libFuzzer target for every other parser of network bytes: the first byte picks one, the rest
/// is what arrives.
/// - 0–3, the transfer lane: `TransferLane.intercepts` takes exactly the messages the full
///   decoder reads as NOTIFY (when NOTIFY is accepted), AXFR/IXFR, or carrying a TSIG record
///   (whenever `Message.decode` accepts the message and its question name is uncompressed, as the
///   query path requires); what it takes, `TransferLane.answer` answers (AXFR, IXFR, NOTIFY, TSIG
///   verification with a known key, signed queries) with replies that decode, keep the id and set
///   QR. Bit 0: NOTIFY accepted; bit 1: over TCP. The lane is also a fleet member's: its
///   observation zone (`ns1.fleet.invalid.`, SOA, AXFR, IXFR to a member signed with the fleet's
///   key, which is the transfer key here so signed seeds reach it), a peer's NOTIFY, and the
///   primary zone given to a member signed with the fleet's key.
///   An UPDATE that decodes is judged against the lane's zone (`checkUpdate`).
/// - 4, the secondary's stream: the input cut into messages (two length bytes each, as over TCP)
///   fed to a `TransferStream` for an IXFR from serial 1, unsigned; a complete transfer's diffs
///   apply or fail cleanly, and are read as a fleet peer's observations (verdicts, vote, served
///   serials, drain marks) as a fleet member reads its peer's zone.
/// - 5, the same signed with the transfer key: every message's TSIG checked.
/// - 6, an agent's reply line (`AgentReport`, as HAProxy reads it): a percentage is within
///   0…`AgentReport.maxPercent`, and the weight factor is the percentage in thousandths (0 drained).
/// - 7, a reply to a `dns` check (`DNSCheckReply`): judged only when it is a reply to our id.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTransfer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    guard size >= 1 else { return 0 }
    let body = UnsafeRawBufferPointer(rebasing: input[1...])
    let control = input[0] & 7
    switch control {
    case 0...3: checkLane(body, acceptNotify: control & 1 != 0, tcp: control & 2 != 0, input: input)
    case 4, 5: checkStream(body, signed: control == 5, input: input)
    case 6: checkAgent(body, input: input)
    default: checkDNSReply(body, input: input)
    }
    return 0
}

@_cdecl("FuzzTransfer_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzTransfer)
}

func checkLane(_ body: UnsafeRawBufferPointer, acceptNotify: Bool, tcp: Bool, input: UnsafeRawBufferPointer) {
    let taken = TransferLane.intercepts(body, acceptNotify: acceptNotify)
    let bytes = Array(body)
    if let m = try? Message.decode(bytes), Header.opcode(m.flags) == Opcode.update { checkUpdate(m, input: input) }
    if let m = try? Message.decode(bytes), body.count >= Header.size,
        WireName.uncompressedEnd(body, from: Header.size) != nil || m.question.isEmpty
    {
        let query = m.flags & Header.qrBit == 0
        let opcode = Header.opcode(m.flags)
        let records = m.answer + m.authority + m.additional
        let transfer = m.question.count == 1 && (m.question[0].type == .axfr || m.question[0].type == .ixfr)
        let signed = m.question.count == 1 && records.contains { $0.type == .tsig }
        let expected =
            query && ((opcode == Opcode.notify && acceptNotify) || (opcode == Opcode.query && (transfer || signed)))
        Invariant.check(
            taken == expected,
            "intercepts says \(taken), the full decoder reads opcode \(opcode), \(m.question.count) questions, transfer \(transfer), TSIG \(signed)",
            input: input)
    }
    guard taken else { return }
    let (replies, _) = TransferLane.answer(
        bytes, source: [127, 0, 0, 1], tcp: tcp, state: Lane.state, now: Lane.now)
    for reply in replies {
        Invariant.check(
            reply.count >= Header.size && reply.count <= 65535, "a reply of \(reply.count) bytes", input: input)
        Invariant.check(reply[0] == bytes[0] && reply[1] == bytes[1], "a reply with another id", input: input)
        Invariant.check(reply[2] & 0x80 != 0, "a reply without QR", input: input)
        Invariant.check((try? Message.decode(reply)) != nil, "a reply our own decoder rejects", input: input)
    }
}

/// An UPDATE judged against the lane's zone (every name permitted): an effect applied twice
/// changes nothing more (a journal replayed on a file that holds it), removes only what was
/// there, and reads back from its journal entry as written.
func checkUpdate(_ m: Message, input: UnsafeRawBufferPointer) {
    guard let zone = Lane.state.snapshot?.catalog.zones.first else { return }
    let v = ZoneVersion(zone: zone)
    let updatable = UpdatableZone(origin: zone.origin, soa: v.soa, records: v.records)
    let policy = UpdatePolicy(zone: zone.origin, keys: [], allow: [])
    guard case .applied(let e) = DynamicUpdate.evaluate(m, zone: updatable, policy: policy) else { return }
    let before = Set(updatable.records)
    Invariant.check(e.removed.allSatisfy(before.contains), "an effect removes a record the zone lacks", input: input)
    var once = updatable
    once.apply(e)
    var twice = once
    twice.apply(e)
    Invariant.check(Set(once.records) == Set(twice.records), "an effect replayed changed the zone again", input: input)
    let read = UpdateJournal.decode(UpdateJournal.encode(e), file: "fuzz")
    Invariant.check(read.effects == [e] && read.problem == nil, "a journal entry reads back otherwise", input: input)
}

func checkStream(_ body: UnsafeRawBufferPointer, signed: Bool, input: UnsafeRawBufferPointer) {
    var collector = TransferCollector(ixfr: true, ourSerial: 1)
    collector.maxRecords = 10_000
    var stream = TransferStream(collector: collector, key: signed ? Lane.key : nil, requestMAC: Lane.requestMAC)
    var i = 0
    while i + 2 <= body.count {
        let length = Int(body[i]) << 8 | Int(body[i + 1])
        let end = min(body.count, i + 2 + length)
        let message = Array(body[(i + 2)..<end])
        i = end
        guard let done = try? stream.take(message) else { return }
        if done { break }
    }
    guard let result = stream.collector.result else { return }
    switch result {
    case .incremental(let diffs):
        Invariant.check(!diffs.isEmpty, "an IXFR result without diffs", input: input)
        _ = try? TransferCollector.apply(diffs, to: diffs[0].from, records: [])
        var seen = Observations()
        seen.apply(diffs)
        checkObservations(seen, input: input)
    case .full(_, let records):
        checkObservations(Observations(records: records), input: input)
    case .upToDate:
        break
    }
}

/// What a peer's zone says: weight factors only beside `up` verdicts, at most 1000.
func checkObservations(_ o: Observations, input: UnsafeRawBufferPointer) {
    for (target, factor) in o.factors {
        Invariant.check(factor <= HealthView.fullFactor, "a factor of \(factor)", input: input)
        Invariant.check(
            o.verdicts[target] == .up, "a factor beside \(String(describing: o.verdicts[target]))", input: input)
    }
}

func checkAgent(_ body: UnsafeRawBufferPointer, input: UnsafeRawBufferPointer) {
    let report = AgentReport(reply: body)
    if let p = report.percent {
        Invariant.check((0...AgentReport.maxPercent).contains(p), "an agent percentage of \(p)", input: input)
    }
    var state = AgentState()
    state.take(report, line: String(decoding: body.prefix(64), as: UTF8.self))
    let expected = state.admin == .drain ? 0 : min(Int(UInt16.max), state.percent * 10)
    Invariant.check(
        Int(state.factor) == expected, "a weight factor of \(state.factor) for \(state.percent) %", input: input)
}

func checkDNSReply(_ body: UnsafeRawBufferPointer, input: UnsafeRawBufferPointer) {
    let id: UInt16 = 0x4242
    let verdict = DNSCheckReply.judge(body, id: id, rcodes: [0, 3])
    let ours = body.count >= Header.size && body.u16(0) == id && body[2] & 0x80 != 0
    Invariant.check((verdict != nil) == ours, "judged \(verdict != nil), a reply to us: \(ours)", input: input)
    if let verdict {
        Invariant.check(verdict.up == [0, 3].contains(Int(body[3] & 0xF)), "rcode misjudged", input: input)
    }
}

/// What the lane answers from: a primary zone (transfers allowed from 127.0.0.1, with and without
/// the key), a secondary zone whose NOTIFYs must be signed, the transfer key, and a snapshot.
enum Lane {
    static let key = TSIGKey(
        name: try! DNSName("xfr."), algorithm: .hmacSHA256, secret: Array("carousel-fuzz-secret-0123456789!".utf8))
    static let requestMAC = [UInt8](repeating: 7, count: 32)
    static let now: UInt64 = 1_800_000_000

    static let state: TransferLane.State = {
        let origin = try! DNSName("example.net.")
        func record(_ name: String, _ type: RRType, _ rdata: [UInt8]) -> ResourceRecord {
            ResourceRecord(name: try! DNSName(name), type: type, ttl: 300, rdata: rdata)
        }
        func soa(_ serial: UInt32) -> ResourceRecord {
            var rdata = (try! DNSName("ns1.example.net.")).wire + (try! DNSName("hostmaster.example.net.")).wire
            for v in [serial, 3600, 600, 1_209_600, 60] as [UInt32] {
                rdata += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
            }
            return record("example.net.", .soa, rdata)
        }
        let ns = record("example.net.", .ns, (try! DNSName("ns1.example.net.")).wire)
        let v1 = ZoneVersion(
            origin: origin, soa: soa(1), records: [ns, record("www.example.net.", .a, [192, 0, 2, 1])])
        let v2 = ZoneVersion(
            origin: origin, soa: soa(2), records: [ns, record("www.example.net.", .a, [192, 0, 2, 2])])
        var journal = ZoneJournal(v1)
        _ = journal.advance(to: v2)
        let zone = try! Zone.build(origin: origin, file: "fuzz", records: [soa(2)] + v2.records)
        var s = TransferLane.State()
        s.keyring = TSIGKeyring([key])
        s.primaries = [
            origin: PrimaryZone(zone: origin, allow: [IPPrefix("127.0.0.0/8")!]),
            try! DNSName("signed.example.net."): PrimaryZone(
                zone: try! DNSName("signed.example.net."), allow: [IPPrefix("127.0.0.0/8")!], key: key),
        ]
        s.journals = [origin: journal]
        s.secondaries = [
            try! DNSName("pulled.example.net."): SecondaryZone(
                zone: try! DNSName("pulled.example.net."), primary: HostPort(host: "127.0.0.2", port: 53), key: key)
        ]
        s.snapshot = Snapshot(catalog: Catalog(zones: [zone]), options: ResponderOptions())
        let web = TargetKey(address: "192.0.2.1", check: Check(kind: .tcp, port: 80))
        var observations = ZoneJournal(ObservationZone.version(of: "ns1", serial: 7, verdicts: [(web, .up)]))
        let next = ObservationZone.version(of: "ns1", serial: 8, verdicts: [(web, .down)])
        _ = observations.advance(to: next)
        s.fleet = TransferLane.FleetLane(
            origin: FleetSettings.origin(of: "ns1"), key: key, allow: [IPPrefix("127.0.0.0/8")!],
            journal: observations, peers: [FleetSettings.origin(of: "ns2")])
        return s
    }()
}
