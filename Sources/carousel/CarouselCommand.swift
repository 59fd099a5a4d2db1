import ArgumentParser

@main
struct CarouselCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "carousel",
        abstract: "An authoritative DNS server that load-balances by DNS.",
        discussion: "With no subcommand, `carousel` serves zones/ on 127.0.0.1:5353 (UDP and TCP).",
        subcommands: [Serve.self, Check.self, Status.self, Drain.self, Undrain.self, Reload.self],
        defaultSubcommand: Serve.self
    )
}
