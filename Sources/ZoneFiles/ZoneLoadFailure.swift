import DNSWire

extension Problem {
    /// A zone file that cannot be opened or read: reported at the `$INCLUDE` line that names it
    /// (`site`), or at line 0 of the file itself.
    static func unreadable(_ file: String, _ reason: String, site: (file: String, line: Int)?) -> Problem {
        if let site { return Problem(file: site.file, line: site.line, message: "cannot read \(file): \(reason)") }
        return Problem(file: file, line: 0, message: "cannot read zone file: \(reason)")
    }
}

/// Why `ZoneLoader.load` refused a zone: every error found (a syntax error stops parsing, so then
/// there is exactly one), and the warnings found alongside them.
public struct ZoneLoadFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var errors: [Problem]
    public var warnings: [Problem]
    /// The files the zone file includes, as far as parsing got.
    public var includes: [String]

    public init(errors: [Problem], warnings: [Problem] = [], includes: [String] = []) {
        self.errors = errors
        self.warnings = warnings
        self.includes = includes
    }

    /// One problem per line, errors only.
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
