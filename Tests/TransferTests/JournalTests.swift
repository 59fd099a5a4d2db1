import DNSWire
import Testing

@testable import Transfer

@Suite struct JournalTests {
    let origin = try! DNSName("example.test.")

    func version(_ serial: UInt32, _ addresses: [String]) -> ZoneVersion {
        ZoneVersion(origin: origin, soa: soa(serial), records: addresses.map { a("www.example.test.", $0) })
    }

    @Test func serialArithmetic() {
        #expect(Serial.greater(2, 1))
        #expect(!Serial.greater(1, 2))
        #expect(Serial.greater(0, 0xFFFF_FFFF))  // wraps (RFC 1982 §3.2)
        #expect(!Serial.greater(5, 5))
        #expect(Serial.greater(0x7FFF_FFFF, 0))
    }

    @Test func ixfrFromAKnownSerialIsTheDiffs() {
        var j = ZoneJournal(version(1, ["192.0.2.1", "192.0.2.2"]))
        let second = j.advance(to: version(2, ["192.0.2.1"]))
        let third = j.advance(to: version(3, ["192.0.2.1", "192.0.2.3"]))
        #expect(second && third)
        let records = j.ixfrRecords(clientSerial: 1)
        // RFC 1995 §4: new SOA, (old SOA, deleted, new SOA, added)…, new SOA.
        #expect(
            records.map {
                $0.type == .soa ? "SOA\(SOA.serial($0.rdata))" : $0.rdata.map(String.init).joined(separator: ".")
            } == [
                "SOA3", "SOA1", "192.0.2.2", "SOA2", "SOA2", "SOA3", "192.0.2.3", "SOA3",
            ])
        #expect(j.ixfrRecords(clientSerial: 2).count == 5)
    }

    @Test func upToDateIsOneSOAAndUnknownIsTheWholeZone() {
        var j = ZoneJournal(version(10, ["192.0.2.1"]))
        j.advance(to: version(11, ["192.0.2.2"]))
        #expect(j.answer(clientSerial: 11) == .upToDate)
        #expect(j.answer(clientSerial: 12) == .upToDate)  // newer than ours: nothing to send
        #expect(j.answer(clientSerial: 7) == .full)
        #expect(j.ixfrRecords(clientSerial: 7).count == 3)  // SOA, A, SOA
    }

    @Test func sameContentAndSerialIsNoVersion() {
        var j = ZoneJournal(version(1, ["192.0.2.1"]))
        let changed = j.advance(to: version(1, ["192.0.2.1"]))
        #expect(!changed)
        #expect(j.diffs.isEmpty)
    }

    @Test func historyIsBounded() {
        var j = ZoneJournal(version(1, ["192.0.2.1"]), maxDiffs: 3)
        for s in 2...10 { j.advance(to: version(UInt32(s), ["192.0.2.\(s)"])) }
        #expect(j.diffs.count == 3)
        #expect(j.answer(clientSerial: 6) == .full)
        if case .incremental(let d) = j.answer(clientSerial: 7) {
            #expect(d.count == 3)
        } else {
            Issue.record("expected diffs")
        }
    }

    @Test func serialGoingBackwardsDropsTheDiffs() {
        var j = ZoneJournal(version(5, ["192.0.2.1"]))
        j.advance(to: version(6, ["192.0.2.2"]))
        j.advance(to: version(3, ["192.0.2.3"]))
        #expect(j.diffs.isEmpty)
        #expect(j.answer(clientSerial: 2) == .full)  // no diff chain reaches 3
    }

    @Test func nextSerialNeverGoesBackwards() {
        let j = ZoneJournal(version(100, []))
        #expect(j.nextSerial(source: 100) == 101)
        #expect(j.nextSerial(source: 50) == 101)
        #expect(j.nextSerial(source: 200) == 200)
        #expect(ZoneJournal(version(0xFFFF_FFFF, [])).nextSerial(source: 1) == 1)  // wraps forward
    }

    @Test func collectorReadsBackWhatTheJournalWrites() throws {
        var j = ZoneJournal(version(1, ["192.0.2.1", "192.0.2.2"]))
        j.advance(to: version(2, ["192.0.2.1"]))
        j.advance(to: version(3, ["192.0.2.1", "192.0.2.3"]))
        var c = TransferCollector(ixfr: true, ourSerial: 1)
        let records = j.ixfrRecords(clientSerial: 1)
        #expect(try !c.add(Array(records.prefix(4))))
        #expect(try c.add(Array(records.dropFirst(4))))
        guard case .incremental(let diffs) = c.result else {
            Issue.record("expected diffs, got \(String(describing: c.result))")
            return
        }
        let applied = try #require(
            TransferCollector.apply(diffs, to: soa(1), records: version(1, ["192.0.2.1", "192.0.2.2"]).records))
        #expect(SOA.serial(applied.soa.rdata) == 3)
        #expect(Set(applied.records) == Set(j.current.records))
    }

    @Test func collectorReadsAnAXFR() throws {
        var c = TransferCollector(ixfr: false, ourSerial: nil)
        #expect(try !c.add([soa(7), a("a.example.test.", "192.0.2.1")]))
        #expect(try c.add([a("b.example.test.", "192.0.2.2"), soa(7)]))
        #expect(
            c.result
                == .full(soa: soa(7), records: [a("a.example.test.", "192.0.2.1"), a("b.example.test.", "192.0.2.2")]))
        var up = TransferCollector(ixfr: true, ourSerial: 7)
        #expect(try up.add([soa(7)]))
        #expect(up.result == .upToDate(soa(7)))
    }

    /// An IXFR answered in AXFR form by a zone that holds only its SOA: SOA n, SOA n. The second
    /// SOA is not the start of a difference (that one would carry our older serial) but the end of
    /// a whole zone, so it is a full transfer of no other record, never "diffs" with none in them.
    /// (Found by FuzzTransfer.)
    @Test func collectorReadsAnIXFRInAXFRFormOfOnlyTheSOA() throws {
        var c = TransferCollector(ixfr: true, ourSerial: 1)
        #expect(try !c.add([soa(5)]))
        #expect(try c.add([soa(5)]))
        #expect(c.result == .full(soa: soa(5), records: []))
    }

    /// `limits.zone_records` holds for transfers too: a zone of the limit arrives, one record
    /// more fails as it arrives, before the rest is read.
    @Test func collectorStopsPastTheRecordLimit() throws {
        let hosts = (0..<3).map { a("h\($0).example.test.", "192.0.2.\($0)") }
        var fits = TransferCollector(ixfr: false, ourSerial: nil)
        fits.maxRecords = 4
        #expect(try !fits.add([soa(7)] + hosts))
        #expect(try fits.add([soa(7)]))
        var over = TransferCollector(ixfr: false, ourSerial: nil)
        over.maxRecords = 3
        #expect(try !over.add([soa(7)] + hosts.prefix(2)))
        #expect(throws: TransferCollector.Failure.malformed("more than 3 records arrived (limits.zone_records)")) {
            try over.add([hosts[2], a("h3.example.test.", "192.0.2.3")])
        }
    }
}

@Suite struct WriterTests {
    @Test func largeZoneSplitsIntoMessagesThatReadBack() throws {
        let records =
            [soa(1)] + (0..<5000).map { a("host\($0).example.test.", "10.0.\($0 / 256).\($0 % 256)") } + [soa(1)]
        let q = Question(name: try DNSName("example.test."), type: .axfr)
        let msgs = TransferWriter.messages(id: 42, question: q, records: records)
        #expect(msgs.count > 1)
        var back: [ResourceRecord] = []
        for (i, m) in msgs.enumerated() {
            #expect(m.count <= TransferWriter.defaultTarget)
            let d = try Message.decode(m)
            #expect(d.id == 42)
            #expect(d.has(Header.qrBit) && d.has(Header.aaBit))
            #expect(d.question.count == (i == 0 ? 1 : 0))
            back += d.answer
        }
        #expect(back == records)
    }

    @Test func everyMessageCarriesATSIG() throws {
        let key = TSIGKey(name: try DNSName("xfr."), algorithm: .hmacSHA256, secret: Vectors.secret)
        let records = [soa(1)] + (0..<3000).map { a("h\($0).example.test.", "10.1.\($0 / 256).\($0 % 256)") } + [soa(1)]
        let (request, mac) = TSIG.sign(Message.query(try DNSName("example.test."), .axfr).encode(), key: key)
        _ = request
        let msgs = TransferResponder.sign(
            TransferWriter.messages(id: 1, question: nil, records: records), key: key, requestMAC: mac,
            now: 1_700_000_000)
        var v = TSIGStreamVerifier(key: key, requestMAC: mac)
        for m in msgs {
            #expect(m.count <= TransferWriter.defaultTarget)
            try v.check(m, now: 1_700_000_000)
        }
        #expect(msgs.count > 1)
    }
}

@Suite struct BumpLimiterTests {
    @Test func oneBumpPerIntervalAndChangesRideAlong() {
        var l = BumpLimiter(interval: .seconds(1))
        let t0 = ContinuousClock.now
        #expect(l.request(at: t0) == .now)
        l.bumped(at: t0)
        // A flap 200 ms later waits for the rest of the second; more flaps ride along.
        #expect(l.request(at: t0 + .milliseconds(200)) == .after(.milliseconds(800)))
        #expect(l.request(at: t0 + .milliseconds(500)) == .pending)
        #expect(l.request(at: t0 + .milliseconds(900)) == .pending)
        l.fired()
        l.bumped(at: t0 + .seconds(1))
        #expect(l.request(at: t0 + .milliseconds(2500)) == .now)
    }

    @Test func tenFlapsASecondMakeAtMostOneVersionASecond() {
        var l = BumpLimiter(interval: .seconds(1))
        let t0 = ContinuousClock.now
        var versions: [Duration] = []
        var due: Duration?
        for step in 0..<100 {  // 10 s of a state change every 100 ms
            let t = Duration.milliseconds(100 * step)
            if let d = due, t >= d {
                l.fired()
                l.bumped(at: t0 + d)
                versions.append(d)
                due = nil
            }
            switch l.request(at: t0 + t) {
            case .now:
                l.bumped(at: t0 + t)
                versions.append(t)
            case .after(let wait): due = t + wait
            case .pending: break
            }
        }
        #expect(versions.count <= 11)
        for (a, b) in zip(versions, versions.dropFirst()) { #expect(b - a >= .seconds(1)) }
    }
}
