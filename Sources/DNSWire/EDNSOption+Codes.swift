/// EDNS option codes Carousel reads or writes (IANA "DNS EDNS0 Option Codes").
public enum EDNSOptionCode {
    /// Name server identifier (RFC 5001).
    public static let nsid: UInt16 = 3
    /// Client subnet (RFC 7871).
    public static let clientSubnet: UInt16 = 8
    /// DNS Cookies (RFC 7873).
    public static let cookie: UInt16 = 10
    /// Extended DNS Errors (RFC 8914).
    public static let extendedError: UInt16 = 15
}

/// Extended DNS Error INFO-CODEs (RFC 8914 §4) that Carousel sends: the option's data is the
/// code (2 bytes) and an optional UTF-8 EXTRA-TEXT for the person reading `dig`.
public enum ExtendedErrorCode {
    /// §4.1: nothing more fitting; the text says what happened.
    public static let other: UInt16 = 0
    /// §4.19: refused by policy (a transfer not allowed, an identity query not answered).
    public static let prohibited: UInt16 = 18
    /// §4.21: the name is in no zone served here.
    public static let notAuthoritative: UInt16 = 20
    /// §4.22: a class (or operation) not served here.
    public static let notSupported: UInt16 = 21
    /// §4.25: a zone configured here that cannot be answered from, such as one that expired.
    public static let invalidData: UInt16 = 24
}
