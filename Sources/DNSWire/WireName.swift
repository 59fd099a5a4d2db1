/// Walking a name in a message (RFC 1035 §4.1.4), the one place that knows the rules every reader
/// follows: labels of at most 63 bytes, at most 255 bytes in all, compression pointers only
/// backwards (below every byte of the name read so far, never into the header) and at most
/// `maxPointerHops` of them. `Query.decode`, `Message.decode`, TSIG and the transfer lane's
/// triage all walk names through it.
public enum WireName {
    public static let maxPointerHops = 16

    /// Why a name could not be walked.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case runsPastEnd(at: Int)
        case labelTooLong(at: Int)
        case nameTooLong(at: Int)
        case pointerCutShort(at: Int)
        case pointerNotBackwards(at: Int, to: Int)
        case tooManyPointers
        case badLabelType(at: Int, UInt8)

        public var description: String {
            switch self {
            case .runsPastEnd(let i): "name at offset \(i) runs past its end"
            case .labelTooLong(let i): "label longer than 63 bytes at offset \(i)"
            case .nameTooLong(let i): "name at offset \(i) longer than 255 bytes"
            case .pointerCutShort(let i): "pointer at offset \(i) cut short"
            case .pointerNotBackwards(let i, let t):
                "pointer at offset \(i) to \(t) does not point backwards into the body"
            case .tooManyPointers: "more than \(WireName.maxPointerHops) pointers in a name"
            case .badLabelType(let i, let t): "label type 0x\(String(t, radix: 16)) at offset \(i)"
            }
        }

        public var wireError: DNSWireError {
            switch self {
            case .runsPastEnd, .pointerCutShort: .truncated(description)
            default: .malformedName(description)
            }
        }
    }

    /// Walks the (possibly compressed) name at `start` of message `p`, whose own labels must end
    /// before `limit` (the end of its rdata, or of the message); `label` sees each label's offset
    /// and length, the root's (length 0) last. Returns the offset just past the name where it
    /// started, or why it cannot be read. Allocates nothing.
    @inline(__always)
    public static func walk(
        _ p: UnsafeRawBufferPointer, at start: Int, limit: Int? = nil, label: (_ offset: Int, _ length: Int) -> Void
    ) -> Result<Int, Failure> {
        var i = start
        var bound = limit ?? p.count
        var after: Int? = nil
        var lowest = start
        var hops = 0
        var total = 0
        while true {
            guard i < bound else { return .failure(.runsPastEnd(at: start)) }
            let len = Int(p[i])
            switch len & 0xC0 {
            case 0x00:
                guard i + 1 + len <= bound else { return .failure(.runsPastEnd(at: start)) }
                total += len + 1
                guard total <= 255 else { return .failure(.nameTooLong(at: start)) }
                label(i, len)
                if len == 0 { return .success(after ?? i + 1) }
                i += 1 + len
            case 0xC0:
                guard i + 1 < bound else { return .failure(.pointerCutShort(at: i)) }
                let target = (len & 0x3F) << 8 | Int(p[i + 1])
                guard target >= Header.size, target < lowest else {
                    return .failure(.pointerNotBackwards(at: i, to: target))
                }
                hops += 1
                guard hops <= maxPointerHops else { return .failure(.tooManyPointers) }
                if after == nil { after = i + 2 }
                lowest = target
                bound = p.count
                i = target
            default:
                return .failure(.badLabelType(at: i, UInt8(len & 0xC0)))
            }
        }
    }

    /// The offset just past the name at `start`, or nil when it cannot be read.
    @inline(__always)
    public static func skip(_ p: UnsafeRawBufferPointer, at start: Int) -> Int? {
        if case .success(let end) = walk(p, at: start, label: { _, _ in }) { return end }
        return nil
    }

    public static func skip(_ b: [UInt8], at start: Int) -> Int? {
        b.withUnsafeBytes { skip($0, at: start) }
    }

    /// The end of the uncompressed name at `start` of `p` (just past its root label), or nil when
    /// it runs past the end or has a label that is not a plain one. For names stored whole, as in
    /// zone data and rdata written by `Message.encode`.
    @inline(__always)
    public static func uncompressedEnd(_ p: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var i = start
        while i < p.count {
            let len = Int(p[i])
            if len == 0 { return i + 1 }
            if len > 63 { return nil }
            i += 1 + len
        }
        return nil
    }

    public static func uncompressedEnd(_ b: [UInt8], from start: Int) -> Int? {
        b.withUnsafeBytes { uncompressedEnd($0, from: start) }
    }
}

extension DNSName {
    /// Reads the possibly compressed name at `start` of a whole message, by `WireName`'s rules;
    /// its own labels must end before `limit` (its rdata's end) when given. Returns the name
    /// uncompressed and the offset just past it.
    public static func read(_ message: [UInt8], at start: Int, limit: Int? = nil) throws(DNSWireError) -> (
        name: DNSName, end: Int
    ) {
        var wire: [UInt8] = []
        let walked = message.withUnsafeBytes { p in
            WireName.walk(p, at: start, limit: limit) { offset, length in wire += p[offset...(offset + length)] }
        }
        switch walked {
        case .success(let end): return (DNSName(trustedWire: wire), end)
        case .failure(let failure): throw failure.wireError
        }
    }
}
