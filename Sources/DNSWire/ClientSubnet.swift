/// An EDNS Client Subnet option (RFC 7871 §6): the part of the client's address a resolver passes
/// on, so an authoritative server can answer for where the client is. Held as values (no
/// allocation): the address in network order, IPv4 in the first 4 bytes of `high`.
public struct ClientSubnet: Sendable, Hashable {
    public enum Family: UInt16, Sendable {
        case ipv4 = 1
        case ipv6 = 2

        /// The address length in bits.
        public var bits: Int { self == .ipv4 ? 32 : 128 }
    }

    public var family: Family
    /// How many leading bits of `address` the resolver sent (SOURCE PREFIX-LENGTH).
    public var sourcePrefix: UInt8
    /// The address bytes 0…7 and 8…15 as big-endian words; bits past `sourcePrefix` are 0.
    public var high: UInt64
    public var low: UInt64

    public init(family: Family, sourcePrefix: UInt8, high: UInt64, low: UInt64) {
        self.family = family
        self.sourcePrefix = sourcePrefix
        self.high = high
        self.low = low
    }

    /// From an address (4 or 16 bytes) cut to `prefix` bits.
    public init?(address: some Collection<UInt8>, prefix: Int) {
        guard address.count == 4 || address.count == 16 else { return nil }
        let family: Family = address.count == 4 ? .ipv4 : .ipv6
        let prefix = max(0, min(prefix, family.bits))
        var bytes = [UInt8](repeating: 0, count: 16)
        for (i, b) in address.enumerated() { bytes[i] = b }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for i in 0..<8 { high = high << 8 | UInt64(bytes[i]) }
        for i in 8..<16 { low = low << 8 | UInt64(bytes[i]) }
        self = ClientSubnet(family: family, sourcePrefix: UInt8(prefix), high: high, low: low).cut(to: prefix)
    }

    /// The bytes of ADDRESS as the option carries them: ceil(sourcePrefix / 8).
    public var addressLength: Int { (Int(sourcePrefix) + 7) / 8 }

    /// The same address with only its first `prefix` bits (at most `sourcePrefix`).
    @inline(__always)
    public func cut(to prefix: Int) -> ClientSubnet {
        let p = max(0, min(prefix, Int(sourcePrefix)))
        let high = p >= 64 ? self.high : (p == 0 ? 0 : self.high & ~(UInt64.max >> UInt64(p)))
        let low = p >= 128 ? self.low : (p <= 64 ? 0 : self.low & ~(UInt64.max >> UInt64(p - 64)))
        return ClientSubnet(family: family, sourcePrefix: UInt8(p), high: high, low: low)
    }

    /// Byte `i` of the address (0…15).
    @inline(__always)
    public func byte(_ i: Int) -> UInt8 {
        i < 8
            ? UInt8(truncatingIfNeeded: high >> UInt64(56 - 8 * i))
            : UInt8(truncatingIfNeeded: low >> UInt64(120 - 8 * i))
    }

    /// Why an ECS option is malformed (RFC 7871 §7.1.1: FORMERR).
    public enum Defect: Error, Sendable, Equatable {
        case length, family, sourcePrefix, scopePrefix, addressBytes, bitsPastPrefix
    }

    /// Reads the option's data (`length` bytes at `start` of `p`): FAMILY, SOURCE and SCOPE
    /// PREFIX-LENGTH, then exactly ceil(SOURCE / 8) address bytes with nothing set past SOURCE;
    /// SCOPE must be 0 in a query (`inResponse` false), at most the family's bits in a response.
    @inline(__always)
    public static func read(_ p: UnsafeRawBufferPointer, at start: Int, length: Int, inResponse: Bool = false)
        -> Result<ClientSubnet, Defect>
    {
        guard length >= 4 else { return .failure(.length) }
        guard let family = Family(rawValue: p.u16(start)) else { return .failure(.family) }
        let source = Int(p[start + 2])
        guard source <= family.bits else { return .failure(.sourcePrefix) }
        guard inResponse ? Int(p[start + 3]) <= family.bits : p[start + 3] == 0 else { return .failure(.scopePrefix) }
        let bytes = (source + 7) / 8
        guard length == 4 + bytes else { return .failure(.addressBytes) }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for i in 0..<16 {
            let b = UInt64(i < bytes ? p[start + 4 + i] : 0)
            if i < 8 { high = high << 8 | b } else { low = low << 8 | b }
        }
        let subnet = ClientSubnet(family: family, sourcePrefix: UInt8(source), high: high, low: low)
        guard subnet.cut(to: source) == subnet else { return .failure(.bitsPastPrefix) }
        return .success(subnet)
    }

    /// The option data of the answer (RFC 7871 §7.2.1): FAMILY, SOURCE PREFIX-LENGTH and ADDRESS
    /// as the query sent them, and `scope`, the prefix the answer holds for. Returns its length.
    @inline(__always)
    public func write(scope: UInt8, into out: UnsafeMutableRawBufferPointer) -> Int {
        out[0] = 0
        out[1] = UInt8(family.rawValue)
        out[2] = sourcePrefix
        out[3] = scope
        for i in 0..<addressLength { out[4 + i] = byte(i) }
        return 4 + addressLength
    }
}
