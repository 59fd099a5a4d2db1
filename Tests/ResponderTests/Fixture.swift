import DNSWire
import DNSZone
import Foundation
import Responder
import Testing
import ZoneFiles

/// Zones written as zone-file text, read by the real loader, and a responder over
/// them that takes and returns whole messages.
enum Fixture {
    /// Parses `text` with `ZoneLoader.parse` (through a temporary file) and builds the zone.
    static func zone(_ origin: String, _ text: String) throws -> Zone {
        let dir = FileManager.default.temporaryDirectory.path + "/carousel-responder-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/" + origin + "zone"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let parsed = try ZoneLoader.parse(file: file, origin: DNSName(origin)).get()
        return try Zone.build(origin: parsed.origin, file: file, records: parsed.records.map(\.record))
    }

    static func server(_ zones: [(String, String)], options: ResponderOptions = ResponderOptions()) throws -> Server {
        Server(snapshot: Snapshot(catalog: Catalog(zones: try zones.map { try zone($0.0, $0.1) }), options: options))
    }
}

/// Answers queries the way a listener would: bytes in, bytes out, one scratch per "thread".
struct Server {
    let snapshot: Snapshot
    let scratch = ResponderScratch()
    /// The source address the queries come from (server cookies are bound to it).
    var client = ClientAddress.unknown

    struct Reply {
        var outcome: QueryOutcome
        var bytes: [UInt8]
        var message: Message

        var rcode: UInt16 { message.rcode }
        func has(_ bit: UInt16) -> Bool { message.has(bit) }
        /// Answer records as `owner TYPE rdata-summary`, owners in the case they arrived in.
        var answer: [String] { message.answer.map(Summary.of) }
        var authority: [String] { message.authority.map(Summary.of) }
        var additional: [String] { message.additional.map(Summary.of) }
    }

    func respond(_ query: [UInt8], over transport: Transport = .udp) -> (QueryOutcome, [UInt8]) {
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 65535, alignment: 1)
        defer { out.deallocate() }
        let outcome = query.withUnsafeBytes {
            Responder.respond(to: $0, over: transport, snapshot: snapshot, into: out, scratch: scratch, client: client)
        }
        return (outcome, Array(out[0..<outcome.length]))
    }

    func ask(_ query: Message, over transport: Transport = .udp, sourceLocation: SourceLocation = #_sourceLocation)
        throws
        -> Reply
    {
        let (outcome, bytes) = respond(query.encode(), over: transport)
        let message = try Message.decode(bytes)
        #expect(message.id == query.id, sourceLocation: sourceLocation)
        #expect(message.has(Header.qrBit), sourceLocation: sourceLocation)
        #expect(!message.has(Header.raBit), "RA is never set: authoritative only", sourceLocation: sourceLocation)
        #expect(outcome.length == bytes.count && outcome.rcode == message.rcode, sourceLocation: sourceLocation)
        return Reply(outcome: outcome, bytes: bytes, message: message)
    }

    func ask(
        _ qname: String, _ type: RRType, id: UInt16 = 0x5150, edns: EDNS? = nil, over transport: Transport = .udp,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> Reply {
        try ask(
            Message.query(id: id, DNSName(qname), type, edns: edns), over: transport, sourceLocation: sourceLocation)
    }
}

/// Records as short text, so expectations read like a zone file: `www.example.com. A 192.0.2.1`.
enum Summary {
    static func of(_ r: ResourceRecord) -> String {
        "\(r.name) \(r.ttl) \(r.type) \(rdata(r))"
    }

    static func rdata(_ r: ResourceRecord) -> String {
        let d = r.rdata
        switch r.type {
        case .a where d.count == 4:
            return d.map(String.init).joined(separator: ".")
        case .ns, .cname, .ptr, .dname:
            return (try? DNSName(wire: d).description) ?? "?"
        case .mx where d.count > 2:
            return "\(Int(d[0]) << 8 | Int(d[1])) " + ((try? DNSName(wire: Array(d[2...])).description) ?? "?")
        case .soa:
            let ranges = ResourceRecord.embeddedNameRanges(type: .soa, rdata: d)
            guard ranges.count == 2 else { return "?" }
            let names = ranges.map { DNSName(trustedWire: Array(d[$0])).description }
            let numbers = stride(from: ranges[1].upperBound, to: d.count - 3, by: 4).map { (i: Int) -> String in
                let hi = UInt32(d[i]) << 24 | UInt32(d[i + 1]) << 16
                return String(hi | UInt32(d[i + 2]) << 8 | UInt32(d[i + 3]))
            }
            return (names + numbers).joined(separator: " ")
        case .txt:
            var out: [String] = []
            var i = 0
            while i < d.count {
                let n = Int(d[i])
                out.append("\"" + String(decoding: d[(i + 1)..<min(d.count, i + 1 + n)], as: UTF8.self) + "\"")
                i += 1 + n
            }
            return out.joined(separator: " ")
        default:
            return "\\# \(d.count) " + d.map { String(format: "%02x", $0) }.joined()
        }
    }
}
