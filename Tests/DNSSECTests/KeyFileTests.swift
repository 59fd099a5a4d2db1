import DNSSEC
import DNSWire
import Foundation
import Testing

@Suite("DNSSEC keys: BIND's key files, timing metadata, roles")
struct KeyFileTests {
    static let zone = try! DNSName("example.net.")

    static func tempDir() throws -> String {
        let dir = FileManager.default.temporaryDirectory.path + "/carousel-keys-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test(
        "BIND timestamps: YYYYMMDDHHMMSS in UTC, both ways",
        arguments: [
            ("19700101000000", Int64(0)), ("20261202030046", Int64(1_796_180_446)),
            ("20000229235959", Int64(951_868_799)),
        ])
    func timestamps(_ text: String, _ seconds: Int64) {
        #expect(KeyFiles.timestamp(text) == seconds)
        #expect(KeyFiles.format(seconds) == text)
    }

    @Test("a key written as BIND writes it reads back: same tag, same DNSKEY, timing kept, .private mode 0600")
    func writeThenRead() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for algorithm in DNSSECAlgorithm.allCases {
            let key = DNSSECKey.generate(zone: Self.zone, algorithm: algorithm, now: 1_796_180_446)
            let path = try KeyFiles.write(key, directory: dir)
            #expect(
                path.hasSuffix(
                    ".+" + String(format: "%03d", algorithm.rawValue) + "+" + String(format: "%05d", key.keyTag)
                        + ".key"))
            let read = try KeyFiles.read(keyFile: path, zone: Self.zone).get()
            #expect(read.rdata == key.rdata && read.keyTag == key.keyTag && read.timing == key.timing)
            var st = stat()
            #expect(stat(String(path.dropLast(4)) + ".private", &st) == 0 && st.st_mode & 0o777 == 0o600)
        }
        #expect(try KeyFiles.load(zone: Self.zone, directory: dir).get().count == 2)
    }

    @Test("a .private readable by others is refused, naming the file and the fix")
    func privateModeRefused() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let key = DNSSECKey.generate(zone: Self.zone, algorithm: .ed25519)
        let path = try KeyFiles.write(key, directory: dir)
        let privatePath = String(path.dropLast(4)) + ".private"
        chmod(privatePath, 0o644)
        guard case .failure(let p) = KeyFiles.read(keyFile: path, zone: Self.zone) else {
            Issue.record("a 0644 private key loaded")
            return
        }
        #expect(p.description == "\(privatePath):1: readable by group or others (mode 644): `chmod 600 \(privatePath)`")
    }

    @Test(
        "broken key files are errors at their lines",
        arguments: [
            (
                "example.net. IN DNSKEY 257 3 8 AwEAAa==",
                "algorithm 8 is not supported: use 13 (ECDSAP256SHA256) or 15 (ED25519)"
            ),
            ("example.org. IN DNSKEY 257 3 13 AAAA", "the key's owner example.org. is not the zone example.net."),
            ("example.net. IN DNSKEY 258 3 13 AAAA", "flags 258: expected 256 (ZSK) or 257 (KSK or CSK)"),
            ("example.net. IN DNSKEY 257 3 13 AAAA", "the public key is 3 bytes; ECDSAP256SHA256 keys have 64"),
        ])
    func brokenKeyFiles(_ record: String, _ message: String) throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/Kexample.net.+013+00001.key"
        try "; a comment\n\(record)\n".write(toFile: path, atomically: true, encoding: .utf8)
        guard case .failure(let p) = KeyFiles.read(keyFile: path, zone: Self.zone) else {
            Issue.record("loaded: \(record)")
            return
        }
        #expect(p.description == "\(path):2: \(message)")
    }

    @Test("a private key that is not the public key's other half is refused")
    func mismatchedPair() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = try KeyFiles.write(DNSSECKey.generate(zone: Self.zone, algorithm: .ed25519), directory: dir)
        let b = try KeyFiles.write(DNSSECKey.generate(zone: Self.zone, algorithm: .ed25519), directory: dir)
        // b's public half with a's private half.
        let aPrivate = try String(contentsOfFile: String(a.dropLast(4)) + ".private", encoding: .utf8)
        let bPrivate = String(b.dropLast(4)) + ".private"
        try FileManager.default.removeItem(atPath: bPrivate)
        try aPrivate.write(toFile: bPrivate, atomically: false, encoding: .utf8)
        chmod(bPrivate, 0o600)
        guard case .failure(let p) = KeyFiles.read(keyFile: b, zone: Self.zone) else {
            Issue.record("a mismatched pair loaded")
            return
        }
        #expect(p.description.contains("does not belong to the public key"))
    }

    @Test("timing: Publish and Activate, Inactive and Delete; no timing at all means published and active")
    func timing() {
        let none = KeyTiming()
        #expect(none.isPublished(at: 0) && none.isActive(at: 0))
        let prepublished = KeyTiming(publish: 100)
        #expect(
            !prepublished.isPublished(at: 99) && prepublished.isPublished(at: 100) && !prepublished.isActive(at: 500))
        let rolled = KeyTiming(publish: 100, activate: 200, inactive: 300, delete: 400)
        #expect(rolled.isPublished(at: 100) && !rolled.isActive(at: 199) && rolled.isActive(at: 200))
        #expect(!rolled.isActive(at: 300) && rolled.isPublished(at: 399) && !rolled.isPublished(at: 400))
    }

    @Test("roles: a KSK signs the DNSKEY set, a ZSK the rest; a lone KSK is a CSK; the next event is the next timing")
    func roles() throws {
        let ksk = DNSSECKey.generate(zone: Self.zone, algorithm: .ecdsaP256SHA256, flags: 257, now: 0)
        var zsk = DNSSECKey.generate(zone: Self.zone, algorithm: .ecdsaP256SHA256, flags: 256, now: 0)
        zsk.timing = KeyTiming(publish: 0, activate: 100)
        let keys = ZoneKeys(config: DNSSECZone(zone: Self.zone, keys: "/k"), keys: [ksk, zsk])
        let early = try #require(keys.signing(at: 50))
        #expect(
            early.keys.count == 1 && early.keys[0].signsKeys && early.keys[0].signsZone, "a CSK until the ZSK signs")
        #expect(keys.dnskeyRecords(at: 50).count == 2, "the ZSK is published ahead")
        let later = try #require(keys.signing(at: 150))
        let byTag = Dictionary(uniqueKeysWithValues: later.keys.map { ($0.keyTag, $0) })
        #expect(byTag[ksk.keyTag]?.signsKeys == true && byTag[ksk.keyTag]?.signsZone == false)
        #expect(byTag[zsk.keyTag]?.signsKeys == false && byTag[zsk.keyTag]?.signsZone == true)
        #expect(keys.nextEvent(after: 50) == 100 && keys.nextEvent(after: 100) == nil)
    }
}
