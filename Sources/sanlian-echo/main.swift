import ArgumentParser
import ServiceSupport

EventLoopSetup.adopt()
// Parsed and run by hand, calling the concrete type's async `run()`: through the protocol, top-level
// code reaches ParsableCommand's synchronous `run()`, which only prints the help.
do {
    let parsed = try SanlianEchoCommand.parseAsRoot()
    guard let command = parsed as? SanlianEchoCommand else {
        var other = parsed
        try other.run()
        SanlianEchoCommand.exit()
    }
    try await command.run()
} catch {
    SanlianEchoCommand.exit(withError: error)
}
