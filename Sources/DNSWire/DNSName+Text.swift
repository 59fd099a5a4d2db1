/// Presentation format (RFC 1035 §5.1): dotted labels, `\.` and `\DDD` escapes.
extension DNSName {
    /// Parses presentation text. A name without a trailing dot is made absolute under `origin`
    /// (the root when none is given); `@` is the origin itself.
    public init(_ text: String, origin: DNSName? = nil) throws(DNSWireError) {
        if text == "@" {
            self = origin ?? .root
            return
        }
        if text == "." {
            self = .root
            return
        }
        guard !text.isEmpty else { throw .malformedName("empty name") }
        var wire: [UInt8] = []
        var label: [UInt8] = []
        var absolute = false
        let bytes = Array(text.utf8)
        var i = 0
        func closeLabel() throws(DNSWireError) {
            guard !label.isEmpty else { throw .malformedName("empty label in \"\(text)\"") }
            guard label.count <= 63 else { throw .malformedName("label longer than 63 bytes in \"\(text)\"") }
            wire.append(UInt8(label.count))
            wire += label
            label.removeAll(keepingCapacity: true)
        }
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: ".") {
                try closeLabel()
                if i == bytes.count - 1 { absolute = true }
                i += 1
            } else if c == UInt8(ascii: "\\") {
                guard i + 1 < bytes.count else { throw .malformedName("dangling escape in \"\(text)\"") }
                let d = bytes[i + 1]
                if isDigit(d) {
                    guard i + 3 < bytes.count, isDigit(bytes[i + 2]), isDigit(bytes[i + 3]) else {
                        throw .malformedName("\\DDD escape needs three digits in \"\(text)\"")
                    }
                    let v = Int(d - 48) * 100 + Int(bytes[i + 2] - 48) * 10 + Int(bytes[i + 3] - 48)
                    guard v <= 255 else { throw .malformedName("\\DDD escape above 255 in \"\(text)\"") }
                    label.append(UInt8(v))
                    i += 4
                } else {
                    label.append(d)
                    i += 2
                }
            } else {
                label.append(c)
                i += 1
            }
        }
        if !label.isEmpty { try closeLabel() }
        if absolute {
            wire.append(0)
        } else {
            wire += (origin ?? .root).wire
        }
        guard wire.count <= 255 else { throw .malformedName("name longer than 255 bytes: \"\(text)\"") }
        self.init(trustedWire: wire)
    }

    public var description: String {
        if isRoot { return "." }
        return labels.map(DNSName.presentLabel).joined(separator: ".") + "."
    }

    static func presentLabel(_ label: ArraySlice<UInt8>) -> String {
        var s = ""
        for b in label {
            switch b {
            case UInt8(ascii: "."), UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: ";"),
                UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "@"), UInt8(ascii: "$"):
                s += "\\" + String(UnicodeScalar(b))
            case 0x21...0x7E:
                s.unicodeScalars.append(UnicodeScalar(b))
            default:
                let d = String(b)
                s += "\\" + String(repeating: "0", count: 3 - d.count) + d
            }
        }
        return s
    }
}

@inline(__always)
func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
