import DNSWire
import DNSZone
import Foundation
import Loading
import Testing

/// The zone cache every start, reload and `carousel check` goes through: a broken edit never
/// replaces a good zone, only changed files are read again, a second file for a served origin
/// waits, and a removed file stops being served.
@Suite("Loading: the zone cache")
struct ZoneCacheTests {
    static func zone(_ origin: String, serial: Int, www: String = "192.0.2.1") -> String {
        """
        $ORIGIN \(origin).
        $TTL 300
        @ IN SOA ns1 hostmaster \(serial) 3600 600 1209600 60
        @ IN NS ns1
        ns1 IN A 192.0.2.53
        www IN A \(www)

        """
    }

    /// A directory of its own, removed at the end.
    final class Dir {
        let path = FileManager.default.temporaryDirectory.path + "/carousel-cache-" + UUID().uuidString
        init() { try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }

        /// Writes `text` as a new file renamed over `name` (a new inode, as editors and tools do).
        func write(_ name: String, _ text: String) throws {
            let temp = path + "/." + name + ".tmp"
            try text.write(toFile: temp, atomically: false, encoding: .utf8)
            _ = rename(temp, path + "/" + name)
        }
    }

    func www(_ cache: ZoneCache, _ origin: String) throws -> String? {
        let zone = try #require(cache.zones.first { $0.origin == (try DNSName(origin)) })
        let catalog = Catalog(zones: [zone])
        let q = Message.query(try DNSName("www." + origin), .a).encode()
        return q.withUnsafeBytes { p -> String? in
            guard case .answer(_, let node, let set, _) = catalog.lookup(p, from: Header.size, type: .a) else {
                return nil
            }
            let records = zone.nodes[node].rrsets[set].records(owner: try! DNSName("www." + origin))
            return records.first.flatMap { IPAddress(bytes: $0.rdata) }.map(\.description)
        }
    }

    @Test("a broken edit keeps the last good zone serving, reports file:line, and a fixed edit is taken")
    func lastGoodKept() throws {
        let dir = Dir()
        try dir.write("a.test.zone", Self.zone("a.test", serial: 1))
        var cache = ZoneCache()
        let first = cache.refresh(paths: [dir.path])
        #expect(first.loaded.map(\.serial) == [1] && first.errors.isEmpty)
        try dir.write("a.test.zone", Self.zone("a.test", serial: 2) + "broken IN A 192.0.2.256\n")
        let broken = cache.refresh(paths: [dir.path])
        #expect(broken.loaded.isEmpty && broken.errors.count == 1)
        #expect(broken.errors.first?.description.hasPrefix(dir.path + "/a.test.zone:7: ") == true, "\(broken.errors)")
        #expect(cache.zones.map(\.serial) == [1], "the last good version still serves")
        #expect(cache.errors.count == 1)
        try dir.write("a.test.zone", Self.zone("a.test", serial: 3, www: "192.0.2.3"))
        let fixed = cache.refresh(paths: [dir.path])
        #expect(fixed.loaded.map(\.serial) == [3] && cache.errors.isEmpty)
        #expect(try www(cache, "a.test") == "192.0.2.3")
    }

    @Test("only changed files are read again; force compares the content of every file")
    func onlyChanged() throws {
        let dir = Dir()
        try dir.write("a.test.zone", Self.zone("a.test", serial: 1))
        try dir.write("b.test.zone", Self.zone("b.test", serial: 1))
        var cache = ZoneCache()
        #expect(cache.refresh(paths: [dir.path]).loaded.count == 2)
        #expect(!cache.refresh(paths: [dir.path]).changed, "nothing moved: nothing read")
        try dir.write("b.test.zone", Self.zone("b.test", serial: 2))
        #expect(cache.refresh(paths: [dir.path]).loaded.map(\.serial) == [2])
        // The same bytes written again: read (force), but not a new version.
        try dir.write("a.test.zone", Self.zone("a.test", serial: 1))
        #expect(cache.refresh(paths: [dir.path], force: true).loaded.isEmpty)
    }

    @Test("a second file for a served origin waits (an error) and serves when the first goes")
    func clash() throws {
        let dir = Dir()
        try dir.write("a.test.zone", Self.zone("a.test", serial: 1))
        try dir.write("b.zone", Self.zone("a.test", serial: 7))
        var cache = ZoneCache()
        _ = cache.refresh(paths: [dir.path])
        #expect(cache.zones.map(\.serial) == [1])
        #expect(
            cache.errors.count == 1 && cache.errors[0].description.contains(dir.path + "/b.zone"), "\(cache.errors)")
        try FileManager.default.removeItem(atPath: dir.path + "/a.test.zone")
        let r = cache.refresh(paths: [dir.path])
        #expect(r.removed == [dir.path + "/a.test.zone"])
        #expect(cache.zones.map(\.serial) == [7] && cache.errors.isEmpty)
    }

    @Test("more records than limits.zone_records: refused at the line that passes it, the last good kept")
    func recordLimit() throws {
        let dir = Dir()
        try dir.write("a.test.zone", Self.zone("a.test", serial: 1))
        var cache = ZoneCache()
        _ = cache.refresh(paths: [dir.path], maxRecords: 4)
        try dir.write("a.test.zone", Self.zone("a.test", serial: 2) + "www2 IN A 192.0.2.2\n")
        let r = cache.refresh(paths: [dir.path], maxRecords: 4)
        #expect(r.errors.first?.description.contains("limits.zone_records") == true, "\(r.errors)")
        #expect(cache.zones.map(\.serial) == [1])
    }
}
