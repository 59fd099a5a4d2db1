/// The fixed 12-byte message header (RFC 1035 §4.1.1) as constants and bit positions.
public enum Header {
    public static let size = 12

    public static let qrBit: UInt16 = 0x8000
    public static let aaBit: UInt16 = 0x0400
    public static let tcBit: UInt16 = 0x0200
    public static let rdBit: UInt16 = 0x0100
    public static let raBit: UInt16 = 0x0080
    public static let adBit: UInt16 = 0x0020
    public static let cdBit: UInt16 = 0x0010

    @inline(__always) public static func opcode(_ flags: UInt16) -> UInt8 { UInt8((flags >> 11) & 0xF) }
}

/// Response codes (RFC 1035 §4.1.1, RFC 6891 §9 for the extended BADVERS).
public enum RCode: UInt16, Sendable, CustomStringConvertible {
    case noError = 0
    case formErr = 1
    case servFail = 2
    case nxDomain = 3
    case notImp = 4
    case refused = 5
    /// A name synthesized from a DNAME would be longer than 255 bytes (RFC 6672 §2.2).
    case yxDomain = 6
    /// Dynamic update prerequisites (RFC 2136 §2.2): an RRset exists that should not, or not.
    case yxRRSet = 7
    case nxRRSet = 8
    case notAuth = 9
    /// A dynamic update's name outside the zone it names (RFC 2136 §3.4.1.3).
    case notZone = 10
    case badVers = 16

    public var description: String {
        switch self {
        case .noError: "NOERROR"
        case .formErr: "FORMERR"
        case .servFail: "SERVFAIL"
        case .nxDomain: "NXDOMAIN"
        case .notImp: "NOTIMP"
        case .refused: "REFUSED"
        case .yxDomain: "YXDOMAIN"
        case .yxRRSet: "YXRRSET"
        case .nxRRSet: "NXRRSET"
        case .notAuth: "NOTAUTH"
        case .notZone: "NOTZONE"
        case .badVers: "BADVERS"
        }
    }
}

public enum Opcode {
    public static let query: UInt8 = 0
    public static let notify: UInt8 = 4
    public static let update: UInt8 = 5
}
