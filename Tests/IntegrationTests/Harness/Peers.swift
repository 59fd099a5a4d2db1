// The real peers a test needs (NSD, Knot, Unbound, dnsperf, HAProxy, Chromium…) are required,
// never optional: `scripts/test` installs them (scripts/setup), so a missing one is a failure
// that names it, not a test that skips or runs zero cases.

import Foundation

enum Peers {
    /// The path of each tool, or an error naming the missing ones.
    @discardableResult
    static func require(_ tools: String...) throws -> [String] {
        let missing = tools.filter { Command.which($0) == nil }
        guard missing.isEmpty else {
            throw HarnessError(
                "\(missing.joined(separator: ", ")) not installed: the test needs \(missing.count == 1 ? "it" : "them") (scripts/setup installs every peer the tests use)"
            )
        }
        return tools.compactMap(Command.which)
    }
}
