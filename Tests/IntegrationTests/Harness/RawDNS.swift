// A deliberately small DNS message builder and reader, independent of Carousel's own DNSWire codec,
// so that the integration tests do not grade the server with the server's code.

import Foundation

/// A query built byte by byte; every field can be set to something dig would refuse to send.
struct RawQuery: Sendable {
    var id: UInt16 = UInt16.random(in: 0...UInt16.max)
    var qr = false
    var opcode: UInt8 = 0
    var rd = true
    var questions: [(name: String, type: UInt16, qclass: UInt16)] = []
    /// One entry per OPT record to add: (UDP payload size, EDNS version, options as raw bytes).
    var opts: [(payload: UInt16, version: UInt8, options: [UInt8])] = []
    /// The DO bit in every OPT record (RFC 3225).
    var dnssecOK = false

    init(_ name: String = "example.test.", type: UInt16 = 1, qclass: UInt16 = 1) {
        questions = [(name, type, qclass)]
    }

    var bytes: [UInt8] {
        var out: [UInt8] = []
        out.append16(id)
        var flags: UInt16 = UInt16(opcode & 0x0f) << 11
        if qr { flags |= 0x8000 }
        if rd { flags |= 0x0100 }
        out.append16(flags)
        out.append16(UInt16(questions.count))
        out.append16(0)
        out.append16(0)
        out.append16(UInt16(opts.count))
        for question in questions {
            out += RawQuery.encodeName(question.name)
            out.append16(question.type)
            out.append16(question.qclass)
        }
        for opt in opts {
            out.append(0)  // root owner
            out.append16(41)
            out.append16(opt.payload)
            out += [0, opt.version, dnssecOK ? 0x80 : 0, 0]  // extended rcode, version, DO and Z
            out.append16(UInt16(opt.options.count))
            out += opt.options
        }
        return out
    }

    /// Uncompressed wire form of a dotted name; letter case is kept as given.
    static func encodeName(_ name: String) -> [UInt8] {
        var out: [UInt8] = []
        for label in name.split(separator: ".") {
            let bytes = Array(label.utf8)
            out.append(UInt8(bytes.count))
            out += bytes
        }
        out.append(0)
        return out
    }
}

extension Array where Element == UInt8 {
    mutating func append16(_ value: UInt16) {
        append(UInt8(value >> 8))
        append(UInt8(value & 0xff))
    }
}

/// One record of a reply.
struct RawRecord: Sendable {
    var name: String  // as on the wire (case kept), dotted, with the final dot
    var type: UInt16
    var rclass: UInt16
    var ttl: UInt32
    var rdata: [UInt8]

    /// The address of an A or AAAA record as dig prints it; "" for other types.
    var address: String {
        guard rdata.count == 4 || rdata.count == 16, type == 1 || type == 28 else { return "" }
        var text = [CChar](repeating: 0, count: 64)
        let ok = rdata.withUnsafeBytes { raw in
            inet_ntop(rdata.count == 4 ? AF_INET : AF_INET6, raw.baseAddress, &text, 64) != nil
        }
        return ok ? String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
    }
}

/// A reply read from the wire; throws on anything malformed.
struct RawMessage: Sendable {
    var id: UInt16
    var flags: UInt16
    var qdcount: Int, ancount: Int, nscount: Int, arcount: Int
    /// The bytes of the question section exactly as received.
    var questionBytes: [UInt8]
    var answer: [RawRecord] = []
    var authority: [RawRecord] = []
    var additional: [RawRecord] = []

    var qr: Bool { flags & 0x8000 != 0 }
    var opcode: UInt8 { UInt8((flags >> 11) & 0x0f) }
    var aa: Bool { flags & 0x0400 != 0 }
    var tc: Bool { flags & 0x0200 != 0 }
    var rd: Bool { flags & 0x0100 != 0 }
    var ra: Bool { flags & 0x0080 != 0 }
    var rcode: UInt8 { UInt8(flags & 0x000f) }
    var opt: RawRecord? { additional.first { $0.type == 41 } }
    var optCount: Int { additional.filter { $0.type == 41 }.count }
    /// The 12-bit rcode: header bits plus the OPT's extended rcode (RFC 6891 §6.1.3).
    var fullRcode: Int { Int(rcode) | Int((opt?.ttl ?? 0) >> 24) << 4 }
    var ednsVersion: UInt8? { opt.map { UInt8(($0.ttl >> 16) & 0xff) } }

    init(_ bytes: [UInt8]) throws {
        var reader = Reader(bytes: bytes)
        id = try reader.u16()
        flags = try reader.u16()
        qdcount = Int(try reader.u16())
        ancount = Int(try reader.u16())
        nscount = Int(try reader.u16())
        arcount = Int(try reader.u16())
        let questionStart = reader.offset
        for _ in 0..<qdcount {
            _ = try reader.name()
            _ = try reader.u16()
            _ = try reader.u16()
        }
        questionBytes = Array(bytes[questionStart..<reader.offset])
        answer = try (0..<ancount).map { _ in try reader.record() }
        authority = try (0..<nscount).map { _ in try reader.record() }
        additional = try (0..<arcount).map { _ in try reader.record() }
        guard reader.offset == bytes.count else { throw HarnessError("\(bytes.count - reader.offset) trailing bytes") }
    }
}

private struct Reader {
    let bytes: [UInt8]
    var offset = 0

    mutating func u8() throws -> UInt8 {
        guard offset < bytes.count else { throw HarnessError("message ends at \(offset)") }
        defer { offset += 1 }
        return bytes[offset]
    }
    mutating func u16() throws -> UInt16 { UInt16(try u8()) << 8 | UInt16(try u8()) }
    mutating func u32() throws -> UInt32 { UInt32(try u16()) << 16 | UInt32(try u16()) }

    mutating func name() throws -> String {
        var labels: [String] = []
        var position = offset
        var jumped = false
        var hops = 0
        while true {
            guard position < bytes.count else { throw HarnessError("name runs past the end") }
            let length = Int(bytes[position])
            if length & 0xc0 == 0xc0 {
                guard position + 1 < bytes.count else { throw HarnessError("cut pointer") }
                let target = (length & 0x3f) << 8 | Int(bytes[position + 1])
                guard target < position, hops < 64 else { throw HarnessError("bad compression pointer") }
                if !jumped { offset = position + 2 }
                jumped = true
                hops += 1
                position = target
                continue
            }
            guard length & 0xc0 == 0 else { throw HarnessError("bad label type") }
            if length == 0 {
                if !jumped { offset = position + 1 }
                return labels.isEmpty ? "." : labels.joined(separator: ".") + "."
            }
            guard position + 1 + length <= bytes.count else { throw HarnessError("label runs past the end") }
            labels.append(String(decoding: bytes[(position + 1)...(position + length)], as: UTF8.self))
            position += 1 + length
        }
    }

    mutating func record() throws -> RawRecord {
        let name = try name()
        let type = try u16()
        let rclass = try u16()
        let ttl = try u32()
        let length = Int(try u16())
        guard offset + length <= bytes.count else { throw HarnessError("rdata runs past the end") }
        defer { offset += length }
        return RawRecord(
            name: name, type: type, rclass: rclass, ttl: ttl, rdata: Array(bytes[offset..<offset + length]))
    }
}
