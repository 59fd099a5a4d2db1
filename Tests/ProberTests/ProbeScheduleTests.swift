import Health
import Testing

@testable import Prober

@Suite struct ProbeScheduleTests {
    @Test func popsEntriesInDueOrderAndOnlyWhenDue() {
        var s = ProbeSchedule()
        var random = JitterRandom(seed: 7)
        let dues = (0..<1000).map { _ in Int64(random.next() % 1_000_000) }
        for (i, due) in dues.enumerated() {
            s.push(.init(due: due, slot: Int32(i), generation: 0))
        }
        #expect(s.count == 1000)
        #expect(s.nextDue == dues.min())
        #expect(s.popDue(at: dues.min()! - 1) == nil)
        var popped: [Int64] = []
        while let e = s.popDue(at: 500_000) { popped.append(e.due) }
        #expect(popped == dues.filter { $0 <= 500_000 }.sorted())
        #expect(s.count == dues.filter { $0 > 500_000 }.count)
        while let e = s.popDue(at: .max) { popped.append(e.due) }
        #expect(popped == dues.sorted())
        #expect(s.isEmpty && s.nextDue == nil)
    }

    @Test func jitterStaysWithinTenPercent() {
        var random = JitterRandom(seed: 42)
        let draws = (0..<10_000).map { _ in random.jittered(1_000_000_000) }
        #expect(draws.allSatisfy { (900_000_000...1_100_000_000).contains($0) })
        // Spread over the whole range, not stuck at one end.
        #expect(draws.min()! < 910_000_000 && draws.max()! > 1_090_000_000)
        #expect(random.jittered(5) == 5)
    }
}
