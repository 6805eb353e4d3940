import NIOCore
import NIOPosix

/// How a Sanlian daemon runs Swift concurrency: on NIO's event loops.
package enum EventLoopSetup {
    /// Runs Swift concurrency on NIO's event loops, so a handler's task and its connection's I/O
    /// share threads instead of handing every call between two pools. One loop unless
    /// `SANLIAN_EVENT_LOOPS` says otherwise: the township runs several processes on a small
    /// machine, and within a process one thread avoids a hand-off between threads per call.
    ///
    /// Call first thing on the main thread, before anything async starts (hence the daemons'
    /// top-level `main.swift` rather than `@main`).
    package static func adopt() {
        NIOSingletons.groupLoopCountSuggestion = Int(ProcessEnvironment.value("SANLIAN_EVENT_LOOPS") ?? "") ?? 1
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }
}
