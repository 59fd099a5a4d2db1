// TSIG on ordinary queries (RFC 8945 §5.2), compared with NSD 4.6 and Knot 3.2 serving the same
// zone with the same key: a key the server does not know, an algorithm it does not know for that
// key, a wrong MAC, a time outside the fudge, and a good signature. Each reply is compared field
// by field (header, counts, question, OPT, and the TSIG's key, algorithm, error and the lengths
// of its MAC and other data).

import Foundation
import Testing

extension DifferentialTests {
    static let secret = Array(Data(base64Encoded: TestKey.secret)!)
    static let wrongSecret = Array(Data(base64Encoded: TestKey.wrongSecret)!)

    /// The signed queries, each made anew (the time is now, unless the case says otherwise).
    static func signedQueries(now: UInt64) -> [(label: String, bytes: [UInt8], tcp: Bool)] {
        func query(_ id: UInt16) -> [UInt8] {
            var q = RawQuery("example.test.", type: 6)
            q.id = id
            q.rd = false
            return q.bytes
        }
        func signed(
            _ id: UInt16, key: String = TestKey.name, algorithm: String = "hmac-sha256", secret: [UInt8] = secret,
            time: UInt64? = nil
        ) -> [UInt8] {
            TSIGSigner.sign(query(id), keyName: key, algorithm: algorithm, secret: secret, time: time ?? now)
        }
        return [
            ("a key the server does not know (BADKEY)", signed(0x5101, key: "unknown-key"), false),
            ("the key's name with another algorithm (BADKEY)", signed(0x5102, algorithm: "hmac-sha512"), false),
            ("a wrong MAC (BADSIG)", signed(0x5103, secret: wrongSecret), false),
            ("signed 20 minutes ago, fudge 300 s (BADTIME)", signed(0x5104, time: now - 1200), false),
            ("signed right: answered and signed", signed(0x5105), false),
            ("signed right over TCP", signed(0x5106), true),
            ("a key the server does not know, over TCP", signed(0x5107, key: "unknown-key"), true),
        ]
    }

    static let nsdClearsQuestion = """
        NSD 4.6 clears the question of a TSIG error reply; Knot 3.2 keeps it, as Carousel does (RFC \
        8945 §5.2 says neither)
        """

    /// Where Carousel differs from a peer on purpose: by peer and query, the fields and why.
    static let tsigAllowed: [String: (fields: Set<String>, why: String)] = [
        "nsd a key the server does not know (BADKEY)": (["qdcount", "question"], nsdClearsQuestion),
        "nsd a key the server does not know, over TCP": (["qdcount", "question"], nsdClearsQuestion),
        "nsd a wrong MAC (BADSIG)": (["qdcount", "question"], nsdClearsQuestion),
        "nsd signed 20 minutes ago, fudge 300 s (BADTIME)": (
            ["qdcount", "question", "TSIG MAC"],
            nsdClearsQuestion + """
                ; and RFC 8945 §5.2.3: the server SHOULD sign a BADTIME reply, which Carousel and Knot \
                do and NSD 4.6 does not
                """
        ),
        "nsd the key's name with another algorithm (BADKEY)": (
            ["rcode", "flags", "counts", "TSIG", "TSIG MAC"],
            """
            RFC 8945 §5.2.1: an algorithm the key does not have is BADKEY, as Carousel and Knot 3.2 \
            answer; NSD 4.6 finds the key by its name alone and answers the query signed with the \
            algorithm it names
            """
        ),
    ]

    @Test(
        "TSIG on ordinary queries: unknown key or algorithm, wrong MAC, old time, good signature, as NSD and Knot answer"
    )
    func tsigAsNSDAndKnot() async throws {
        try Peers.require("nsd", "knotd")
        let file = Fixtures.zone("example.test.zone")
        let zone = try String(contentsOfFile: file, encoding: .utf8)
        var identical = 0
        var total = 0
        var report: [String] = []
        var unexpected: [String] = []
        // The shared Carousel has no key at all: a signed query must still be judged (BADKEY).
        let keyless = try await sharedCarousel()
        try await withConfiguredCarousel(zones: ["example.test.zone": zone], config: TestKey.yaml) { carousel in
            for kind in [TransferPeer.Kind.nsd, .knot] {
                let zones = [TransferPeer.Zone(origin: "example.test.", file: file, key: true)]
                try await withPeer(kind, port: try Ports.free(), zones: zones) { peer in
                    try await peer.waitForZone("example.test.")
                    let queries = Self.signedQueries(now: UInt64(Date().timeIntervalSince1970))
                    let cases =
                        queries.map { (server: carousel.endpoint, label: $0.label, bytes: $0.bytes, tcp: $0.tcp) }
                        + queries.filter { $0.label.contains("does not know") }.map {
                            (server: keyless, label: $0.label, bytes: $0.bytes, tcp: $0.tcp)
                        }
                    for q in cases {
                        async let ours =
                            q.tcp
                            ? TCPConnection.exchange(q.bytes, with: q.server) : UDP.exchange(q.bytes, with: q.server)
                        async let theirs =
                            q.tcp
                            ? TCPConnection.exchange(q.bytes, with: peer.endpoint)
                            : UDP.exchange(q.bytes, with: peer.endpoint)
                        let (a, b) = (Self.summary(try await ours), Self.summary(try await theirs))
                        let diff = Self.fieldDifferences(a, b)
                        let allowance = Self.tsigAllowed["\(kind) \(q.label)"]
                        let label = "\(kind) \(q.label)\(q.server == keyless ? " (to a Carousel with no key)" : "")"
                        let beyond = diff.filter { !(allowance?.fields.contains($0.field) ?? false) }
                        total += 1
                        if diff.isEmpty {
                            identical += 1
                            report.append("  same     \(label): \(a["TSIG"] ?? "no TSIG"), \(a["TSIG MAC"] ?? "")")
                            if allowance != nil { report.append("           (allowed to differ, but does not)") }
                        } else if beyond.isEmpty, let allowance {
                            let text = diff.map(\.text).joined(separator: "; ")
                            report.append("  allowed  \(label): \(text)\n           why: \(allowance.why)")
                        } else {
                            report.append("  DIFFERS  \(label): \(beyond.map(\.text).joined(separator: "; "))")
                            unexpected.append(label)
                        }
                    }
                }
            }
        }
        // The clients operators use: dig -y and kdig -y, with a key the keyless Carousel does not know
        // (kdig shows NOTAUTH with the TSIG's error as "status: BADKEY").
        let dig = try await Dig.run(
            keyless, ["-y", "hmac-sha256:unknown-key:\(TestKey.secret)", "example.test", "SOA"])
        #expect(
            dig.stdout.contains("status: NOTAUTH") && dig.stdout.contains("BADKEY"),
            "dig -y against a Carousel with no key:\n\(dig.stdout)\(dig.stderr)")
        let kdig = try await Command.run(
            "kdig",
            [
                "@\(keyless.host)", "-p", "\(keyless.port)", "+retry=0", "+timeout=2", "-y",
                "hmac-sha256:unknown-key:\(TestKey.secret)", "example.test", "SOA",
            ])
        #expect(
            kdig.stdout.contains("status: BADKEY") && kdig.stdout.contains("TSIG\thmac-sha256."),
            "kdig -y against a Carousel with no key:\n\(kdig.stdout)\(kdig.stderr)")
        let score = "differential TSIG: \(identical)/\(total) identical"
        print(([score] + report).joined(separator: "\n"))
        #expect(unexpected.isEmpty, "\(score)\n\(report.joined(separator: "\n"))")
        let stated = try Self.readmeFigure(#"\*\*(\d+) of (\d+) signed\s+queries\*\*"#)
        #expect(stated == [identical, total], "README.md states \(stated); this run: \(identical) of \(total)")
    }
}
