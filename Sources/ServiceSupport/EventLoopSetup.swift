import CSanlianSystem
import NIOCore
import SanlianEventLoop

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where a daemon's Swift tasks run.
package enum TaskExecutor: String, Sendable {
    /// On the event loops (`EpollEventLoopGroup`), beside the connections' I/O: no hand-off between threads when a
    /// handler's task answers a call. For processes whose calls are served by tasks.
    case eventLoop = "event-loop"
    /// On Swift's own thread pool: tasks run beside the event loop, on the other cores. For a
    /// process whose hot path runs on the event loop without tasks and whose tasks do heavier
    /// work of their own (the broker: forwarding needs no task, ledger delivery does).
    case pool
}

/// How a Sanlian daemon runs Swift concurrency and its event loops.
package enum EventLoopSetup {
    /// Sets the number of event loops (one unless `SANLIAN_EVENT_LOOPS` says otherwise: the
    /// township runs several processes on a small machine, and within a process one loop avoids
    /// hand-offs between threads) and where tasks run: `preferred`, unless `SANLIAN_EXECUTOR`
    /// (`event-loop` or `pool`) says otherwise.
    ///
    /// The runtime's hook is set from C (`CSanlianSystem`), which links to it in both kinds of
    /// build: looked up with `dlsym`, as NIO's own installer does, it is not found when the Swift
    /// runtime is linked statically (as release builds are), where it is a local symbol.
    ///
    /// Call first thing on the main thread, before anything async starts (hence the daemons'
    /// top-level `main.swift` rather than `@main`).
    /// - Returns: where tasks run now (`.pool`, with a warning on standard error, if another hook
    ///   was already installed).
    @discardableResult
    package static func setUp(tasksOn preferred: TaskExecutor) -> TaskExecutor {
        EpollEventLoopGroup.loopCount = Int(ProcessEnvironment.value("SANLIAN_EVENT_LOOPS") ?? "") ?? 1
        let wanted = ProcessEnvironment.value("SANLIAN_EXECUTOR").flatMap(TaskExecutor.init(rawValue:)) ?? preferred
        guard wanted == .eventLoop else { return .pool }
        let installed = CSanlianSystem_installGlobalEnqueueHook { job in
            // The runtime passes the job pointer an `UnownedJob` wraps.
            let job = unsafeBitCast(job, to: UnownedJob.self)
            // `any()` is the current loop when called on one, so a task stays on its thread.
            EpollEventLoopGroup.shared.any().enqueue(ExecutorJob(job))
        }
        guard installed == 1 else {
            // Logging is not set up yet this early.
            var warning = "warning: another global executor is installed; tasks will hop between threads\n"
            warning.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
            return .pool
        }
        return .eventLoop
    }
}
