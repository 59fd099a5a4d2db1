import DNSWire
import Testing
import Transfer

@testable import CarouselConfig

/// `fleet:` read into `FleetSettings`, and every mistake the file alone shows at its line.
@Suite struct FleetConfigTests {
    static let keys = """
        tsig_keys:
          - { name: fleet, secret: "ZmxlZXQtc2VjcmV0LTAxMjM0NTY3ODlhYmNkZWY=" }

        """

    func errors(_ text: String) -> [String] {
        switch Config.parse(Self.keys + text, file: "carousel.yaml") {
        case .success: return []
        case .failure(let e): return e.errors.map(\.description)
        }
    }

    @Test func theIssueExampleParses() throws {
        let text =
            Self.keys + """
                fleet:
                  members:
                    - { id: ns1, address: "10.0.0.1:53" }
                    - { id: ns2, address: "10.0.0.2:53" }
                    - { id: ns3, address: "10.0.0.3" }
                  self: ns1
                  tsig: fleet
                  quorum: majority
                  stale_after: 3s
                """
        let c = try Config.parse(text, file: "carousel.yaml").get()
        let f = try #require(c.fleet)
        #expect(f.members.map(\.id) == ["ns1", "ns2", "ns3"])
        #expect(f.members[2].address == HostPort(host: "10.0.0.3", port: 53))
        #expect(f.selfID == "ns1" && f.quorum == .majority && f.staleAfter == .seconds(3))
        #expect(f.key.name == (try DNSName("fleet.")))
        #expect(c.lines.fleet == 4)
        let counted = try Config.parse(text.replacingOccurrences(of: "quorum: majority", with: "quorum: 2"), file: "c")
            .get()
        #expect(counted.fleet?.quorum == .count(2))
        let share = try Config.parse(
            text.replacingOccurrences(of: "quorum: majority", with: "quorum: \"34%\""), file: "c"
        )
        .get()
        #expect(share.fleet?.quorum == .percent(34))
    }

    @Test func mistakesAreReportedAtTheirLine() {
        let e = errors(
            """
            fleet:
              members:
                - { id: ns1, address: "10.0.0.1:53" }
                - { id: ns1, address: "10.0.0.2:53" }
                - { id: NS_3, address: "10.0.0.3:53" }
                - { id: ns4, address: "10.0.0.1:53" }
                - { id: ns5, address: "ns5.example.net:53" }
              self: ns9
              tsig: nokey
              quorum: 9
            """)
        #expect(e.contains("carousel.yaml:6: fleet.members[1].id: ns1 is already a member at line 5"), "\(e)")
        #expect(
            e.contains { $0.hasPrefix("carousel.yaml:7: fleet.members[2].id: \"NS_3\" is not a DNS label") }, "\(e)")
        #expect(
            e.contains { $0.hasPrefix("carousel.yaml:8: fleet.members[3].address: 10.0.0.1:53 is already a member's") },
            "\(e)")
        #expect(e.contains { $0.hasPrefix("carousel.yaml:9: fleet.members[4].address:") }, "\(e)")
        #expect(e.contains { $0.hasPrefix("carousel.yaml:10: fleet.self: ns9 is not one of the members") }, "\(e)")
        #expect(e.contains("carousel.yaml:11: fleet.tsig: no key named nokey in tsig_keys"), "\(e)")
        #expect(e.contains { $0.hasPrefix("carousel.yaml:12: fleet.quorum: 9 can never be met by 3 members") }, "\(e)")
    }

    @Test func aFleetNeedsTwoMembersAKeyAndAQuorumItCanMeet() {
        let one = errors("fleet:\n  members: [{ id: ns1, address: \"10.0.0.1:53\" }]\n  tsig: fleet\n")
        #expect(one == ["carousel.yaml:4: fleet.members: a fleet needs at least two members"], "\(one)")
        let unsigned = errors(
            "fleet:\n  members: [{ id: a, address: \"10.0.0.1:53\" }, { id: b, address: \"10.0.0.2:53\" }]\n")
        #expect(
            unsigned == ["carousel.yaml:4: fleet.tsig: a fleet's exchanges must be signed: name a key of tsig_keys"])
        for (quorum, message) in [
            ("0", "0: at least one observer must see a target down"), ("\"0%\"", "0%: a percentage from 1% to 100%"),
            ("most", "\"most\" is not majority, a count or a percentage"),
        ] {
            let e = errors(
                "fleet:\n  members: [{ id: a, address: \"10.0.0.1:53\" }, { id: b, address: \"10.0.0.2:53\" }]\n  tsig: fleet\n  quorum: \(quorum)\n"
            )
            #expect(e == ["carousel.yaml:6: fleet.quorum: \(message)"], "\(e)")
        }
        let members =
            "fleet:\n  members: [{ id: a, address: \"10.0.0.1:53\" }, { id: b, address: \"10.0.0.2:53\" }, { id: c, address: \"10.0.0.3:53\" }]\n  tsig: fleet\n"
        #expect(
            errors(members + "  observers_per_target: 4\n") == [
                "carousel.yaml:6: fleet.observers_per_target: 4 is more than the 3 members"
            ])
        #expect(
            errors(members + "  observers_per_target: 2\n  quorum: 3\n") == [
                "carousel.yaml:7: fleet.quorum: 3 can never be met by 2 observers per target"
            ])
        #expect(errors(members + "  observers_per_target: all\n").isEmpty)
        let two = try? Config.parse(Self.keys + members + "  observers_per_target: 2\n", file: "c").get()
        #expect(two?.fleet?.observersPerTarget == 2)
        let unknown = errors(
            "fleet:\n  members: [{ id: a, address: \"10.0.0.1:53\" }, { id: b, address: \"10.0.0.2:53\" }]\n  tsig: fleet\n  observers: 2\n"
        )
        #expect(
            unknown.count == 1 && unknown[0].hasPrefix("carousel.yaml:6: fleet.observers: unknown key"), "\(unknown)")
    }
}
