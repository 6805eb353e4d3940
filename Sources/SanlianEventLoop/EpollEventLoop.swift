import CSanlianSystem
public import Dispatch
public import NIOCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Something registered with an event loop's epoll set: told which events its descriptor is ready
/// for, on the loop's thread.
protocol EpollWatcher: AnyObject {
    func ready(_ events: UInt32)
}

/// One thread running an epoll set: the RPC runtime's connections and listeners, the tasks other
/// threads hand it (`execute`), its timers (`scheduleTask`) and, in daemons that ask for it, Swift
/// jobs. Conforms to NIO's `EventLoop`, so futures, promises, `NIOLoopBound` and `assumeIsolated`
/// work on it unchanged.
///
/// It exists because SwiftNIO's channels were most of what a brokered call cost above the C floor,
/// while the same relay and echo server in Swift on epoll match the C floor (docs/PERFORMANCE.md,
/// "Decisions that stand"). A Unix-socket stream of length-prefixed frames needs no pipeline, no
/// channel options and no per-read allocation policy.
///
/// `@unchecked Sendable`: the registrations, the timers and the spare task array are touched only
/// on the loop's thread (every entry point checks `inEventLoop` or is documented as loop-only);
/// the task queue is `incoming`, a `Mutex`.
public final class EpollEventLoop: EventLoop, @unchecked Sendable {
    private let epollDescriptor: Int32
    private let wakeDescriptor: Int32
    /// Fires at the earliest timer's deadline. A timeout on `epoll_wait` instead would make the
    /// kernel arm and cancel a timer at every sleep, microseconds of every round trip; the timerfd
    /// is set again only when an earlier deadline comes.
    private let timerDescriptor: Int32
    /// The loop thread's `pthread_t`, 0 until it runs.
    private let thread = Atomic<UInt>(0)
    private let incoming = Mutex(Incoming())
    /// Set (under `incoming`'s lock) whenever `incoming` holds tasks or a stop: the loop looks
    /// at it after every wake-up and takes the lock only when it is set.
    private let incomingWaiting = Atomic<Bool>(false)
    private let name: String

    private struct Incoming {
        var tasks: [@Sendable () -> Void] = []
        /// Set once a wake-up is written and until the loop takes the tasks: one write per batch.
        /// Tasks the loop queues itself need none: it looks for tasks before it sleeps.
        var wakePending = false
        var stopping = false
        var stopped: [@Sendable () -> Void] = []
    }

    // Loop-confined state.
    private var watchers: [(any EpollWatcher)?] = []
    /// Swapped with `incoming.tasks` each round, so that neither array allocates once grown.
    private var spareTasks: [@Sendable () -> Void] = []
    /// Tasks were left queued when the last round stopped: poll the sockets without sleeping.
    private var tasksLeft = false
    private var timers = TimerHeap()
    /// The deadline the timerfd is set for (`NIODeadline.uptimeNanoseconds`); `.max` when unset
    /// or fired. It may be earlier than the earliest timer (that one was cancelled): it then fires
    /// early, runs nothing, and is set again.
    private var armedDeadline = UInt64.max

    init(name: String) throws(EventLoopStartError) {
        self.name = name
        epollDescriptor = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollDescriptor >= 0 else { throw EventLoopStartError("epoll_create1", errno) }
        wakeDescriptor = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard wakeDescriptor >= 0 else {
            Glibc.close(epollDescriptor)
            throw EventLoopStartError("eventfd", errno)
        }
        timerDescriptor = timerfd_create(CLOCK_MONOTONIC, Int32(TFD_CLOEXEC | TFD_NONBLOCK))
        guard timerDescriptor >= 0 else {
            let failure = EventLoopStartError("timerfd_create", errno)
            Glibc.close(wakeDescriptor)
            Glibc.close(epollDescriptor)
            throw failure
        }
        for descriptor in [wakeDescriptor, timerDescriptor] {
            var event = epoll_event()
            event.events = EPOLLIN.rawValue
            event.data.fd = descriptor
            guard epoll_ctl(epollDescriptor, EPOLL_CTL_ADD, descriptor, &event) == 0 else {
                let failure = EventLoopStartError("epoll_ctl", errno)
                Glibc.close(timerDescriptor)
                Glibc.close(wakeDescriptor)
                Glibc.close(epollDescriptor)
                throw failure
            }
        }
    }

    /// Starts the loop's thread.
    func start() throws(EventLoopStartError) {
        let context = Unmanaged.passRetained(self).toOpaque()
        var handle = pthread_t()
        let result = pthread_create(
            &handle,
            nil,
            { context in
                let loop = Unmanaged<EpollEventLoop>.fromOpaque(context!).takeRetainedValue()
                loop.run()
                return nil
            },
            context
        )
        guard result == 0 else {
            Unmanaged<EpollEventLoop>.fromOpaque(context).release()
            throw EventLoopStartError("pthread_create", result)
        }
        pthread_detach(handle)
    }

    // MARK: - EventLoop

    public var inEventLoop: Bool {
        thread.load(ordering: .relaxed) == UInt(pthread_self())
    }

    public func execute(_ task: @escaping @Sendable () -> Void) {
        // One queue for the loop's own tasks and other threads': tasks run in the order they
        // were handed over, whoever handed them.
        let onLoop = inEventLoop
        let wake = incoming.withLock { incoming in
            incoming.tasks.append(task)
            incomingWaiting.store(true, ordering: .releasing)
            guard !onLoop, !incoming.wakePending else { return false }
            incoming.wakePending = true
            return true
        }
        if wake { self.wake() }
    }

    @discardableResult
    public func scheduleTask<T>(deadline: NIODeadline, _ task: @escaping @Sendable () throws -> T) -> Scheduled<T> {
        let promise: EventLoopPromise<T> = makePromise()
        let timer = LoopTimer(deadline: deadline.uptimeNanoseconds) {
            // Runs on the loop, where the promise may take a value that is not Sendable.
            do { promise.assumeIsolatedUnsafeUnchecked().succeed(try task()) } catch { promise.fail(error) }
        }
        if inEventLoop {
            timers.insert(timer)
        } else {
            execute { [self] in timers.insert(timer) }
        }
        return Scheduled(promise: promise) { [self] in
            if inEventLoop {
                timers.remove(timer)
            } else {
                execute { [self] in timers.remove(timer) }
            }
        }
    }

    @discardableResult
    public func scheduleTask<T>(in delay: TimeAmount, _ task: @escaping @Sendable () throws -> T) -> Scheduled<T> {
        scheduleTask(deadline: .now() + delay, task)
    }

    public func shutdownGracefully(queue: DispatchQueue, _ callback: @escaping @Sendable ((any Error)?) -> Void) {
        let wake = incoming.withLock { incoming in
            incoming.stopping = true
            incoming.stopped.append { queue.async { callback(nil) } }
            incomingWaiting.store(true, ordering: .releasing)
            defer { incoming.wakePending = true }
            return !incoming.wakePending
        }
        if wake { self.wake() }
    }

    public var description: String { "EpollEventLoop(\(name))" }

    // MARK: - Registrations (on the loop only)

    /// Adds `descriptor` to the epoll set for `events`; `watcher` hears of them until `deregister`.
    func register(_ descriptor: Int32, events: UInt32, watcher: any EpollWatcher) -> Int32? {
        var event = epoll_event()
        event.events = events
        event.data.fd = descriptor
        guard epoll_ctl(epollDescriptor, EPOLL_CTL_ADD, descriptor, &event) == 0 else { return errno }
        let index = Int(descriptor)
        if index >= watchers.count {
            watchers.append(contentsOf: repeatElement(nil, count: index + 1 - watchers.count))
        }
        watchers[index] = watcher
        return nil
    }

    /// Changes the events `descriptor` is watched for.
    func modify(_ descriptor: Int32, events: UInt32) {
        var event = epoll_event()
        event.events = events
        event.data.fd = descriptor
        _ = epoll_ctl(epollDescriptor, EPOLL_CTL_MOD, descriptor, &event)
    }

    /// Removes `descriptor` from the epoll set; call before closing it, whose number the kernel
    /// may hand out again at once.
    func deregister(_ descriptor: Int32) {
        _ = epoll_ctl(epollDescriptor, EPOLL_CTL_DEL, descriptor, nil)
        let index = Int(descriptor)
        if index < watchers.count { watchers[index] = nil }
    }

    // MARK: - The loop

    private func wake() {
        // Only fails when the counter would overflow, which an unread wake-up cannot reach.
        _ = eventfd_write(wakeDescriptor, 1)
    }

    private static let maxEvents: Int32 = 64

    private func run() {
        thread.store(UInt(pthread_self()), ordering: .relaxed)
        name.withCString { CSanlianSystem_nameThread($0) }
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: Int(Self.maxEvents))
        defer { events.deallocate() }
        var stoppedCallbacks: [@Sendable () -> Void] = []
        while true {
            armTimer()
            let ready = epoll_wait(epollDescriptor, events, Self.maxEvents, tasksLeft ? 0 : -1)
            var timerFired = false
            if ready > 0 {
                for index in 0..<Int(ready) {
                    let descriptor = events[index].data.fd
                    if descriptor == wakeDescriptor {
                        var count: eventfd_t = 0
                        _ = eventfd_read(wakeDescriptor, &count)
                        continue
                    }
                    if descriptor == timerDescriptor {
                        var expirations: UInt64 = 0
                        _ = Glibc.read(timerDescriptor, &expirations, MemoryLayout<UInt64>.size)
                        armedDeadline = .max
                        timerFired = true
                        continue
                    }
                    let slot = Int(descriptor)
                    // A watcher earlier in this batch may have closed this one.
                    guard slot < watchers.count, let watcher = watchers[slot] else { continue }
                    watcher.ready(events[index].events)
                }
            }
            if timerFired { runDueTimers() }
            if runTasks(&stoppedCallbacks) { break }
        }
        Glibc.close(timerDescriptor)
        Glibc.close(wakeDescriptor)
        Glibc.close(epollDescriptor)
        for callback in stoppedCallbacks { callback() }
    }

    /// Sets the timerfd for the earliest timer when that is earlier than what it is set for.
    private func armTimer() {
        guard let next = timers.earliestDeadline, next < armedDeadline else { return }
        // 0 would unset the timer; any past deadline fires at once.
        let deadline = max(next, 1)
        var setting = itimerspec()
        setting.it_value = timespec(
            tv_sec: Int(clamping: deadline / 1_000_000_000),
            tv_nsec: Int(deadline % 1_000_000_000)
        )
        guard timerfd_settime(timerDescriptor, Int32(TFD_TIMER_ABSTIME), &setting, nil) == 0 else { return }
        armedDeadline = deadline
    }

    private func runDueTimers() {
        guard timers.earliestDeadline != nil else { return }
        let now = NIODeadline.now().uptimeNanoseconds
        while let timer = timers.popDue(now: now) { timer.fire() }
    }

    /// Rounds of tasks run before the sockets are polled again, so that tasks that keep queueing
    /// tasks cannot starve the connections.
    private static let maxTaskRounds = 16

    /// Runs the queued tasks, round after round while running them queues more.
    /// - Returns: whether the loop is to stop.
    private func runTasks(_ stoppedCallbacks: inout [@Sendable () -> Void]) -> Bool {
        tasksLeft = false
        for _ in 0..<Self.maxTaskRounds {
            guard incomingWaiting.load(ordering: .acquiring) else { return false }
            var batch = spareTasks
            spareTasks = []
            let stopping = incoming.withLock { incoming in
                swap(&batch, &incoming.tasks)
                incoming.wakePending = false
                incomingWaiting.store(false, ordering: .relaxed)
                guard incoming.stopping else { return false }
                // Kept set: the loop looks again, and stops once no task is left.
                incomingWaiting.store(true, ordering: .relaxed)
                stoppedCallbacks.append(contentsOf: incoming.stopped)
                incoming.stopped = []
                return true
            }
            if batch.isEmpty {
                spareTasks = batch
                return stopping
            }
            for task in batch { task() }
            batch.removeAll(keepingCapacity: true)
            spareTasks = batch
        }
        tasksLeft = true
        return false
    }
}

/// Why an event loop could not start: the system call and its errno.
public struct EventLoopStartError: Error, CustomStringConvertible {
    public let call: String
    public let code: Int32

    init(_ call: String, _ code: Int32) {
        self.call = call
        self.code = code
    }

    public var description: String { "\(call) failed: \(String(cString: strerror(code)))" }
}

/// The loop is the serial executor of the jobs it runs, one object for all of them, as NIO's own
/// loops are. With `EventLoop`'s default every job ran on a new executor object that the runtime
/// holds only unowned: the echo daemon's streams never resumed after a sleep, and an actor on the
/// loop crashed (`EventLoopTests.actorOnTheLoop`).
extension EpollEventLoop: NIOSerialEventLoopExecutor {}
