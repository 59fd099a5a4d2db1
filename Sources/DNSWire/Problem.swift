/// One thing wrong with a file a user edits (a zone file, `carousel.yaml`), where they can find
/// it: `file:line: message`, the form compilers and `named-checkzone` use, so editors can jump to
/// it. Line 0 means the file as a whole (it could not be opened or read).
public struct Problem: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { "\(file):\(line): \(message)" }
}

/// Every problem found in one file, in the order of their lines.
public struct Problems: Error, Sendable, Equatable, CustomStringConvertible {
    public var errors: [Problem]
    public init(_ errors: [Problem]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
