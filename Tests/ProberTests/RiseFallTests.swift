import Foundation
import Health
import Testing

@testable import Prober

@Suite struct RiseFallTests {
    let ok = ProbeResult.success("HTTP 200")
    let bad = ProbeResult.failure("connect refused")

    @Test func firstSuccessDecidesUpAtOnce() {
        var clock = ManualClock()
        var m = RiseFall(rise: 3, fall: 3, now: clock.now)
        #expect(m.state == .unknown)
        let t = clock.advance(1)
        #expect(m.record(ok, at: t) == .init(old: .unknown, new: .up))
        #expect(m.state == .up)
        #expect(m.since == t)
        #expect(m.successes == 1 && m.failures == 0)
        #expect(m.last == ok)
        #expect(m.checked == t)
    }

    @Test func firstFailureDecidesDownAtOnce() {
        var clock = ManualClock()
        var m = RiseFall(rise: 3, fall: 3, now: clock.now)
        #expect(m.record(bad, at: clock.advance(1)) == .init(old: .unknown, new: .down))
        #expect(m.state == .down)
        #expect(m.failures == 1 && m.successes == 0)
    }

    @Test func upGoesDownAfterFallConsecutiveFailures() {
        var clock = ManualClock()
        var m = RiseFall(rise: 2, fall: 3, now: clock.now)
        let upAt = clock.advance(1)
        m.record(ok, at: upAt)
        #expect(m.record(bad, at: clock.advance(1)) == nil)
        #expect(m.record(bad, at: clock.advance(1)) == nil)
        #expect(m.state == .up && m.failures == 2 && m.since == upAt)
        let downAt = clock.advance(1)
        #expect(m.record(bad, at: downAt) == .init(old: .up, new: .down))
        #expect(m.state == .down && m.failures == 3 && m.since == downAt)
        #expect(m.countText == "3 failures")
    }

    @Test func downComesBackAfterRiseConsecutiveSuccesses() {
        var clock = ManualClock()
        var m = RiseFall(rise: 2, fall: 1, now: clock.now)
        m.record(bad, at: clock.advance(1))
        #expect(m.record(ok, at: clock.advance(1)) == nil)
        #expect(m.state == .down && m.successes == 1)
        let upAt = clock.advance(1)
        #expect(m.record(ok, at: upAt) == .init(old: .down, new: .up))
        #expect(m.state == .up && m.since == upAt && m.countText == "2 successes")
    }

    @Test func aSuccessResetsTheFailureCount() {
        var clock = ManualClock()
        var m = RiseFall(rise: 2, fall: 2, now: clock.now)
        m.record(ok, at: clock.advance(1))
        m.record(bad, at: clock.advance(1))
        m.record(ok, at: clock.advance(1))
        #expect(m.failures == 0 && m.successes == 1)
        m.record(bad, at: clock.advance(1))
        #expect(m.state == .up && m.failures == 1)
    }

    @Test(arguments: [HealthState.up, .down])
    func flappingIsDamped(start: HealthState) {
        var clock = ManualClock()
        var m = RiseFall(rise: 2, fall: 2, now: clock.now)
        m.record(start == .up ? ok : bad, at: clock.advance(1))
        let since = m.since
        for i in 0..<50 {
            #expect(m.record(i % 2 == 0 ? bad : ok, at: clock.advance(1)) == nil)
            #expect(m.state == start)
        }
        #expect(m.since == since)
    }

    @Test func fallOfOneAndRiseOfOneFollowEveryResult() {
        var clock = ManualClock()
        var m = RiseFall(rise: 1, fall: 1, now: clock.now)
        var seen: [HealthState] = []
        for r in [ok, bad, ok, ok, bad] {
            m.record(r, at: clock.advance(1))
            seen.append(m.state)
        }
        #expect(seen == [.up, .down, .up, .up, .down])
    }

    @Test func aRestoredStateNeedsTheFullThresholdToChange() {
        var clock = ManualClock()
        let savedSince = clock.now - 600
        var m = RiseFall(rise: 2, fall: 2, restoring: .down, since: savedSince, checked: clock.now - 5)
        #expect(m.state == .down && m.since == savedSince && m.successes == 0)
        #expect(m.record(ok, at: clock.advance(1)) == nil)
        #expect(m.record(ok, at: clock.advance(1)) == .init(old: .down, new: .up))
    }

    @Test func countText() {
        var clock = ManualClock()
        var m = RiseFall(rise: 2, fall: 2, now: clock.now)
        m.record(bad, at: clock.advance(1))
        #expect(m.countText == "1 failure")
        m.record(ok, at: clock.advance(1))
        #expect(m.countText == "1 success")
    }
}
