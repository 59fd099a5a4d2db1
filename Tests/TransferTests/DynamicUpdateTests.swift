import DNSWire
import Foundation
import Testing

@testable import Transfer

/// RFC 2136 §3 as `DynamicUpdate.evaluate` applies it: every prerequisite kind with its rcode,
/// the prescan's refusals, adds and deletes (the apex's SOA and last NS kept, CNAME and other
/// data never mixed), all or nothing; and the journal read back as written, a torn last entry
/// left out.
@Suite struct DynamicUpdateTests {
    static let origin = try! DNSName("example.com.")
    static func name(_ s: String) -> DNSName { try! DNSName(s + (s.hasSuffix(".") ? "" : ".example.com.")) }
    static func a(_ owner: String, _ address: [UInt8], ttl: UInt32 = 60, rrClass: DNSClass = .in) -> ResourceRecord {
        ResourceRecord(name: name(owner), type: .a, rrClass: rrClass, ttl: ttl, rdata: address)
    }
    static func rr(_ owner: String, _ type: RRType, _ rrClass: DNSClass, ttl: UInt32 = 0, _ rdata: [UInt8] = [])
        -> ResourceRecord
    {
        ResourceRecord(name: name(owner), type: type, rrClass: rrClass, ttl: ttl, rdata: rdata)
    }
    static let none = DNSClass(rawValue: 254)
    static let anyType = RRType(255)

    static var zone: UpdatableZone {
        let soa = ResourceRecord(
            name: origin, type: .soa, ttl: 300,
            rdata: origin.wire + origin.wire + [0, 0, 0, 41] + [UInt8](repeating: 0, count: 16))
        let ns = ResourceRecord(name: origin, type: .ns, ttl: 300, rdata: name("ns1").wire)
        return UpdatableZone(
            origin: origin, soa: soa, records: [ns, a("ns1", [192, 0, 2, 53]), a("www", [192, 0, 2, 1])])
    }

    static func update(
        prerequisites: [ResourceRecord] = [], updates: [ResourceRecord] = [], zone: String = "example.com."
    )
        -> Message
    {
        Message(
            flags: UInt16(Opcode.update) << 11, question: [Question(name: try! DNSName(zone), type: .soa)],
            answer: prerequisites, authority: updates)
    }

    static let policy = UpdatePolicy(zone: origin, keys: [], allow: [])

    func outcome(_ m: Message, policy: UpdatePolicy = Self.policy) -> DynamicUpdate.Outcome {
        DynamicUpdate.evaluate(m, zone: Self.zone, policy: policy)
    }

    func rcode(_ m: Message, policy: UpdatePolicy = Self.policy) -> RCode? {
        if case .rejected(let r, _) = outcome(m, policy: policy) { return r }
        return nil
    }

    @Test func prerequisitesHaveTheirRcodes() {
        // RRset exists (value-independent), does not, name in use, not in use, exact set.
        #expect(rcode(Self.update(prerequisites: [Self.rr("www", .a, .any)])) == nil)
        #expect(rcode(Self.update(prerequisites: [Self.rr("www", .aaaa, .any)])) == .nxRRSet)
        #expect(rcode(Self.update(prerequisites: [Self.rr("www", .a, Self.none)])) == .yxRRSet)
        #expect(rcode(Self.update(prerequisites: [Self.rr("new", .a, Self.none)])) == nil)
        #expect(rcode(Self.update(prerequisites: [Self.rr("www", Self.anyType, .any)])) == nil)
        #expect(rcode(Self.update(prerequisites: [Self.rr("new", Self.anyType, .any)])) == .nxDomain)
        #expect(rcode(Self.update(prerequisites: [Self.rr("www", Self.anyType, Self.none)])) == .yxDomain)
        #expect(rcode(Self.update(prerequisites: [Self.rr("new", Self.anyType, Self.none)])) == nil)
        #expect(rcode(Self.update(prerequisites: [Self.a("www", [192, 0, 2, 1], ttl: 0)])) == nil)
        #expect(rcode(Self.update(prerequisites: [Self.a("www", [192, 0, 2, 9], ttl: 0)])) == .nxRRSet)
        // Malformed: a TTL, rdata with class ANY, a name outside the zone.
        #expect(rcode(Self.update(prerequisites: [Self.a("www", [192, 0, 2, 1], ttl: 5)])) == .formErr)
        #expect(rcode(Self.update(prerequisites: [Self.rr("www", .a, .any, [1, 2, 3, 4])])) == .formErr)
        #expect(rcode(Self.update(prerequisites: [Self.rr("example.org.", .a, .any)])) == .notZone)
    }

    @Test func addsAndDeletes() throws {
        let added = outcome(Self.update(updates: [Self.a("www", [192, 0, 2, 2], ttl: 30)]))
        guard case .applied(let e) = added else {
            Issue.record("\(added)")
            return
        }
        // The new record, and the RRset's TTL moved to the new one's (a TTL change is both).
        #expect(e.serial == 42)
        #expect(Set(e.added) == [Self.a("www", [192, 0, 2, 1], ttl: 30), Self.a("www", [192, 0, 2, 2], ttl: 30)])
        #expect(e.removed == [Self.a("www", [192, 0, 2, 1])])
        var z = Self.zone
        z.apply(e)
        #expect(z.rrset(Self.name("www"), .a).count == 2 && z.serial == 42)
        z.apply(e)  // replayed: nothing more
        #expect(z.rrset(Self.name("www"), .a).count == 2)

        // Delete one record, an RRset, a name; the apex keeps its SOA and its last NS.
        guard case .applied(let one) = outcome(Self.update(updates: [Self.rr("www", .a, Self.none, [192, 0, 2, 1])]))
        else { return }
        #expect(one.removed == [Self.a("www", [192, 0, 2, 1])] && one.added.isEmpty)
        guard case .applied(let all) = outcome(Self.update(updates: [Self.rr("www", Self.anyType, .any)])) else {
            return
        }
        #expect(all.removed.count == 1)
        let apex = Self.update(updates: [
            ResourceRecord(name: Self.origin, type: RRType(255), rrClass: .any, ttl: 0, rdata: []),
            ResourceRecord(name: Self.origin, type: .ns, rrClass: Self.none, ttl: 0, rdata: Self.name("ns1").wire),
        ])
        guard case .applied(let kept) = outcome(apex) else { return }
        #expect(kept.removed.isEmpty && kept.serial == 41, "nothing changed: no new serial")
        // CNAME beside other data is ignored.
        guard
            case .applied(let cname) = outcome(
                Self.update(updates: [Self.rr("www", .cname, .in, ttl: 60, Self.name("x").wire)]))
        else { return }
        #expect(cname.added.isEmpty)
    }

    @Test func prescanRefusesWholeUpdates() {
        // One bad record refuses the whole update: nothing of the good one applies.
        let mixed = Self.update(updates: [
            Self.a("new", [192, 0, 2, 7]), Self.rr("example.org.", .a, .in, ttl: 60, [1, 1, 1, 1]),
        ])
        #expect(rcode(mixed) == .notZone)
        #expect(rcode(Self.update(updates: [Self.rr("www", .a, .any, ttl: 5)])) == .formErr)
        #expect(rcode(Self.update(updates: [Self.rr("www", RRType(252), .in, ttl: 5, [1])])) == .formErr)
        let narrow = UpdatePolicy(zone: Self.origin, keys: [], allow: [], names: ["*.pool.example.com"])
        #expect(rcode(Self.update(updates: [Self.a("www", [192, 0, 2, 7])]), policy: narrow) == .refused)
        #expect(rcode(Self.update(updates: [Self.a("a.pool", [192, 0, 2, 7])]), policy: narrow) == nil)
        #expect(rcode(Self.update(updates: [Self.a("pool", [192, 0, 2, 7])]), policy: narrow) == .refused)
    }

    @Test func theJournalReadsBackWhatWasWrittenAndLeavesOutATornTail() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("example.com.jnl").path
        let first = UpdateEffect(
            serial: 42, removed: [Self.a("www", [192, 0, 2, 1])], added: [Self.a("www", [192, 0, 2, 2])])
        let second = UpdateEffect(
            serial: 43, removed: [], added: [Self.rr("txt", .txt, .in, ttl: 5, [3, 0x61, 0x20, 0x62])])
        try UpdateJournal.append(first, to: path)
        try UpdateJournal.append(second, to: path)
        #expect(UpdateJournal.read(path).effects == [first, second])
        // A crash while writing a third: it was never acknowledged, and is left out quietly.
        let torn = String(
            UpdateJournal.encode(UpdateEffect(serial: 44, removed: [], added: [Self.a("x", [1, 2, 3, 4])])).dropLast(30)
        )
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(torn.utf8))
        try handle.close()
        let read = UpdateJournal.read(path)
        #expect(read.effects == [first, second] && read.problem == nil)
        // Damage before a complete entry is reported, and the replay stops there.
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text = text.replacingOccurrences(of: "U 42", with: "U 4x") + UpdateJournal.encode(second)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let damaged = UpdateJournal.read(path)
        #expect(damaged.effects.isEmpty && damaged.problem?.contains(":1: damaged entry") == true, "\(damaged)")
    }
}
