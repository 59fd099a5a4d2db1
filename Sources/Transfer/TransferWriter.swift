import DNSWire

/// Splits the records of a transfer into messages (RFC 5936 §2.2): each one as full as
/// `target` bytes allow, names compressed, the question in the first message only. Room is
/// left for a TSIG record on every message.
public enum TransferWriter {
    /// Messages of about 16 KiB: large enough to be cheap, small enough that a slow reader does
    /// not hold a 64 KiB buffer per connection.
    public static let defaultTarget = 16_384
    /// Bytes kept free for a TSIG record (a long key name, a 64-byte MAC).
    public static let tsigRoom = 400

    public static func messages(
        id: UInt16, question: Question?, records: [ResourceRecord], rcode: UInt16 = 0, target: Int = defaultTarget
    ) -> [[UInt8]] {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65535, alignment: 8)
        defer { buffer.deallocate() }
        let scratch = CompressionScratch(capacity: 1024)
        let questionWire: [UInt8]? = question.map { q in
            q.name.wire + [
                UInt8(q.type.rawValue >> 8), UInt8(q.type.rawValue & 0xFF), UInt8(q.qclass.rawValue >> 8),
                UInt8(q.qclass.rawValue & 0xFF),
            ]
        }
        let flags = Header.qrBit | Header.aaBit | rcode
        var out: [[UInt8]] = []
        var i = 0
        repeat {
            var w = ResponseWriter(into: buffer, limit: min(65535, target) - tsigRoom, scratch: scratch)
            if out.isEmpty, let q = questionWire {
                q.withUnsafeBytes { w.start(id: id, flags: flags, question: $0) }
            } else {
                w.start(id: id, flags: flags, question: nil)
            }
            var wrote = 0
            while i < records.count {
                let r = records[i]
                var ok = write(r, &w)
                if !ok && wrote == 0 {
                    w.limit = 65535 - tsigRoom  // one record bigger than the target: a message of its own
                    ok = write(r, &w)
                }
                guard ok else { break }
                wrote += 1
                i += 1
            }
            let n = w.finish()
            out.append(Array(UnsafeRawBufferPointer(rebasing: buffer[0..<n])))
            if wrote == 0 && i < records.count { break }  // cannot fit at all (never for valid records)
        } while i < records.count
        return out
    }

    static func write(_ r: ResourceRecord, _ w: inout ResponseWriter) -> Bool {
        r.name.wire.withUnsafeBytes { owner in
            r.rdata.withUnsafeBytes { rdata in
                w.writeRecord(
                    .answer, owner: owner, type: r.type, rrClass: r.rrClass.rawValue, ttl: r.ttl, rdata: rdata)
            }
        }
    }
}
