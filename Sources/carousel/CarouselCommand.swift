import ArgumentParser
import Dispatch

struct CarouselCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "carousel",
        abstract: "An authoritative DNS server that load-balances by DNS.",
        discussion: "With no subcommand, `carousel` serves zones/ on 127.0.0.1:5353 (UDP and TCP).",
        subcommands: [
            Serve.self, CheckCommand.self, Status.self, ExplainCommand.self, Drain.self, Undrain.self, Reload.self,
            AgentCommand.self, DNSSECCommand.self, ZoneCommand.self,
        ],
        defaultSubcommand: Serve.self
    )
}

/// A synchronous entry point: the commands run as a task while the main thread waits. The main
/// thread is then a plain blocked thread, so dropping privileges (setuid) reaches it too; parked
/// in dispatch_main, as under an async main, it keeps running as root.
@main
enum Main {
    static func main() {
        let done = DispatchSemaphore(value: 0)
        let failure = Failure()
        Task.detached {
            do {
                var command = try CarouselCommand.parseAsRoot()
                if var async = command as? AsyncParsableCommand {
                    try await async.run()
                } else {
                    try command.run()
                }
            } catch {
                failure.error = error
            }
            done.signal()
        }
        done.wait()
        if let error = failure.error { CarouselCommand.exit(withError: error) }
    }

    final class Failure: @unchecked Sendable {
        var error: Error?
    }
}
