// A real browser for the status page: Debian's Chromium in headless mode, each run with its own
// profile directory; and a reader of the PNG screenshots it takes.

import Foundation

enum HeadlessChromium {
    /// The DOM after Chromium loaded and rendered `url` (`--dump-dom`).
    static func dumpDOM(_ url: String) async throws -> String {
        let result = try await run(["--dump-dom", url])
        guard result.status == 0, result.stdout.contains("</html>") else {
            throw HarnessError(
                "chromium --dump-dom \(url): status \(result.status)\n\(result.stdout)\n\(result.stderr)")
        }
        return result.stdout
    }

    /// A screenshot of `url` at `width`×`height`, written to `file`.
    static func screenshot(_ url: String, to file: String, width: Int = 1200, height: Int = 800) async throws {
        try? FileManager.default.removeItem(atPath: file)
        let result = try await run([
            "--screenshot=\(file)", "--window-size=\(width),\(height)", "--hide-scrollbars", url,
        ])
        guard result.status == 0, FileManager.default.fileExists(atPath: file) else {
            throw HarnessError("chromium --screenshot \(url): status \(result.status)\n\(result.stderr)")
        }
    }

    /// `chromium --headless` as root needs `--no-sandbox`; a profile of its own keeps parallel
    /// runs apart. The machine is shared and loaded: a generous timeout.
    private static func run(_ arguments: [String]) async throws -> CommandResult {
        let profile = try TempDir(prefix: "chromium")
        defer { profile.remove() }
        return try await Command.run(
            "chromium",
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--user-data-dir=\(profile.url.path)",
            ] + arguments, timeout: 120)
    }
}

/// What a PNG file holds, read by Python's zlib: size, and how many pixels are close to each of
/// the given colours.
struct PNGSummary: Sendable {
    var width: Int
    var height: Int
    var counts: [String: Int]

    /// Reads 8-bit RGB or RGBA PNGs (what Chromium writes); `colours` maps a name to `#rrggbb`.
    static func read(_ file: String, colours: [String: String]) async throws -> PNGSummary {
        let spec = colours.map { "\($0.key)=\($0.value.dropFirst())" }.sorted().joined(separator: ",")
        let result = try await Command.run("python3", ["-c", script, file, spec])
        guard result.status == 0 else { throw HarnessError("reading \(file): \(result.stderr)") }
        var summary = PNGSummary(width: 0, height: 0, counts: [:])
        for line in result.stdout.split(separator: "\n") {
            let kv = line.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, let n = Int(kv[1]) else { continue }
            switch kv[0] {
            case "width": summary.width = n
            case "height": summary.height = n
            default: summary.counts[kv[0]] = n
            }
        }
        return summary
    }

    /// PNG decoding with the standard library only (filters of RFC 2083 §6; the "Up" rows that
    /// Chromium writes almost everywhere are added eight bits at a time without carries, so the
    /// check costs well under a second). Colours are counted as exact pixel values.
    static let script = #"""
        import struct, sys, zlib

        path, spec = sys.argv[1], sys.argv[2]
        data = open(path, "rb").read()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
        pos, idat = 8, b""
        while pos < len(data):
            length, kind = struct.unpack(">I4s", data[pos:pos + 8])
            body = data[pos + 8:pos + 8 + length]
            if kind == b"IHDR":
                width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
            elif kind == b"IDAT":
                idat += body
            pos += 12 + length
        assert depth == 8 and ctype in (2, 6), f"unsupported PNG depth {depth} colour type {ctype}"
        bpp = 3 if ctype == 2 else 4
        raw = zlib.decompress(idat)
        stride = width * bpp
        low = int.from_bytes(b"\x7f" * stride, "big")
        high = int.from_bytes(b"\x80" * stride, "big")
        prev, rows = bytes(stride), []
        for y in range(height):
            f = raw[y * (stride + 1)]
            line = raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)]
            if f == 0:
                cur = line
            elif f == 2:
                a, b = int.from_bytes(line, "big"), int.from_bytes(prev, "big")
                cur = (((a & low) + (b & low)) ^ ((a ^ b) & high)).to_bytes(stride, "big")
            else:
                out = bytearray(line)
                for x in range(stride):
                    a = out[x - bpp] if x >= bpp else 0
                    b = prev[x]
                    c = prev[x - bpp] if x >= bpp else 0
                    if f == 1:
                        out[x] = (out[x] + a) & 255
                    elif f == 3:
                        out[x] = (out[x] + (a + b) // 2) & 255
                    elif f == 4:
                        p = a + b - c
                        pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                        out[x] = (out[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
                cur = bytes(out)
            rows.append(cur)
            prev = cur
        pixels = b"".join(rows)
        print(f"width={width}")
        print(f"height={height}")
        for item in filter(None, spec.split(",")):
            name, hexa = item.split("=")
            pattern = bytes.fromhex(hexa) + (b"\xff" if bpp == 4 else b"")
            print(f"{name}={pixels.count(pattern)}")
        """#
}
