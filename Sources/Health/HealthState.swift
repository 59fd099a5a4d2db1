/// What the prober believes about a target. `unknown` lasts until the first result (or a saved
/// state) and counts as up: a name must not go dark because its prober has not looked yet.
public enum HealthState: UInt8, Sendable, CustomStringConvertible, Codable {
    case unknown = 0
    case up = 1
    case down = 2

    public var description: String {
        switch self {
        case .unknown: "unknown"
        case .up: "up"
        case .down: "down"
        }
    }
}
