import CFuzzer

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the fuzz targets share: a failed invariant is a crash, so libFuzzer saves the input that
/// broke it as a reproducer, exactly as it does for a trap or a sanitizer report.
public enum Invariant {
    /// Aborts with `message` and the input in hex when `condition` is false.
    @inline(__always)
    public static func check(
        _ condition: Bool, _ message: @autoclosure () -> String, input: UnsafeRawBufferPointer,
        file: StaticString = #fileID, line: UInt = #line
    ) {
        if !condition { fail(message(), input: input, file: file, line: line) }
    }

    public static func fail(_ message: String, input: UnsafeRawBufferPointer, file: StaticString, line: UInt) -> Never {
        let text = "invariant broken at \(file):\(line): \(message)\ninput (\(input.count) bytes): \(hex(input))\n"
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
        abort()
    }

    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Runs libFuzzer on `callback`. SwiftPM links an executable target with `main` redefined as
/// `<Target>_main` (so tests can link executables), which hides libFuzzer's own `main`; each target
/// defines that symbol and lands here.
public func runFuzzer(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, callback)
}
