/// What went wrong reading or building DNS data; each case says what a user can act on.
public enum DNSWireError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformedName(String)
    case truncated(String)
    case malformed(String)

    public var description: String {
        switch self {
        case .malformedName(let s): "bad name: \(s)"
        case .truncated(let s): "message truncated: \(s)"
        case .malformed(let s): "malformed message: \(s)"
        }
    }
}
