// `scripts/setup` as a fresh machine runs it, with stand-ins for apt-get and dpkg-query (first on
// PATH) that report every package missing and install nothing. Debian's container images already
// hold /usr/sbin/policy-rc.d; the script must then exit 0 and leave that file alone, and when
// there is none it must put one in place for the install and take it away afterwards.

import Foundation
import Testing

@Suite("scripts/setup")
struct SetupScriptTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// A directory of stand-ins: `dpkg-query` knows no package, `apt-get` logs its arguments
    /// and whether the policy file exists while it runs, `sudo` runs its arguments (for a
    /// non-root run of the suite).
    static func standIns(_ dir: TempDir, log: String, policy: String) throws -> String {
        let bin = dir.path("bin")
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let scripts = [
            "dpkg-query": "#!/bin/sh\nexit 1\n",
            "apt-get": """
            #!/bin/sh
            if [ -e "\(policy)" ]; then state=present; else state=absent; fi
            echo "apt-get $* (policy $state)" >> "\(log)"
            exit 0

            """,
            "sudo": "#!/bin/sh\nexec \"$@\"\n",
        ]
        for (name, text) in scripts {
            let path = bin + "/" + name
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        }
        return bin
    }

    static func runSetup(policyPresent: Bool) async throws -> (CommandResult, log: String, policyAfter: String?) {
        let dir = try TempDir(prefix: "setup")
        defer { dir.remove() }
        let policy = dir.path("policy-rc.d")
        let original = "#!/bin/sh\n# the image's own policy\nexit 101\n"
        if policyPresent { _ = try dir.write("policy-rc.d", original) }
        let log = dir.path("apt.log")
        let bin = try standIns(dir, log: log, policy: policy)
        let path = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let result = try await Command.run(
            "env",
            ["PATH=\(path)", "CAROUSEL_POLICY_RC=\(policy)", "bash", Self.repository.path + "/scripts/setup"],
            timeout: 60)
        return (
            result, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "",
            try? String(contentsOfFile: policy, encoding: .utf8)
        )
    }

    @Test("an existing policy-rc.d: the install succeeds, exit 0, and the file is left as it was")
    func policyAlreadyPresent() async throws {
        let (result, log, after) = try await Self.runSetup(policyPresent: true)
        #expect(result.status == 0, "scripts/setup exited \(result.status): \(result.stderr)")
        #expect(log.contains("apt-get update"), "apt-get was not asked to update: \(log)")
        #expect(log.contains("install -y -q --no-install-recommends libldns-dev"), "\(log)")
        #expect(log.contains("(policy present)"), "\(log)")
        #expect(
            after == "#!/bin/sh\n# the image's own policy\nexit 101\n",
            "the image's policy file was changed: \(after ?? "gone")")
    }

    @Test("no policy-rc.d: one is in place during the install and gone afterwards, exit 0")
    func policyAbsent() async throws {
        let (result, log, after) = try await Self.runSetup(policyPresent: false)
        #expect(result.status == 0, "scripts/setup exited \(result.status): \(result.stderr)")
        let installs = log.split(separator: "\n").filter { $0.contains("apt-get install") }
        #expect(installs.count == 1 && installs[0].hasSuffix("(policy present)"), "\(log)")
        #expect(after == nil, "the policy file the script wrote is still there: \(after ?? "")")
    }

    @Test("nothing missing: exit 0 without calling apt-get")
    func nothingMissing() async throws {
        let dir = try TempDir(prefix: "setup")
        defer { dir.remove() }
        let log = dir.path("apt.log")
        let bin = try Self.standIns(dir, log: log, policy: dir.path("policy-rc.d"))
        let dpkg = try dir.write("bin/dpkg-query", "#!/bin/sh\necho 'install ok installed'\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dpkg)
        let path = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let result = try await Command.run(
            "env", ["PATH=\(path)", "bash", Self.repository.path + "/scripts/setup", "--runtime"], timeout: 60)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: log), "apt-get ran although nothing was missing")
    }
}
