import ArgumentParser
import CSanlianSystem
import Foundation
import NIOCore
import NIOPosix

// Swift concurrency runs on NIO's event loops: a handler's task and its connection's I/O then
// share threads instead of handing every call between two pools. Must happen on the main thread
// before anything async starts, hence a top-level main.swift rather than @main.
// One event loop unless SANLIAN_EVENT_LOOPS says otherwise: the township runs several processes
// on a small machine, and within a process one thread avoids a hand-off between threads per call.
NIOSingletons.groupLoopCountSuggestion = Int(ProcessInfo.processInfo.environment["SANLIAN_EVENT_LOOPS"] ?? "") ?? 1
NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
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
