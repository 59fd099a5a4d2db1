// The same fixture zones served by NSD 4.6 (Debian) and by Carousel, the same dig queries to
// both, the responses compared: rcode, header flags, EDNS version, flags and options (Extended
// DNS Errors by code), and each section as a sorted multiset of records (owner lowercased, TTL
// exact, rdata as dig prints it). An EDE text Carousel adds where NSD sends the code alone is
// listed, not counted as a difference (RFC 8914 EXTRA-TEXT is for people). What dig cannot send
// (AXFR over UDP, AXFR with RD, a header alone) goes to both as raw bytes, compared field by field.
// The advertised UDP size and the question section as dig prints it are not compared.
// A difference is allowed per query and per field (a flag, the OPT, the EDNS options, a section),
// with its reason: every other field of that query is still compared. The count of identical
// answers is the one README.md states.

import Foundation
import Testing

@Suite("Differential against NSD")
struct DifferentialTests {
    static let zones: [(origin: String, file: String)] = [
        ("example.test", Fixtures.zone("example.test.zone")),
        ("child.example.test", Fixtures.zone("child.example.test.zone")),
        ("other.test", Fixtures.zone("other.test.zone")),
    ]

    /// dig arguments, one query each.
    static let queries: [String] = [
        // exact answers
        "www.example.test A", "www.example.test AAAA", "example.test MX", "txt.example.test TXT",
        "_sip._tcp.example.test SRV", "example.test CAA", "unknown.example.test TYPE65000", "example.test SOA",
        "example.test NS", "mail.example.test A", "ns2.example.test AAAA", "WwW.ExAmPlE.TeSt A",
        "+norec www.example.test A",
        // negative answers
        "nx.example.test A", "nx.other.test A", "www.example.test MX", "example.test TYPE65000",
        "sub.www.example.test A", "b.c.example.test A", "c.example.test A", "x.c.example.test A",
        "nx.child.example.test A", "www.child.example.test DS",
        // wildcards
        "foo.wild.example.test A", "a.b.foo.wild.example.test A", "foo.wild.example.test TXT",
        "foo.wild.example.test MX", "exists.wild.example.test A", "x.exists.wild.example.test A",
        "wild.example.test A", "*.wild.example.test A", "foo.cwild.example.test A", "foo.cwild.example.test CNAME",
        // CNAME chains
        "alias.example.test A", "alias.example.test CNAME", "toother.example.test A", "tochild.example.test A",
        "back.other.test A", "back.child.example.test A", "outside.example.test A", "loop1.example.test A",
        "toother.example.test MX",
        // DNAME (RFC 6672): synthesized CNAMEs, the owner itself, a missing target, a deeper name
        "www.old.other.test A", "WWW.Old.other.test AAAA", "nx.old.other.test A", "old.other.test DNAME",
        "old.other.test A", "alias.old.other.test A", "x.deleg.old.other.test A",
        // delegations and nested zones
        "www.deleg.example.test A", "deleg.example.test NS", "deleg.example.test A", "ns.deleg.example.test A",
        "deleg.example.test DS", "x.deleg.example.test DS", "child.example.test DS", "child.example.test NS",
        "child.example.test SOA", "www.child.example.test A", "ns1.child.example.test A",
        // outside every zone
        "www.example.com A", "test SOA", ". NS",
        // ANY
        "example.test ANY", "www.example.test ANY",
        // sizes and transports
        "+noedns many.example.test A", "+bufsize=1232 many.example.test A", "+bufsize=600 many.example.test A",
        "+bufsize=4096 huge.example.test A", "+tcp huge.example.test A", "+noedns bigtxt.example.test TXT",
        "+tcp +noedns bigtxt.example.test TXT", "+noedns www.bigdeleg.example.test A",
        "+tcp www.bigdeleg.example.test A", "+tcp nx.example.test A", "+tcp www.deleg.example.test A",
        "+tcp +noedns example.test MX",
        // EDNS, opcodes, classes
        "+edns=1 www.example.test A", "+ednsopt=65001:abcd www.example.test A", "+opcode=status example.test",
        "-c CH -t TXT version.bind", "-c CH -t TXT id.server", "+dnssec www.example.test A",
        "+dnssec nx.example.test A",
        "-c CH www.example.test A", "example.test DS", "+bufsize=512 many.example.test A",
        "-c ANY -t A -q www.example.test", "+cdflag www.example.test A", "+adflag www.example.test A",
        "+noedns tomany.example.test A", "+tcp +noedns tomany.example.test A", "child.example.test A",
        "deleg.example.test SOA",
        // Extended DNS Errors, NS answers with addresses, big referrals, refused transfers
        "-c CLASS7 www.example.test A", "-c CH -t TXT foo.bind", "+noedns www.example.com A",
        "+norec deleg.example.test NS", "+bufsize=512 www.bigdeleg.example.test A", "+noedns example.test NS",
        "+comments example.test AXFR", "+comments +noedns example.test AXFR", "+comments www.example.com AXFR",
        "+comments +notcp example.test IXFR=2024010100", "+comments example.test IXFR=2024010100",
        // EDNS Client Subnet for names outside sticky pools (NSD ignores the option)
        "+subnet=198.51.100.0/24 www.example.test A", "+subnet=198.51.100.0/24 nx.example.test A",
        "+subnet=2001:db8:1::/48 www.example.test AAAA",
    ]

    /// Queries dig cannot make, sent as bytes over UDP or TCP.
    static let rawQueries: [(label: String, query: RawQuery, tcp: Bool)] = {
        func axfr(edns: Bool, rd: Bool) -> RawQuery {
            var q = RawQuery("example.test.", type: 252)
            q.id = 0x4242
            q.rd = rd
            if edns { q.opts = [(1232, 0, [])] }
            return q
        }
        var headerOnly = RawQuery()
        headerOnly.id = 0x4343
        headerOnly.opcode = 15
        headerOnly.questions = []
        return [
            ("a header alone with opcode 15 (NOTIMP before the body)", headerOnly, false),
            ("AXFR over UDP with EDNS", axfr(edns: true, rd: true), false),
            ("AXFR over UDP without EDNS", axfr(edns: false, rd: false), false),
            ("AXFR over TCP with RD and EDNS (refused)", axfr(edns: true, rd: true), true),
        ]
    }()

    static let ecsEcho = """
        RFC 7871 §7.2.1: a server that supports ECS echoes the option with scope 0 for answers that \
        hold for every client, which is how Carousel answers names outside sticky pools; NSD 4.6 \
        ignores the option and sends none. The records and rcode are the same
        """
    static let glueTC = """
        RFC 9471 §3: in-domain glue that does not fit must set TC=1; Carousel keeps the NS set and the \
        glue that fitted, as Knot 3.2 does. NSD 4.6 sends the same records without TC
        """
    static let minimalANY = """
        RFC 8482 lets the server pick the one RRset it returns for ANY; NSD and Carousel may pick \
        different ones
        """

    /// One field in which two answers differ: `flag tc`, `OPT`, `EDNS options`, `answer`…
    struct Difference: CustomStringConvertible {
        var field: String
        var text: String
        var description: String { text }
    }

    /// Where Carousel differs from NSD on purpose: per query, the fields allowed to differ and why.
    /// Every other field of these queries is compared as for any query.
    static let allowed: [String: (fields: Set<String>, why: String)] = [
        "example.test ANY": (["answer"], minimalANY),
        "www.example.test ANY": (["answer"], minimalANY),
        "+opcode=status example.test": (
            ["OPT"],
            """
            RFC 6891 §7: a responder MUST include an OPT in its response to a request with one, which \
            Carousel does for NOTIMP too; NSD 4.6 answers other opcodes without looking at the OPT
            """
        ),
        "+cdflag www.example.test A": (
            ["flag cd"],
            """
            RFC 4035 §3.1.6: the server MUST copy the CD bit into the response; Carousel does, NSD 4.6 \
            does not
            """
        ),
        "+noedns tomany.example.test A": (
            ["answer"],
            """
            a truncated answer carries header, question and OPT only; NSD keeps the CNAME that \
            fitted. The client must retry over TCP either way (RFC 2181 §9)
            """
        ),
        "+noedns www.bigdeleg.example.test A": (["flag tc"], glueTC),
        "+subnet=198.51.100.0/24 www.example.test A": (["EDNS options"], ecsEcho),
        "+subnet=198.51.100.0/24 nx.example.test A": (["EDNS options"], ecsEcho),
        "+subnet=2001:db8:1::/48 www.example.test AAAA": (["EDNS options"], ecsEcho),
        "+bufsize=512 www.bigdeleg.example.test A": (["flag tc"], glueTC),
    ]

    /// The differences between two responses, empty when they match.
    static func differences(_ a: DigResponse, _ b: DigResponse) -> [Difference] {
        var out: [Difference] = []
        if a.status != b.status {
            out.append(.init(field: "status", text: "status \(a.status ?? "no answer") vs \(b.status ?? "no answer")"))
        }
        for flag in a.flags.symmetricDifference(b.flags).sorted() {
            let side = a.flags.contains(flag) ? "carousel" : "nsd"
            out.append(
                .init(
                    field: "flag \(flag)",
                    text: "flag \(flag) only from \(side): \(a.flags.sorted()) vs \(b.flags.sorted())"))
        }
        if (a.ednsVersion == nil) != (b.ednsVersion == nil) {
            let (x, y) = (a.ednsVersion.map(String.init) ?? "none", b.ednsVersion.map(String.init) ?? "none")
            out.append(.init(field: "OPT", text: "EDNS version \(x) vs \(y)"))
        } else if a.ednsVersion != b.ednsVersion {
            out.append(.init(field: "EDNS version", text: "EDNS version \(a.ednsVersion!) vs \(b.ednsVersion!)"))
        }
        if a.ednsFlags != b.ednsFlags {
            out.append(
                .init(field: "EDNS flags", text: "EDNS flags \(a.ednsFlags.sorted()) vs \(b.ednsFlags.sorted())"))
        }
        if a.ednsOptions.sorted() != b.ednsOptions.sorted() {
            let text = "EDNS options \(a.ednsOptions.sorted()) vs \(b.ednsOptions.sorted())"
            out.append(.init(field: "EDNS options", text: text))
        }
        for (name, x, y) in [
            ("answer", a.answer, b.answer), ("authority", a.authority, b.authority),
            ("additional", a.additional, b.additional),
        ] {
            let (sx, sy) = (x.sorted(), y.sorted())
            if sx != sy {
                let onlyA = sx.filter { !sy.contains($0) }.map(\.description)
                let onlyB = sy.filter { !sx.contains($0) }.map(\.description)
                let text = "\(name): only carousel \(onlyA), only nsd \(onlyB) (counts \(sx.count) vs \(sy.count))"
                out.append(.init(field: name, text: text))
            }
        }
        return out
    }

    /// EDE texts Carousel sends where NSD sends the code alone: listed in the report.
    static func notes(_ ours: DigResponse, _ theirs: DigResponse) -> [String] {
        ours.extendedErrors.filter { e in !e.text.isEmpty && !theirs.extendedErrors.contains { $0 == e } }.map {
            "EDE \($0.code) text only from carousel: \"\($0.text)\""
        }
    }

    /// The fields of a raw reply that both servers must agree on, by name: `rcode`, `flags`,
    /// `qdcount`, `counts` (answer/authority/additional), `question`, `OPT`, `TSIG`, `TSIG MAC`.
    static func summary(_ reply: [UInt8]?) -> [String: String] {
        guard let reply else { return ["reply": "none"] }
        guard let m = try? RawMessage(reply) else { return ["reply": "malformed"] }
        let bits: [(String, Bool)] = [("qr", m.qr), ("aa", m.aa), ("tc", m.tc), ("rd", m.rd), ("ra", m.ra)]
        var out = [
            "id": "\(m.id)", "opcode": "\(m.opcode)", "rcode": "\(m.fullRcode)",
            "flags": bits.filter(\.1).map(\.0).joined(separator: " "), "qdcount": "\(m.qdcount)",
            "counts": "\(m.ancount)/\(m.nscount)/\(m.arcount)", "question": "\(m.questionBytes)",
        ]
        if let opt = m.opt {
            var options: [String] = []
            var i = 0
            while i + 4 <= opt.rdata.count {
                let code = Int(opt.rdata[i]) << 8 | Int(opt.rdata[i + 1])
                let length = Int(opt.rdata[i + 2]) << 8 | Int(opt.rdata[i + 3])
                let data = opt.rdata[(i + 4)..<min(opt.rdata.count, i + 4 + length)]
                // An EDE by its INFO-CODE (the text is for people), every other option whole.
                options.append(
                    code == 15 && data.count >= 2
                        ? "EDE \(Int(data.first!) << 8 | Int(data.dropFirst().first!))"
                        : "option \(code) \(Array(data))")
                i += 4 + length
            }
            out["OPT"] = "version \(m.ednsVersion ?? 0) options \(options)"
        } else {
            out["OPT"] = "none"
        }
        if let tsig = m.additional.last, tsig.type == 250 {
            let (record, lengths) = TSIGSigner.summary(tsig)
            out["TSIG"] = record
            out["TSIG MAC"] = lengths
        }
        return out
    }

    /// The fields in which two summaries differ, each as `field: ours vs theirs`.
    static func fieldDifferences(_ a: [String: String], _ b: [String: String]) -> [Difference] {
        Set(a.keys).union(b.keys).sorted().compactMap { field in
            let (x, y) = (a[field] ?? "none", b[field] ?? "none")
            return x == y ? nil : Difference(field: field, text: "\(field): \(x) vs \(y)")
        }
    }

    @Test("the same answers as NSD")
    func sameAsNSD() async throws {
        try Peers.require("nsd")
        #expect(Self.queries.count >= 40)
        let carousel = try await sharedCarousel()
        try await withNSD(zones: Self.zones) { nsd in
            var identical = 0
            var report: [String] = []
            var unexpected: [String] = []
            for query in Self.queries {
                let arguments = query.split(separator: " ").map(String.init)
                async let ours = Dig.query(carousel, arguments)
                async let theirs = Dig.query(nsd.endpoint, arguments)
                let diff = Self.differences(try await ours, try await theirs)
                for note in Self.notes(try await ours, try await theirs) {
                    report.append("  note     \(query): \(note)")
                }
                let allowance = Self.allowed[query]
                let beyond = diff.filter { !(allowance?.fields.contains($0.field) ?? false) }
                if diff.isEmpty {
                    identical += 1
                    if allowance != nil {
                        report.append("  same     \(query) (allowed to differ, but does not)")
                    }
                } else if beyond.isEmpty, let allowance {
                    let text = diff.map(\.text).joined(separator: "; ")
                    report.append("  allowed  \(query): \(text)\n           why: \(allowance.why)")
                } else {
                    report.append("  DIFFERS  \(query): \(beyond.map(\.text).joined(separator: "; "))")
                    report.append("carousel said:\n\(try await ours)\nnsd said:\n\(try await theirs)")
                    unexpected.append(query)
                }
            }
            for raw in Self.rawQueries {
                let bytes = raw.query.bytes
                async let ours =
                    raw.tcp ? TCPConnection.exchange(bytes, with: carousel) : UDP.exchange(bytes, with: carousel)
                async let theirs =
                    raw.tcp
                    ? TCPConnection.exchange(bytes, with: nsd.endpoint) : UDP.exchange(bytes, with: nsd.endpoint)
                let diff = Self.fieldDifferences(Self.summary(try await ours), Self.summary(try await theirs))
                if diff.isEmpty {
                    identical += 1
                } else {
                    report.append("  DIFFERS  raw \(raw.label): \(diff.map(\.text).joined(separator: "; "))")
                    unexpected.append(raw.label)
                }
            }
            let total = Self.queries.count + Self.rawQueries.count
            let score = "differential: \(identical)/\(total) identical"
            print(([score] + report).joined(separator: "\n"))
            try? ([score] + report).joined(separator: "\n").write(
                toFile: FileManager.default.temporaryDirectory.appendingPathComponent("carousel-differential.txt").path,
                atomically: true, encoding: .utf8)
            let foreign = await SharedCarousel.shared.foreignSockets()
            #expect(foreign.isEmpty, "another process shares carousel's port, the comparison is void: \(foreign)")
            let log = unexpected.isEmpty ? "" : "\ncarousel log:\n\(await SharedCarousel.shared.log())"
            #expect(unexpected.isEmpty, "\(score); unexpected differences:\n\(report.joined(separator: "\n"))\(log)")
            // The figure the README gives is this test's.
            let stated = try Self.readmeFigure(#"\*\*(\d+) of (\d+)\s+identical\*\*"#)
            #expect(
                stated == [identical, total],
                "README.md states \(stated) identical of all; this run: \(identical) of \(total)")
        }
    }

    /// The numbers of the first match of `pattern` in README.md (the repository's, found from this file).
    static func readmeFigure(_ pattern: String) throws -> [Int] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let regex = try NSRegularExpression(pattern: pattern)
        let range = NSRange(readme.startIndex..., in: readme)
        guard let m = regex.firstMatch(in: readme, range: range) else {
            throw HarnessError("README.md has no figure matching \(pattern)")
        }
        return (1..<m.numberOfRanges).compactMap { Range(m.range(at: $0), in: readme).flatMap { Int(readme[$0]) } }
    }
}
