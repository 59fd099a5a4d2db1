// Table cases: a dig query and the response it must get, with records written as zone-file text.

import Foundation
import Testing

/// What one dig query must return. Sections are compared as sorted multisets (rotation changes
/// the order); a section left `nil` is not checked.
struct Expected: Sendable, CustomTestStringConvertible {
    var query: [String]
    var status = "NOERROR"
    var aa = true
    var answer: [String]? = []
    var authority: [String]? = []
    var additional: [String]? = []
    var why: String

    var testDescription: String { "\(query.joined(separator: " ")): \(why)" }

    init(
        _ query: String, status: String = "NOERROR", aa: Bool = true, answer: [String]? = [],
        authority: [String]? = [], additional: [String]? = [], _ why: String
    ) {
        self.query = query.split(separator: " ").map(String.init)
        self.status = status
        self.aa = aa
        self.answer = answer
        self.authority = authority
        self.additional = additional
        self.why = why
    }
}

/// The SOA records the negative answers carry, with TTL = min(SOA TTL, minimum) (RFC 2308 §3).
enum NegativeSOA {
    static let example =
        "example.test. 300 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 300"
    static let other = "other.test. 60 IN SOA ns.other.test. hostmaster.other.test. 7 7200 3600 1209600 300"
    static let child =
        "child.example.test. 60 IN SOA ns1.child.example.test. hostmaster.child.example.test. "
        + "2024010101 7200 3600 1209600 60"
}

/// Sorted records from zone-file text, in dig's printed form.
func records(_ lines: [String]) -> [DigRecord] { lines.map(DigRecord.init).sorted() }

/// Checks one response against a table case.
func check(_ response: DigResponse, _ expected: Expected, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(response.status == expected.status, "status\n\(response)", sourceLocation: sourceLocation)
    #expect(response.aa == expected.aa, "AA flag\n\(response)", sourceLocation: sourceLocation)
    #expect(!response.ra, "RA must never be set\n\(response)", sourceLocation: sourceLocation)
    #expect(!response.tc, "TC flag\n\(response)", sourceLocation: sourceLocation)
    if let answer = expected.answer {
        #expect(response.answer.sorted() == records(answer), "answer\n\(response)", sourceLocation: sourceLocation)
    }
    if let authority = expected.authority {
        #expect(
            response.authority.sorted() == records(authority), "authority\n\(response)", sourceLocation: sourceLocation)
    }
    if let additional = expected.additional {
        #expect(
            response.additional.sorted() == records(additional), "additional\n\(response)",
            sourceLocation: sourceLocation)
    }
}

/// The endpoint of the shared server on the fixture zones (started on first use).
func sharedCarousel() async throws -> Endpoint {
    try await SharedCarousel.shared.endpoint()
}
