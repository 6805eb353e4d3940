public import Dispatch
public import NIOCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The process's event loops: one unless `loopCount` is set before first use (a daemon reads
/// `SANLIAN_EVENT_LOOPS`). They live as long as the process.
public final class EpollEventLoopGroup: EventLoopGroup, Sendable {
    private static let loopCountSuggestion = Atomic<Int>(1)

    /// How many loops `shared` starts with; set before anything uses it.
    public static var loopCount: Int {
        get { loopCountSuggestion.load(ordering: .relaxed) }
        set { loopCountSuggestion.store(max(1, newValue), ordering: .relaxed) }
    }

    /// The process-wide group, started on first use.
    public static let shared: EpollEventLoopGroup = {
        do {
            return try EpollEventLoopGroup(loopCount: loopCount)
        } catch {
            // Without an event loop nothing of a daemon can run; the reason names the system call.
            fatalError("cannot start an event loop: \(error)")
        }
    }()

    public let loops: [EpollEventLoop]
    private let nextIndex = Atomic<Int>(0)

    public init(loopCount: Int) throws(EventLoopStartError) {
        var loops: [EpollEventLoop] = []
        for index in 0..<max(1, loopCount) {
            let loop = try EpollEventLoop(name: "sanlian-loop-\(index)")
            try loop.start()
            loops.append(loop)
        }
        self.loops = loops
    }

    public func next() -> any EventLoop { nextLoop() }

    /// The next loop, round-robin.
    public func nextLoop() -> EpollEventLoop {
        if loops.count == 1 { return loops[0] }
        return loops[nextIndex.wrappingAdd(1, ordering: .relaxed).oldValue % loops.count]
    }

    /// The loop of the calling thread when it is one of this group's, so that work stays on its
    /// thread; otherwise the next.
    public func any() -> any EventLoop {
        for loop in loops where loop.inEventLoop { return loop }
        return nextLoop()
    }

    public func makeIterator() -> EventLoopIterator { EventLoopIterator(loops) }

    public func shutdownGracefully(queue: DispatchQueue, _ callback: @escaping @Sendable ((any Error)?) -> Void) {
        /// Shared by the loops' callbacks: the last to stop calls back.
        final class Countdown: Sendable {
            let remaining: Atomic<Int>
            init(_ count: Int) { remaining = Atomic(count) }
        }
        let countdown = Countdown(loops.count)
        for loop in loops {
            loop.shutdownGracefully(queue: queue) { _ in
                if countdown.remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { callback(nil) }
            }
        }
    }
}
