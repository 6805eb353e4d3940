import ArgumentParser
package import Logging
import NIOCore
import SanlianEventLoop
package import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Shuts its daemon down gracefully once standard input reaches end-of-file, when asked to
/// (`--exit-when-stdin-closes`): whoever starts the daemon holds the other end of a pipe, and
/// when that process ends, however it ends, the kernel closes its end. A daemon started so never
/// outlives its parent: the test harness starts every daemon this way, so that a test run that
/// crashes leaves none behind.
package struct StandardInputLifeline: Service {
    /// The daemons' command-line flag.
    package struct Options: ParsableArguments {
        @Flag(
            name: .long,
            help: ArgumentHelp(
                "Shut down gracefully when standard input reaches end-of-file.",
                discussion:
                    "For a parent that holds a pipe to it: the daemon then ends with the parent, even a parent "
                    + "that crashed. Standard input must be a pipe, a socket or a terminal."
            )
        )
        package var exitWhenStdinCloses = false

        package init() {}

        /// The lifeline's place in a daemon's `ServiceGroup` when the flag is given; none otherwise.
        package func groupEntries(logger: Logger) -> [ServiceGroupConfiguration.ServiceConfiguration] {
            exitWhenStdinCloses ? [StandardInputLifeline(logger: logger).groupEntry] : []
        }

        package func validate() throws {
            guard exitWhenStdinCloses else { return }
            do {
                try StandardInputLifeline.checkStandardInput()
            } catch {
                throw ValidationError(error.description)
            }
        }
    }

    /// Whether standard input can be watched: epoll refuses regular files and most devices
    /// (/dev/null among them), so this is asked first, to refuse the flag with a reason.
    static func checkStandardInput() throws(LifelineError) {
        var status = stat()
        guard fstat(STDIN_FILENO, &status) == 0 else {
            throw LifelineError("cannot watch standard input: \(String(cString: strerror(errno)))")
        }
        let kind = status.st_mode & S_IFMT
        guard kind == S_IFIFO || kind == S_IFSOCK || isatty(STDIN_FILENO) == 1 else {
            throw LifelineError("--exit-when-stdin-closes needs standard input to be a pipe, a socket or a terminal")
        }
    }

    private let logger: Logger

    package init(logger: Logger) {
        self.logger = logger
    }

    /// Returns at end-of-file (the group then shuts down) or when the group shuts down.
    package func run() async throws {
        try Self.checkStandardInput()
        let descriptor = dup(STDIN_FILENO)
        guard descriptor >= 0 else {
            throw LifelineError("cannot watch standard input: \(String(cString: strerror(errno)))")
        }
        // The connection owns the duplicate from here, and closes it when it closes.
        let input = UnixStreamConnection(descriptor: descriptor, eventLoop: EpollEventLoopGroup.shared.nextLoop())
        let started = try await input.loop.submit { input.start(delegate: IgnoredInput()) }.get()
        guard started else { throw LifelineError("cannot watch standard input: the event loop refused it") }
        await cancelWhenGracefulShutdown {
            await withTaskCancellationHandler {
                // What the parent writes means nothing; only the end of it does.
                _ = try? await input.closeFuture.get()
            } onCancel: {
                input.closeSoon()
            }
        }
        if !Task.isCancelled {
            logger.notice("Standard input closed: shutting down")
        }
    }

    /// Its place in a `ServiceGroup`: its end ends the group, gracefully.
    package var groupEntry: ServiceGroupConfiguration.ServiceConfiguration {
        .init(service: self, successTerminationBehavior: .gracefullyShutdownGroup)
    }
}

/// Reads what the parent writes and drops it.
private final class IgnoredInput: StreamConnectionDelegate {
    func connectionReceived(_ bytes: ByteBuffer) {}
    func connectionReadComplete() {}
    func connectionClosed() {}
}

/// Standard input could not be watched.
package struct LifelineError: Error, CustomStringConvertible {
    package var description: String

    init(_ description: String) {
        self.description = description
    }
}
