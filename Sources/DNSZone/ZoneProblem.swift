/// One thing wrong with a zone, where a user can find it: `file:line: message`, the form compilers
/// and `named-checkzone` use, so editors can jump to it. Line 0 means the file as a whole (it
/// could not be opened); problems about a whole zone point at its SOA record or at line 1.
public struct ZoneProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { "\(file):\(line): \(message)" }

    /// A zone file that cannot be opened or read: reported at the `$INCLUDE` line that names it
    /// (`site`), or at line 0 of the file itself.
    static func unreadable(_ file: String, _ reason: String, site: (file: String, line: Int)?) -> ZoneProblem {
        if let site { return ZoneProblem(file: site.file, line: site.line, message: "cannot read \(file): \(reason)") }
        return ZoneProblem(file: file, line: 0, message: "cannot read zone file: \(reason)")
    }
}

/// Why `ZoneLoader.load` refused a zone: every error found (a syntax error stops parsing, so then
/// there is exactly one), and the warnings found alongside them.
public struct ZoneLoadFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var errors: [ZoneProblem]
    public var warnings: [ZoneProblem]
    /// The files the zone file includes, as far as parsing got.
    public var includes: [String]

    public init(errors: [ZoneProblem], warnings: [ZoneProblem] = [], includes: [String] = []) {
        self.errors = errors
        self.warnings = warnings
        self.includes = includes
    }

    /// One problem per line, errors only.
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
