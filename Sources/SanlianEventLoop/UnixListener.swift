import CSanlianSystem
public import NIOCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A listening Unix socket. It accepts on one loop of its group and hands each connection to
/// the group's loops in turn; `accept` runs on the connection's loop, which it must `start`.
///
/// `@unchecked Sendable`: the descriptor's registration and the accept loop are confined to
/// `eventLoop`; `open` is atomic.
public final class UnixListener: EpollWatcher, @unchecked Sendable {
    public let path: String
    private let descriptor: Int32
    private let eventLoop: EpollEventLoop
    private let group: EpollEventLoopGroup
    private let accept: @Sendable (UnixStreamConnection) -> Void
    private let open = Atomic<Bool>(true)
    private let closePromise: EventLoopPromise<Void>
    private var registered = false
    /// How long accepting pauses when the process is out of descriptors: in level-triggered
    /// epoll the waiting connection would otherwise wake the loop without end.
    private static let descriptorShortagePause = TimeAmount.milliseconds(100)

    /// Binds and listens on `path`, which must not exist (callers clear a stale socket first).
    public init(
        path: String,
        backlog: Int32,
        group: EpollEventLoopGroup,
        accept: @escaping @Sendable (UnixStreamConnection) -> Void
    ) throws(SocketError) {
        let descriptor = try UnixSocketAddress.streamSocket()
        guard UnixSocketAddress.withSocketAddress(path, { bind(descriptor, $0, $1) }) == 0 else {
            let failure = SocketError("cannot bind \(path)", errno)
            Glibc.close(descriptor)
            throw failure
        }
        guard listen(descriptor, backlog) == 0 else {
            let failure = SocketError("cannot listen on \(path)", errno)
            Glibc.close(descriptor)
            throw failure
        }
        self.path = path
        self.descriptor = descriptor
        self.group = group
        self.eventLoop = group.loops[0]
        self.accept = accept
        self.closePromise = eventLoop.makePromise()
        eventLoop.execute { [self] in
            guard open.load(ordering: .relaxed) else { return }
            // Only a shortage of kernel memory makes epoll refuse a new socket.
            guard eventLoop.register(descriptor, events: EPOLLIN.rawValue, watcher: self) == nil else {
                close()
                return
            }
            registered = true
        }
    }

    /// Completes when the listener has closed.
    public var closeFuture: EventLoopFuture<Void> { closePromise.futureResult }

    func ready(_ events: UInt32) {
        while open.load(ordering: .relaxed) {
            let accepted = CSanlianSystem_acceptNonBlocking(descriptor)
            if accepted >= 0 {
                let loop = group.nextLoop()
                let connection = UnixStreamConnection(descriptor: accepted, eventLoop: loop)
                if loop === eventLoop {
                    accept(connection)
                } else {
                    loop.execute { [accept] in accept(connection) }
                }
                continue
            }
            switch errno {
            case EINTR, ECONNABORTED: continue
            case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                pauseAccepting()
                return
            default:
                // EAGAIN: nothing more waiting.
                return
            }
        }
    }

    private func pauseAccepting() {
        guard registered else { return }
        eventLoop.modify(descriptor, events: 0)
        eventLoop.scheduleTask(in: Self.descriptorShortagePause) { [self] in
            guard open.load(ordering: .relaxed), registered else { return }
            eventLoop.modify(descriptor, events: EPOLLIN.rawValue)
        }
    }

    /// Stops listening; connections already accepted stay open. From any thread.
    public func close() {
        guard eventLoop.inEventLoop else {
            eventLoop.execute { [self] in close() }
            return
        }
        guard open.exchange(false, ordering: .acquiringAndReleasing) else { return }
        if registered { eventLoop.deregister(descriptor) }
        registered = false
        Glibc.close(descriptor)
        closePromise.succeed(())
    }
}
