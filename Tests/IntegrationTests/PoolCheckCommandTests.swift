// `carousel check` on a pool without records. It lived in CheckKindsTests.swift: the main batch
// of scripts/test skipped it (its --skip matches that file's name) and the failover batch's filter
// did not take it (the suite's name is another), so it ran in no batch until scripts/test began
// comparing what ran with `swift test list`, test by test.

import Foundation
import Testing

@Suite("carousel check: pools")
struct PoolCheckCommandTests {
    @Test("a pool whose name has no A or AAAA records: carousel.yaml:LINE: pools: NAME has no … records")
    func poolWithoutRecords() async throws {
        let files = try LBFiles(["www": LBFiles.aRecords(BackendNet.addresses())])
        defer { files.remove() }
        let good = try files.dir.write(
            "good.yaml",
            """
            zones: "\(files.zones)"
            pools:
              - name: www.lb.test
                check: {type: none}
            """)
        let ok = try await Command.run(CarouselServer.binary, ["check", "--config", good])
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")

        let config = try files.dir.write(
            "carousel.yaml",
            """
            zones: "\(files.zones)"
            pools:
              - name: www.lb.test
                check: {type: none}
              - name: nothing.lb.test
                check: {type: none}
            """)
        let result = try await Command.run(CarouselServer.binary, ["check", "--config", config])
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(
            lines.contains("\(config):5: pools: nothing.lb.test has no A or AAAA records in any zone"),
            "\(result.stderr)")
        #expect(!result.stderr.contains("www.lb.test"), "the pool with records is fine\n\(result.stderr)")
    }
}
