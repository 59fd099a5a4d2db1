import DNSSEC
import DNSWire
import DNSZone
import Foundation
import Responder
import Testing
import Transfer
import ZoneFiles

/// The presigned copy secondaries get: every authoritative RRset signed, the NSEC chain, and
/// signatures kept from one version to the next unless their set changed or they fall due.
/// (`dnssec-verify` and `ldns-verify-zone` judge the real transfers in the integration tests.)
@Suite("Presigned transfers: RRSIGs, the NSEC chain, signatures kept between versions")
struct ZonePresignerTests {
    static func zone(_ www: [String]) throws -> Zone {
        let text =
            """
            $ORIGIN example.net.
            $TTL 300
            @ IN SOA ns1 hostmaster 1 3600 600 1209600 60
            @ IN NS ns1
            ns1 IN A 127.0.0.1
            mail IN MX 10 mail
            mail IN A 127.0.0.2
            child IN NS ns.child
            ns.child IN A 127.0.0.3
            *.wild IN TXT "w"

            """ + www.map { "www 60 IN A \($0)\n" }.joined()
        let dir = FileManager.default.temporaryDirectory.path + "/carousel-presign-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/example.net.zone"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let parsed = try ZoneLoader.parse(file: file, origin: DNSName("example.net.")).get()
        return try Zone.build(origin: parsed.origin, file: file, records: parsed.records.map(\.record))
    }

    /// Active since a fixed past time: made lazily from the clock, the key could be created a
    /// second after the `now` a test asked for and not be active at it.
    static let key = DNSSECKey.generate(zone: try! DNSName("example.net."), algorithm: .ed25519, now: 1_700_000_000)
    static let keys = ZoneKeys(config: DNSSECZone(zone: key.zone, keys: "/k", signatureLifetime: 86400), keys: [key])

    static func presigned(_ www: [String], _ p: ZonePresigner, now: Int64) throws -> ZoneVersion {
        let zone = try keys.zone(zone(www), at: now)
        let signing = try #require(keys.signing(at: now))
        return p.signSOA(
            p.sign(ZoneVersion(zone: zone), with: signing, now: now).withSerial(7), with: signing, now: now)
    }

    static func sets(_ v: ZoneVersion) -> [String: [ResourceRecord]] {
        Dictionary(grouping: ([v.soa] + v.records).filter { $0.type != .rrsig }) { "\($0.name) \($0.type)" }
    }

    static func signatures(_ v: ZoneVersion) -> [String: ResourceRecord] {
        var out: [String: ResourceRecord] = [:]
        for r in v.records where r.type == .rrsig {
            out["\(r.name) \(RRType(UInt16(r.rdata[0]) << 8 | UInt16(r.rdata[1])))"] = r
        }
        return out
    }

    @Test("every authoritative RRset is signed and verifies; glue and the child's NS are not signed")
    func everySetSigned() throws {
        let now = Int64(Date().timeIntervalSince1970)
        let v = try Self.presigned(["192.0.2.1", "192.0.2.2"], ZonePresigner(), now: now)
        let sigs = Self.signatures(v)
        for (name, set) in Self.sets(v) {
            let unsigned = name == "child.example.net. NS" || name == "ns.child.example.net. A"
            #expect((sigs[name] == nil) == unsigned, "\(name)")
            if let sig = sigs[name] { #expect(Self.key.verifies(sig, over: set), "\(name)") }
        }
        #expect(sigs["example.net. SOA"] != nil && sigs["example.net. DNSKEY"] != nil)
    }

    @Test("the NSEC chain: authoritative names and the cut in canonical order, back to the apex; types as they are")
    func nsecChain() throws {
        let now = Int64(Date().timeIntervalSince1970)
        let v = try Self.presigned(["192.0.2.1"], ZonePresigner(), now: now)
        let nsecs = v.records.filter { $0.type == .nsec }
        let owners = nsecs.map(\.name.description)
        #expect(
            owners == [
                "example.net.", "child.example.net.", "mail.example.net.", "ns1.example.net.", "*.wild.example.net.",
                "www.example.net.",
            ])
        for (i, n) in nsecs.enumerated() {
            let next = nsecs[(i + 1) % nsecs.count].name.wire
            #expect(Array(n.rdata.prefix(next.count)) == next, "\(n.name) → \(nsecs[(i + 1) % nsecs.count].name)")
        }
        // The cut lists NS (no DS here), RRSIG and NSEC: window 0, 6 bytes, NS=2, RRSIG=46, NSEC=47.
        let cut = try #require(nsecs.first { $0.name.description == "child.example.net." })
        #expect(Array(cut.rdata.suffix(8)) == [0, 6, 0x20, 0, 0, 0, 0, 0x03])
    }

    @Test("a new version keeps the signatures of unchanged sets; only the changed set and the SOA are signed again")
    func signaturesKept() throws {
        let now = Int64(Date().timeIntervalSince1970)
        let p = ZonePresigner()
        let first = try Self.presigned(["192.0.2.1", "192.0.2.2"], p, now: now)
        let made = p.signaturesMade
        let second = try Self.presigned(["192.0.2.1"], p, now: now + 60)
        #expect(p.signaturesMade - made == 2, "www A and the SOA")
        let a = Self.signatures(first), b = Self.signatures(second)
        for (name, sig) in a where name != "www.example.net. A" && name != "example.net. SOA" {
            #expect(b[name]?.rdata == sig.rdata, "\(name) kept")
        }
        #expect(b["www.example.net. A"]?.rdata != a["www.example.net. A"]?.rdata)
        let diff = ZoneDiff(from: first, to: second)
        #expect(diff.added.map(\.type).sorted { $0.rawValue < $1.rawValue } == [.rrsig, .rrsig])
        #expect(diff.deleted.count == 3, "the old address, its set's RRSIG, the SOA's RRSIG")
    }

    @Test("signatures fall due before a quarter of their lifetime is left (with jitter), and are made again")
    func refresh() throws {
        let now = Int64(Date().timeIntervalSince1970)
        let p = ZonePresigner()
        _ = try Self.presigned(["192.0.2.1"], p, now: now)
        let due = try #require(p.nextRefresh)
        let lifetime: Int64 = 86400
        #expect(due <= now + lifetime * 3 / 4 && due >= now + lifetime * 3 / 4 - lifetime / 16 - 1)
        let made = p.signaturesMade
        let later = try Self.presigned(["192.0.2.1"], p, now: now + lifetime * 3 / 4 + 1)
        #expect(p.signaturesMade - made == Self.signatures(later).count, "every signature made again")
    }
}
