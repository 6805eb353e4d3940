#if canImport(Glibc)
    import Glibc
#endif

/// Threads of their own for request handlers, apart from the event loop and from Swift's
/// cooperative pool: a handler that computes for a second (a roster solve, a 100,000-row import)
/// holds one of these threads and nothing else, while the event loop goes on answering other
/// calls, firing timers and answering pings, and other handlers run on the other threads.
///
/// A `TaskExecutor`: a handler's task prefers it (`RPCRouter.handlerExecutor`), so the handler,
/// and whatever it resumes after an `await`, runs here.
///
/// `@unchecked Sendable`: the queue is guarded by the pthread mutex `lock` (a pthread one, for
/// its condition variable), which every access to it takes; nothing else is mutable.
package final class HandlerThreadPool: TaskExecutor, @unchecked Sendable {
    /// The process's pool, started on first use with `SANLIAN_HANDLER_THREADS` threads (default
    /// 4: a few long handlers at once on a small machine without holding up the rest).
    package static let shared = HandlerThreadPool(
        threads: getenv("SANLIAN_HANDLER_THREADS").flatMap { Int(String(cString: $0)) } ?? 4
    )

    private let lock: UnsafeMutablePointer<pthread_mutex_t>
    private let wake: UnsafeMutablePointer<pthread_cond_t>
    private var queue: [UnownedJob] = []
    private var head = 0
    package let threadCount: Int

    package init(threads: Int) {
        threadCount = max(1, threads)
        lock = .allocate(capacity: 1)
        wake = .allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
        pthread_cond_init(wake, nil)
        for _ in 0..<threadCount {
            var thread = pthread_t()
            // Each thread holds the pool for as long as it runs: for the process's life.
            let pool = Unmanaged.passRetained(self).toOpaque()
            let result = pthread_create(
                &thread,
                nil,
                { argument in
                    Unmanaged<HandlerThreadPool>.fromOpaque(argument!).takeRetainedValue().runJobs()
                    return nil
                },
                pool
            )
            precondition(result == 0, "cannot start a handler thread (pthread_create: \(result))")
            pthread_detach(thread)
        }
    }

    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        pthread_mutex_lock(lock)
        queue.append(job)
        pthread_cond_signal(wake)
        pthread_mutex_unlock(lock)
    }

    private func runJobs() -> Never {
        while true {
            pthread_mutex_lock(lock)
            while head == queue.count { pthread_cond_wait(wake, lock) }
            let job = queue[head]
            head += 1
            if head == queue.count {
                queue.removeAll(keepingCapacity: true)
                head = 0
            }
            pthread_mutex_unlock(lock)
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
