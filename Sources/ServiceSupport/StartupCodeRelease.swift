import CSanlianSystem
package import Logging
package import ServiceLifecycle

/// Once a daemon serves, drops from its memory the read-only pages of its code and constants,
/// its own and its shared libraries', that it faulted in while starting
/// (`CSanlianSystem_releaseReadOnlyImagePages`).
///
/// A statically linked daemon starts by running code it never runs again (argument parsing, the
/// compose file's YAML, the ledger's migrations), and the kernel maps 64 KiB around every page it
/// touches: two thirds of the idle broker's file-backed memory would be start-up's. The pages are
/// clean and file-backed: the code that runs next maps them back from the page cache. Writable
/// data is not touched. The broker also releases at the end of each phase of its start-up
/// (`releaseNow`), so that its peak is the largest phase's rather than all of them together.
package struct StartupCodeRelease: Service {
    private let ready: @Sendable () async throws -> Void
    private let logger: Logger

    /// - Parameter ready: returns once start-up is over (the daemon is listening, or registered).
    package init(after ready: @escaping @Sendable () async throws -> Void, logger: Logger) {
        self.ready = ready
        self.logger = logger
    }

    /// Waits for `ready` and releases the pages, then waits for its turn in the group's graceful
    /// shutdown.
    ///
    /// It does not return once the pages are released: a service that ends while `ServiceGroup`
    /// is shutting another one down counts as ending unexpectedly, and the group then cancels the
    /// rest. A daemon stopped just as it became ready (a SIGTERM right after it registered) was
    /// cancelled that way, and its broker connection, which waited for graceful shutdown, stayed
    /// open: the daemon never exited.
    package func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await ready() }
            Self.releaseNow(logger: logger)
        } catch {
            // Start-up failed or was cut short: the other services report that.
        }
        try? await gracefulShutdown()
    }

    /// Releases the pages at once: also for a point within start-up after which most of what ran
    /// does not run again (the broker's, once its compose file is read and its ledger open), so
    /// that start-up's peak is that of its longest phase rather than of all of them together.
    package static func releaseNow(logger: Logger) {
        let released = CSanlianSystem_releaseReadOnlyImagePages()
        if released < 0 {
            logger.warning("Could not release start-up code pages", metadata: ["error.errno": "\(-released)"])
        } else {
            logger.debug("Released start-up code pages", metadata: ["memory.address_bytes": "\(released)"])
        }
    }

    /// Its place in a `ServiceGroup`: returning (when the group is cancelled) does not stop the group.
    package var groupEntry: ServiceGroupConfiguration.ServiceConfiguration {
        .init(service: self, successTerminationBehavior: .ignore)
    }
}
