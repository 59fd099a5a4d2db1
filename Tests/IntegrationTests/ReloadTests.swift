// Hot reload of zone files, with real processes: each way of editing a file is picked up
// by the watcher within 2 s, a broken edit never reaches a client, files come and go, and SIGHUP
// and `carousel reload` force a reload.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Hot reload: zone files", .serialized)
struct ReloadTests {
    static let origin = "example.net."
    static let file = "example.net.zone"

    @Test("an edit (new record, serial bumped) is answered within 2 s", arguments: EditMode.allCases)
    func editIsServed(_ mode: EditMode) async throws {
        let zone1 = reloadZone(Self.origin, serial: 1)
        let zone2 = reloadZone(Self.origin, serial: 2, extra: ["added 60 IN A 192.0.2.77"])
        try await withConfiguredCarousel(zones: [Self.file: zone1], config: "") { server in
            let path = server.zoneFile(Self.file)
            let before = try await Dig.query(server.endpoint, "added.example.net", "A")
            #expect(before.status == "NXDOMAIN", "\(before)\n\(server.log)")
            let inode = FileEdit.inode(path)

            let started = ContinuousClock.now
            let edited = try await FileEdit.write(zone2, to: path, mode: mode) {
                // The empty file in between is never served: the old zone answers meanwhile.
                try await Task.sleep(for: .milliseconds(100))
                let during = try await Dig.query(server.endpoint, "www.example.net", "A")
                #expect(during.status == "NOERROR" && during.addresses == ["192.0.2.1"], "\(during)\n\(server.log)")
            }
            let sameInode = FileEdit.inode(path) == inode
            #expect(sameInode == (mode != .renameOver), "inode kept: \(sameInode)")

            let served = try await Poll.dig(server.endpoint, ["added.example.net", "A"], since: edited, limit: 10) {
                $0.status == "NOERROR" && $0.addresses == ["192.0.2.77"]
            }
            report(
                "\(mode.rawValue): the new record answered \(secs(served.seconds)) after the write "
                    + "(\(secs(Poll.seconds(since: started))) after the edit began)")
            #expect(served.seconds < 2, "\(mode.rawValue): took \(secs(served.seconds))\n\(server.log)")
            let soa = try await Dig.query(server.endpoint, "example.net", "SOA")
            #expect(soa.answer.first?.rdata.contains(" 2 ") == true, "the new serial\n\(soa)")
            #expect(server.process.isRunning)
        }
    }

    @Test("a broken edit (bad rdata on line N): the old data keeps answering, the log says file:N:, the fix is served")
    func brokenEdit() async throws {
        let zone1 = reloadZone(Self.origin, serial: 1)
        let broken = reloadZone(
            Self.origin, serial: 2, www: ["192.0.2.2"], extra: ["added 60 IN A 192.0.2.77", "bad 60 IN A 192.0.2.999"])
        let badLine = lineNumber(of: "192.0.2.999", in: broken)
        let fixed = reloadZone(Self.origin, serial: 3, www: ["192.0.2.2"], extra: ["added 60 IN A 192.0.2.77"])
        try await withConfiguredCarousel(zones: [Self.file: zone1], config: "") { server in
            let path = server.zoneFile(Self.file)
            try await FileEdit.write(broken, to: path, mode: .renameOver)
            let needle = "\(Self.file):\(badLine):"
            #expect(try await server.waitForLog(needle, timeout: 5), "the log names \(needle)\n\(server.log)")
            report("broken edit logged as: \(server.logLines(containing: needle).first ?? "nothing")")
            // Still the old zone, for a while (several polls).
            for _ in 0..<3 {
                let www = try await Dig.query(server.endpoint, "www.example.net", "A")
                #expect(www.status == "NOERROR" && www.addresses == ["192.0.2.1"], "the old www\n\(www)\n\(server.log)")
                let added = try await Dig.query(server.endpoint, "added.example.net", "A")
                #expect(added.status == "NXDOMAIN", "nothing of the broken version\n\(added)")
                try await Task.sleep(for: .milliseconds(400))
            }
            let soa = try await Dig.query(server.endpoint, "example.net", "SOA")
            #expect(soa.answer.first?.rdata.contains(" 1 ") == true, "still serial 1\n\(soa)")

            let edited = try await FileEdit.write(fixed, to: path, mode: .inPlace)
            let served = try await Poll.dig(server.endpoint, ["added.example.net", "A"], since: edited, limit: 10) {
                $0.addresses == ["192.0.2.77"]
            }
            report("after the fix: served \(secs(served.seconds)) after the write")
            #expect(served.seconds < 2, "\(server.log)")
            let www = try await Dig.query(server.endpoint, "www.example.net", "A")
            #expect(www.addresses == ["192.0.2.2"], "\(www)")
        }
    }

    @Test("a new zone file starts being served; a deleted one stops (REFUSED)")
    func addAndDelete() async throws {
        let net = reloadZone(Self.origin, serial: 1)
        let org = reloadZone("example.org.", serial: 1, www: ["192.0.2.50"])
        try await withConfiguredCarousel(zones: [Self.file: net], config: "") { server in
            let before = try await Dig.query(server.endpoint, "www.example.org", "A")
            #expect(before.status == "REFUSED", "not ours yet\n\(before)")

            let orgPath = server.zoneFile("example.org.zone")
            let added = try await FileEdit.write(org, to: orgPath, mode: .renameOver)
            let served = try await Poll.dig(server.endpoint, ["www.example.org", "A"], since: added, limit: 10) {
                $0.status == "NOERROR" && $0.addresses == ["192.0.2.50"] && $0.aa
            }
            report("new zone file: served \(secs(served.seconds)) after it appeared")
            #expect(served.seconds < 2, "\(server.log)")

            let removedAt = ContinuousClock.now
            try FileManager.default.removeItem(atPath: orgPath)
            let refused = try await Poll.dig(server.endpoint, ["www.example.org", "A"], since: removedAt, limit: 10) {
                $0.status == "REFUSED"
            }
            report("deleted zone file: REFUSED \(secs(refused.seconds)) after the unlink")
            #expect(refused.seconds < 2, "\(server.log)")
            #expect(!refused.response.aa, "\(refused.response)")
            #expect(server.log.contains("no longer served"), "the removal is logged\n\(server.log)")
            // The other zone is untouched.
            let net = try await Dig.query(server.endpoint, "www.example.net", "A")
            #expect(net.status == "NOERROR" && net.addresses == ["192.0.2.1"], "\(net)")
        }
    }

    @Test("content changed, serial not: the new content is served and a warning names the file")
    func serialUnchanged() async throws {
        let zone1 = reloadZone(Self.origin, serial: 7)
        let zone2 = reloadZone(Self.origin, serial: 7, extra: ["added 60 IN A 192.0.2.77"])
        try await withConfiguredCarousel(zones: [Self.file: zone1], config: "") { server in
            let path = server.zoneFile(Self.file)
            let edited = try await FileEdit.write(zone2, to: path, mode: .inPlace)
            let served = try await Poll.dig(server.endpoint, ["added.example.net", "A"], since: edited, limit: 10) {
                $0.addresses == ["192.0.2.77"]
            }
            #expect(served.seconds < 2, "\(server.log)")
            #expect(try await server.waitForLog("serial did not", timeout: 3), "\(server.log)")
            let warnings = server.logLines(containing: "serial did not")
            report("serial unchanged: \(warnings.first ?? "no warning")")
            #expect(warnings.contains { $0.contains(path) && $0.contains("warning") }, "\(server.log)")
        }
    }

    @Test("SIGHUP reloads at once: logged, and the edit is served")
    func sighup() async throws {
        let zone1 = reloadZone(Self.origin, serial: 1)
        let zone2 = reloadZone(Self.origin, serial: 2, extra: ["added 60 IN A 192.0.2.77"])
        try await withConfiguredCarousel(zones: [Self.file: zone1], config: "") { server in
            try await FileEdit.write(zone2, to: server.zoneFile(Self.file), mode: .renameOver)
            kill(server.pid, SIGHUP)
            let sent = ContinuousClock.now
            let served = try await Poll.dig(server.endpoint, ["added.example.net", "A"], since: sent, limit: 10) {
                $0.addresses == ["192.0.2.77"]
            }
            report("SIGHUP: served \(secs(served.seconds)) after the signal")
            #expect(try await server.waitForLog("reload requested", timeout: 5), "\(server.log)")
            #expect(server.process.isRunning)
        }
    }

    @Test("carousel reload --admin URL: exit 0, and the edit is served when it returns")
    func reloadCommand() async throws {
        let zone1 = reloadZone(Self.origin, serial: 1)
        let zone2 = reloadZone(Self.origin, serial: 2, extra: ["added 60 IN A 192.0.2.77"])
        try await withConfiguredCarousel(zones: [Self.file: zone1], config: "") { server in
            try await FileEdit.write(zone2, to: server.zoneFile(Self.file), mode: .renameOver)
            let started = ContinuousClock.now
            let result = try await Command.run(CarouselServer.binary, ["reload", "--admin", server.adminURL])
            report(
                "carousel reload: exit \(result.status) after \(secs(Poll.seconds(since: started))): \(result.stdout)")
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)\n\(server.log)")
            #expect(result.stdout.contains("reloaded"), "\(result.stdout)")
            let added = try await Dig.query(server.endpoint, "added.example.net", "A")
            #expect(added.addresses == ["192.0.2.77"], "served as soon as the command returns\n\(added)\n\(server.log)")
            #expect(server.log.contains("reload requested"), "\(server.log)")
        }
    }

    /// An edit the watcher cannot see (same inode, size and modification time, as `touch -r`
    /// after an edit, or `cp -p`/`rsync -t` of a same-size file) is what SIGHUP and
    /// `carousel reload` exist for: a forced reload compares every file's content.
    @Test("SIGHUP and carousel reload re-read a file whose size, inode and mtime did not change")
    func forcedReloadOfInvisibleEdit() async throws {
        let zone1 = reloadZone(Self.origin, serial: 1, www: ["192.0.2.1"])
        let zone2 = reloadZone(Self.origin, serial: 2, www: ["192.0.2.2"])
        let zone3 = reloadZone(Self.origin, serial: 3, www: ["192.0.2.3"])
        #expect(zone1.utf8.count == zone2.utf8.count && zone2.utf8.count == zone3.utf8.count)
        try await withConfiguredCarousel(zones: [Self.file: zone1], config: "") { server in
            let path = server.zoneFile(Self.file)
            for (next, address, how) in [(zone2, "192.0.2.2", "SIGHUP"), (zone3, "192.0.2.3", "carousel reload")] {
                let mtime = try FileEdit.mtime(path)
                try FileEdit.overwrite(path, Data(next.utf8))
                try FileEdit.setMtime(path, mtime)
                try await Task.sleep(for: .milliseconds(1200))  // two polls: they see nothing new
                if how == "SIGHUP" {
                    kill(server.pid, SIGHUP)
                } else {
                    let result = try await Command.run(CarouselServer.binary, ["reload", "--admin", server.adminURL])
                    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
                }
                let served = try? await Poll.dig(server.endpoint, ["www.example.net", "A"], limit: 3) {
                    $0.addresses == [address]
                }
                report(
                    "\(how) after an edit with inode, size and mtime unchanged: "
                        + (served.map { "served after \(secs($0.seconds))" } ?? "NOT served within 3 s"))
                #expect(served != nil, "\(how) did not re-read the file\n\(server.log)")
            }
        }
    }

    /// `$INCLUDE` works at load time (README); an edit to the included file must reach clients
    /// like any other zone edit: the watcher follows the included files too.
    @Test("an edit to an $INCLUDEd file is served (watcher within 2 s, else after SIGHUP)")
    func includedFileEdit() async throws {
        let zone = reloadZone(Self.origin, serial: 1) + "$INCLUDE hosts.inc\n"
        let files = [Self.file: zone, "hosts.inc": "inc 60 IN A 192.0.2.50\n"]
        try await withConfiguredCarousel(zones: files, config: "") { server in
            let before = try await Dig.query(server.endpoint, "inc.example.net", "A")
            #expect(before.addresses == ["192.0.2.50"], "the include is read at the start\n\(before)\n\(server.log)")

            let written = try await FileEdit.write(
                "inc 60 IN A 192.0.2.51\n", to: server.zoneFile("hosts.inc"), mode: .renameOver)
            let watched = try? await Poll.dig(server.endpoint, ["inc.example.net", "A"], since: written, limit: 3) {
                $0.addresses == ["192.0.2.51"]
            }
            kill(server.pid, SIGHUP)
            let forced = try? await Poll.dig(server.endpoint, ["inc.example.net", "A"], limit: 3) {
                $0.addresses == ["192.0.2.51"]
            }
            report(
                "edit of an $INCLUDEd file: watcher "
                    + (watched.map { "served after \(secs($0.seconds))" } ?? "never (3 s)")
                    + ", then SIGHUP " + (forced.map { "served after \(secs($0.seconds))" } ?? "never (3 s)"))
            #expect(watched != nil && watched!.seconds < 2, "the watcher missed the include's edit\n\(server.log)")
            #expect(forced != nil, "SIGHUP did not re-read the include\n\(server.log)")
        }
    }

    /// Two files for one origin: the first (by name) is served and the second reported. Deleting
    /// the first must let the second serve, as a new file would (the second keeps its zone,
    /// unserved, while the clash lasts).
    @Test("two files for one origin: deleting the served one lets the other serve")
    func duplicateOriginTakesOver() async throws {
        let first = reloadZone(Self.origin, serial: 1, www: ["192.0.2.1"])
        let second = reloadZone(Self.origin, serial: 2, www: ["192.0.2.2"])
        try await withConfiguredCarousel(zones: ["a.zone": first, "b.zone": second], config: "") { server in
            let before = try await Dig.query(server.endpoint, "www.example.net", "A")
            #expect(before.addresses == ["192.0.2.1"], "a.zone wins\n\(before)\n\(server.log)")
            #expect(server.log.contains("b.zone:1: zone example.net. is already served from"), "\(server.log)")

            let removed = ContinuousClock.now
            try FileManager.default.removeItem(atPath: server.zoneFile("a.zone"))
            let served = try? await Poll.dig(server.endpoint, ["www.example.net", "A"], since: removed, limit: 3) {
                $0.addresses == ["192.0.2.2"]
            }
            let after = try await Dig.query(server.endpoint, "www.example.net", "A")
            report(
                "duplicate origin, served file deleted: "
                    + (served.map { "b.zone served after \(secs($0.seconds))" }
                        ?? "\(after.status ?? "no answer") 3 s later"))
            #expect(served != nil && served!.seconds < 2, "\(after)\n\(server.log)")
        }
    }
}
