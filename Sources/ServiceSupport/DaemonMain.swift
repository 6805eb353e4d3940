package import ArgumentParser
import CSanlianSystem

/// The entry point every Sanlian daemon shares (`sanlian-broker`, `sanlian-echo`, the department
/// services): set up the process, parse the command line, run.
package enum DaemonMain {
    /// Chooses where tasks run (`EventLoopSetup.setUp(tasksOn:)`), optionally limits glibc's
    /// malloc arenas, then parses the arguments as `Command` and runs it; exits with the
    /// command's outcome. Call from a top-level `main.swift`, before anything async starts.
    ///
    /// `command.run()` is called on the concrete, generic type: top-level code calling it through
    /// `ParsableCommand` reached the synchronous `run()`, which only prints the help.
    package static func run<Command: AsyncParsableCommand>(
        _ command: Command.Type,
        tasksOn executor: TaskExecutor,
        mallocArenas: Int32? = nil
    ) async -> Never {
        EventLoopSetup.setUp(tasksOn: executor)
        if let mallocArenas {
            _ = CSanlianSystem_limitMallocArenas(mallocArenas)
        }
        do {
            let parsed = try Command.parseAsRoot()
            guard var parsedCommand = parsed as? Command else {
                // --help, --version and the like.
                var other = parsed
                try other.run()
                Command.exit()
            }
            try await parsedCommand.run()
            Command.exit()
        } catch {
            Command.exit(withError: error)
        }
    }
}
