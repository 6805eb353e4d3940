import ArgumentParser
import CSanlianSystem
import ServiceSupport

EventLoopSetup.adopt()
// glibc gives every thread that allocates its own malloc arena; with the event loop, the ledger's
// writer and readers that multiplied the broker's peak memory for no speed it could measure.
_ = CSanlianSystem_limitMallocArenas(2)
// Parsed and run by hand, calling the concrete type's async `run()`: through the protocol, top-level
// code reaches ParsableCommand's synchronous `run()`, which only prints the help.
do {
    let parsed = try SanlianBrokerCommand.parseAsRoot()
    guard let command = parsed as? SanlianBrokerCommand else {
        var other = parsed
        try other.run()
        SanlianBrokerCommand.exit()
    }
    try await command.run()
} catch {
    SanlianBrokerCommand.exit(withError: error)
}
