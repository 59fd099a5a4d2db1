import DNSWire
import Testing

/// A small in-process fuzz: random mutations of the golden packets through both
/// decoders. Nothing may crash; whatever decodes must be self-consistent.
@Suite("Decoder fuzz")
struct FuzzTests {
    static let iterations = 20_000

    /// One to four byte flips, truncations, insertions, deletions or count bumps.
    static func mutate(_ input: [UInt8], _ rng: inout XorShift) -> [UInt8] {
        var p = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            switch Int.random(in: 0..<6, using: &rng) {
            case 0 where !p.isEmpty:
                p[Int.random(in: 0..<p.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            case 1 where !p.isEmpty:
                p[Int.random(in: 0..<p.count, using: &rng)] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
            case 2:
                p = Array(p.prefix(Int.random(in: 0...p.count, using: &rng)))
            case 3:
                // Pointer-like and length-like bytes are the interesting ones to insert.
                let b = [0xC0, 0x0C, 0x3F, 0x40, 0x00, 0xFF, UInt8.random(in: 0...255, using: &rng)]
                    .randomElement(using: &rng)!
                p.insert(b, at: Int.random(in: 0...p.count, using: &rng))
            case 4 where !p.isEmpty:
                p.remove(at: Int.random(in: 0..<p.count, using: &rng))
            case 5 where p.count >= 12:
                let at = 4 + 2 * Int.random(in: 0..<4, using: &rng)
                p[at + 1] = p[at + 1] &+ UInt8.random(in: 1...2, using: &rng)
            default:
                break
            }
        }
        return p
    }

    @Test("20,000 mutations never crash either decoder, and what decodes is consistent")
    func fuzz() throws {
        var rng = XorShift(seed: 0x00C0_FFEE_D15E_A5E5)
        let seeds = Golden.all
        var outcomes = (queries: 0, formErrs: 0, drops: 0, messages: 0)
        for iteration in 0..<Self.iterations {
            let input = Self.mutate(seeds[iteration % seeds.count], &rng)
            switch decodeQuery(input) {
            case .query(let q):
                outcomes.queries += 1
                #expect(q.qnameStart == 12 && q.qnameStart < q.qnameEnd && q.qnameEnd + 4 == q.questionEnd)
                #expect(q.questionEnd <= input.count, "iteration \(iteration): \(hexString(input))")
                #expect(q.qnameEnd - q.qnameStart <= 255)
            case .formErr(_, _, let end, _):
                outcomes.formErrs += 1
                if let end { #expect(end <= input.count && end > 12, "iteration \(iteration): \(hexString(input))") }
            case .drop:
                outcomes.drops += 1
                #expect(input.count < 12 || input[2] & 0x80 != 0)
            }
            if let m = try? Message.decode(input) {
                outcomes.messages += 1
                // What decodes re-encodes to something that decodes to the same message.
                let again = try Message.decode(m.encode())
                #expect(again == m, "iteration \(iteration): \(hexString(input))")
                if let q = decodedQuery(input), m.question.count == 1 {
                    #expect(q.id == m.id && q.qtype == m.question[0].type && q.qclass == m.question[0].qclass)
                    #expect(q.edns == m.edns)
                }
            }
        }
        // The mutations reach every outcome, so the fuzz exercises more than the first check.
        #expect(
            outcomes.queries > 100 && outcomes.formErrs > 100 && outcomes.drops > 100 && outcomes.messages > 100,
            "\(outcomes)")
    }

    @Test("every truncation of every golden packet is handled")
    func allTruncations() {
        for packet in Golden.all {
            for n in 0..<packet.count {
                let cut = Array(packet.prefix(n))
                if case .query = decodeQuery(cut) { Issue.record("truncated to \(n) decoded as a query") }
                #expect(throws: DNSWireError.self) { try Message.decode(cut) }
            }
        }
    }
}
