import ArgumentParser
import CarouselConfig
import Foundation

/// The options every command shares: which config file, and the overrides of its keys.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "The config file (default: ./carousel.yaml when present).")
    var config: String?

    @Option(name: .long, help: "A zone file or a directory of *.zone files (repeatable; overrides `zones`).")
    var zones: [String] = []

    /// The config file in use, if any.
    var configPath: String? {
        config ?? (FileManager.default.fileExists(atPath: "carousel.yaml") ? "carousel.yaml" : nil)
    }

    /// Reads the config file (or the defaults) and applies the command-line overrides.
    func resolve() throws -> Config {
        let path = configPath
        var c = Config()
        if let path {
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
            else {
                throw CommandError("\(path):1: cannot read the config file")
            }
            let base = (path as NSString).deletingLastPathComponent
            switch Config.parse(text, file: path, baseDirectory: base.isEmpty ? nil : base) {
            case .success(let parsed): c = parsed
            case .failure(let e): throw CommandError(e.description)
            }
        }
        if !zones.isEmpty { c.zones = zones }
        return c
    }
}

/// An error whose text is already what the user should read; exits 1.
struct CommandError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Set by `serve --log-format json`, so that even errors before logging starts are JSON lines.
nonisolated(unsafe) var errorsAsJSON = false

func printError(_ s: String) {
    if errorsAsJSON {
        let object: [String: String] = [
            "ts": ISO8601DateFormatter().string(from: Date()), "level": "error", "label": "carousel", "message": s,
        ]
        if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
            FileHandle.standardError.write(data + Data("\n".utf8))
            return
        }
    }
    FileHandle.standardError.write((s + "\n").data(using: .utf8)!)
}
