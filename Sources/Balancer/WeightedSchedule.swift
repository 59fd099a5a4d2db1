/// Smooth weighted round-robin (the nginx algorithm): a cyclic order of member indices in which
/// each member comes first in proportion to its weight, spread out rather than in bursts.
/// Computed once per snapshot; the query path only indexes it with a counter.
enum WeightedSchedule {
    static func make(weights: [Int]) -> [Int16] {
        let total = weights.reduce(0, +)
        guard total > 0, weights.count <= Int(Int16.max) else {
            return Array(0..<Int16(min(weights.count, Int(Int16.max))))
        }
        var current = [Int](repeating: 0, count: weights.count)
        var out: [Int16] = []
        out.reserveCapacity(total)
        for _ in 0..<total {
            var best = -1
            for i in weights.indices where weights[i] > 0 {
                current[i] += weights[i]
                if best < 0 || current[i] > current[best] { best = i }
            }
            current[best] -= total
            out.append(Int16(best))
        }
        return out
    }
}
