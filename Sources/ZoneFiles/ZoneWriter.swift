// Master-file text out: a zone pulled from a primary, stored so that a restart can serve it
// before the primary answers (as NSD's `zonefile:` and Knot's zone-file sync do for secondaries).
//
// Each record's rdata is written as libldns presents it (`ldns_rr2str`), the text `ldns-read-zone`
// and `named-checkzone` read, its owner by `DNSName`; rdata libldns cannot present goes out in RFC
// 3597's generic form (`TYPEn \# len hex`), which every reader takes. The ZoneLoader reads the
// file back, and ZoneWriterTests hold both readers to giving back the records written.

import CLDNS
import DNSWire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

public enum ZoneWriter {
    /// `records` as master-file text: the comment lines of `header` (each prefixed with `; `),
    /// `$ORIGIN origin`, then one line per record, absolute names throughout.
    public static func text(origin: DNSName, records: [ResourceRecord], header: [String] = []) -> String {
        var out = header.map { "; \($0)\n" }.joined()
        out += "$ORIGIN \(origin)\n"
        out.reserveCapacity(out.utf8.count + records.count * 48)
        for r in records { out += line(r) }
        return out
    }

    /// One record as a line of master-file text, ending in a newline. The owner is written by
    /// `DNSName`'s presentation (libldns leaves a label `@` unescaped, which reads back as the
    /// origin); a record whose rdata holds such a name goes out in the generic form.
    public static func line(_ r: ResourceRecord) -> String {
        let head = "\(r.name)\t\(r.ttl)\t\(r.rrClass.rawValue == 1 ? "IN" : "CLASS\(r.rrClass.rawValue)")\t"
        if let rdata = presentedRdata(r) { return head + rdata + "\n" }
        return head + generic(r)
    }

    /// The rdata as libldns presents it (`ldns_rr2str` after its four leading fields), or nil.
    static func presentedRdata(_ r: ResourceRecord) -> String? {
        for range in ResourceRecord.embeddedNameRanges(type: r.type, rdata: r.rdata) {
            var i = range.lowerBound
            while i < range.upperBound - 1 {
                let length = Int(r.rdata[i])
                for b in r.rdata[(i + 1)..<min(i + 1 + length, range.upperBound)] where !plain(b) { return nil }
                i += 1 + length
            }
        }
        var wire = r.name.wire
        wire.reserveCapacity(wire.count + 10 + r.rdata.count)
        for v in [r.type.rawValue, r.rrClass.rawValue] { wire += [UInt8(v >> 8), UInt8(v & 0xFF)] }
        wire += [UInt8(r.ttl >> 24), UInt8(r.ttl >> 16 & 0xFF), UInt8(r.ttl >> 8 & 0xFF), UInt8(r.ttl & 0xFF)]
        wire += [UInt8(r.rdata.count >> 8), UInt8(r.rdata.count & 0xFF)] + r.rdata
        var rr: UnsafeMutablePointer<ldns_rr>? = nil
        var pos = 0
        let status = wire.withUnsafeBufferPointer {
            ldns_wire2rr(&rr, $0.baseAddress, $0.count, &pos, LDNS_SECTION_ANSWER)
        }
        defer { if let rr { ldns_rr_free(rr) } }
        guard status == LDNS_STATUS_OK, let rr, pos == wire.count, let text = ldns_rr2str(rr) else { return nil }
        defer { free(text) }
        // "owner\tttl\tclass\ttype\trdata\n"; libldns marks rdata it cannot present with "<…>".
        let fields = String(cString: text).split(separator: "\t", maxSplits: 4, omittingEmptySubsequences: false)
        guard fields.count == 5 else { return nil }
        let rdata = fields[4].hasSuffix("\n") ? fields[4].dropLast() : fields[4]
        guard !rdata.contains("<"), !rdata.contains("\n") else { return nil }
        return fields[3] + "\t" + rdata
    }

    /// Bytes a name label may hold and still be written as it is, by any presenter.
    static func plain(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "*"),
            UInt8(ascii: "/"):
            return true
        default:
            return false
        }
    }

    /// RFC 3597 §5: `TYPEn \# length hex`.
    static func generic(_ r: ResourceRecord) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(r.rdata.count * 2)
        for b in r.rdata { hex += [digits[Int(b >> 4)], digits[Int(b & 0xF)]] }
        let rdata = r.rdata.isEmpty ? "" : " " + String(decoding: hex, as: UTF8.self)
        return "TYPE\(r.type.rawValue)\t\\# \(r.rdata.count)\(rdata)\n"
    }
}
