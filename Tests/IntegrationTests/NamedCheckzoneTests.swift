// Every fixture zone, good and broken, and the zones served by default, judged by BIND's
// named-checkzone (bind9-utils) and by `carousel check`: the same verdict, or a difference listed
// here with its reason, where named-checkzone reports the same problem but loads the zone anyway.

import Foundation
import Testing

@Suite("carousel check beside named-checkzone")
struct NamedCheckzoneTests {
    /// Where Carousel refuses a zone that named-checkzone loads: the file, what named-checkzone
    /// prints about the same problem, and why Carousel refuses.
    static let stricter: [String: (named: String, why: String)] = [
        "bad-glue.test.zone": (
            "has no REQUIRED GLUE address records",
            """
            named-checkzone reports the missing glue and still loads the zone; Carousel refuses it, as \
            a referral to a name server with no address is useless to every resolver (RFC 1034 §4.2.1)
            """
        ),
        "bad-outside.test.zone": (
            "ignoring out-of-zone data",
            """
            named-checkzone drops a record outside the zone with a warning; Carousel refuses the zone \
            rather than serve less than the file says
            """
        ),
    ]

    /// Each zone file with the origin named-checkzone must be told (Carousel infers it).
    static func files() -> [(path: String, origin: String)] {
        var out: [(String, String)] = []
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let dirs = [
            Fixtures.root.appendingPathComponent("zones").path, Fixtures.root.appendingPathComponent("broken").path,
            Fixtures.root.appendingPathComponent("origins").path, root.appendingPathComponent("zones").path,
        ]
        for dir in dirs {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            for name in names.sorted() where name.hasSuffix(".zone") {
                // soa-owner.zone's origin is its SOA owner: the file name is not a domain.
                let origin = name == "soa-owner.zone" ? "bysoa.test" : String(name.dropLast(".zone".count))
                out.append((dir + "/" + name, origin))
            }
        }
        return out
    }

    @Test("the same verdict as named-checkzone for every fixture zone, or a listed reason")
    func sameVerdicts() async throws {
        try Peers.require("named-checkzone")
        let files = Self.files()
        #expect(files.count >= 12, "\(files.map(\.path))")
        var report: [String] = []
        var same = 0
        for (path, origin) in files {
            let name = URL(fileURLWithPath: path).lastPathComponent
            let named = try await Command.run("named-checkzone", [origin, path])
            let ours = try await Command.run(CarouselServer.binary, ["check", "--zones", path])
            let (namedOK, oursOK) = (named.status == 0, ours.status == 0)
            let namedSays = (named.stdout + named.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
            if let listed = Self.stricter[name] {
                #expect(
                    namedOK && !oursOK && namedSays.contains(listed.named),
                    "\(name): listed as refused by Carousel only, with named-checkzone saying \"\(listed.named)\"\nnamed-checkzone: \(namedSays)\ncarousel: \(ours.stderr)"
                )
                report.append("  stricter \(name): \(listed.why)")
            } else {
                #expect(
                    namedOK == oursOK,
                    "\(name): named-checkzone \(namedOK ? "loads" : "refuses") it, carousel check \(oursOK ? "loads" : "refuses") it\nnamed-checkzone: \(namedSays)\ncarousel: \(ours.stderr)"
                )
                if namedOK == oursOK { same += 1 }
                report.append("  \(namedOK ? "loaded " : "refused") \(name)")
            }
        }
        report.insert("named-checkzone: \(same) of \(files.count) zones judged alike", at: 0)
        print(report.joined(separator: "\n"))
        let stated = try DifferentialTests.readmeFigure(#"the same verdict on (\d+) of (\d+)"#)
        #expect(stated == [same, files.count], "README.md states \(stated); this run: \(same) of \(files.count)")
    }
}
