import CSanlianSystem
public import NIOCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What a connection tells its owner, always on the connection's event loop.
public protocol StreamConnectionDelegate: AnyObject {
    /// Bytes arrived. `bytes` is the connection's read buffer: keeping it (or a slice) is safe but
    /// makes the next read allocate a new one.
    func connectionReceived(_ bytes: ByteBuffer)
    /// A read has ended (the socket has no more for now, or the loop moves on to other sockets):
    /// the moment to flush what the bytes led to. Not called when the read closed the connection.
    func connectionReadComplete()
    /// The connection has closed (either side, or an error); it says nothing more.
    func connectionClosed()
    /// Everything written has gone to the socket: nothing waits unsent any more.
    func connectionDrained()
}

extension StreamConnectionDelegate {
    public func connectionDrained() {}
}

/// A connected, non-blocking Unix stream socket on an `EpollEventLoop`: reads into one reused
/// buffer and hands the bytes to its delegate, writes at once and queues only what the socket
/// does not take. Everything but `isActive`, `closeFuture` and `closeSoon` is for the loop's
/// thread.
///
/// `@unchecked Sendable`: the buffers, queue and delegate are touched only on the loop's thread;
/// `open` is atomic and the close promise is NIO's.
public final class UnixStreamConnection: EpollWatcher, @unchecked Sendable {
    public let loop: EpollEventLoop
    public let descriptor: Int32
    private let open = Atomic<Bool>(true)
    private let closePromise: EventLoopPromise<Void>

    // Loop-confined.
    /// Held strongly until the connection closes, so that the delegate lives as long as its socket.
    private var delegate: (any StreamConnectionDelegate)?
    private var readBuffer: ByteBuffer
    private var unwritten: [ByteBuffer] = []
    private var unwrittenHead = 0
    /// Bytes written but not yet taken by the socket (what `unwritten` holds).
    public private(set) var pendingWriteBytes = 0
    /// Bytes the socket has taken since the connection opened.
    public private(set) var bytesSent: UInt64 = 0
    /// Set by `closeWhenFlushed`: close once nothing is left unsent.
    private var closeWhenDrained = false
    private var reading = true
    /// The socket refused a write (the peer has gone): later writes are dropped.
    private var writeFailed = false
    private var watchingWrites = false
    private var registered = false

    /// Bytes asked of one `read`. Reads that fill it are repeated, up to `maxReadsPerWakeUp`.
    private static let readChunk = 16 * 1024
    private static let maxReadsPerWakeUp = 4
    private static let maxReadsToTheEnd = 64

    /// Takes ownership of `descriptor`, a connected stream socket, which is made non-blocking.
    /// Call `start` on `eventLoop` to begin reading.
    public init(descriptor: Int32, eventLoop: EpollEventLoop) {
        self.descriptor = descriptor
        self.loop = eventLoop
        self.closePromise = eventLoop.makePromise()
        self.readBuffer = ByteBufferAllocator().buffer(capacity: Self.readChunk)
        // Sockets this module makes are non-blocking already; a socket pair or a pipe may not be.
        let flags = fcntl(descriptor, F_GETFL)
        if flags >= 0, flags & O_NONBLOCK == 0 { _ = fcntl(descriptor, F_SETFL, flags | O_NONBLOCK) }
    }

    /// Registers with the loop and starts reading for `delegate`. On the loop.
    /// - Returns: false (the connection is then closed) when the loop refused the socket.
    @discardableResult
    public func start(delegate: any StreamConnectionDelegate) -> Bool {
        self.delegate = delegate
        guard open.load(ordering: .relaxed) else { return false }
        guard loop.register(descriptor, events: currentEvents, watcher: self) == nil else {
            close()
            return false
        }
        registered = true
        return true
    }

    /// Open: not yet closed by either side. From any thread.
    public var isActive: Bool { open.load(ordering: .relaxed) }

    /// Completes when the connection has closed.
    public var closeFuture: EventLoopFuture<Void> { closePromise.futureResult }

    /// The process at the other end (SO_PEERCRED), or nil when the kernel does not say.
    public func peerCredentials() -> (pid: Int32, uid: UInt32, gid: UInt32)? {
        // struct ucred from <sys/socket.h>, which Glibc's module only exposes under _GNU_SOURCE.
        struct UnixCredentials {
            var pid: Int32 = 0
            var uid: UInt32 = 0
            var gid: UInt32 = 0
        }
        let peerCredentialsOption: Int32 = 17  // SO_PEERCRED on Linux
        var credentials = UnixCredentials()
        var length = socklen_t(MemoryLayout<UnixCredentials>.size)
        guard getsockopt(descriptor, SOL_SOCKET, peerCredentialsOption, &credentials, &length) == 0 else { return nil }
        return (credentials.pid, credentials.uid, credentials.gid)
    }

    // MARK: - Writing

    /// Writes `bytes` now as far as the socket takes them; the rest waits for the socket to drain,
    /// ahead of anything written later. Nothing happens once closed. On the loop.
    public func write(_ bytes: ByteBuffer) {
        guard open.load(ordering: .relaxed), !writeFailed, bytes.readableBytes > 0 else { return }
        guard unwrittenHead == unwritten.count else {
            unwritten.append(bytes)
            pendingWriteBytes += bytes.readableBytes
            return
        }
        var rest = bytes
        guard send(&rest) else {
            closeAfterFailedWrite()
            return
        }
        if rest.readableBytes > 0 {
            unwritten.removeAll(keepingCapacity: true)
            unwrittenHead = 0
            unwritten.append(rest)
            pendingWriteBytes = rest.readableBytes
            watchWrites(true)
        }
    }

    /// Drops what waits unsent but the buffer the socket has begun to take (each buffer holds
    /// whole frames of the caller's, so what follows that one starts at a frame), for a peer
    /// that does not read: a last frame written after this (a GoAway) can still reach it.
    /// - Returns: how many bytes were dropped.
    @discardableResult
    public func discardUnsent() -> Int {
        guard unwrittenHead < unwritten.count else { return 0 }
        let kept = unwritten[unwrittenHead]
        let dropped = pendingWriteBytes - kept.readableBytes
        unwritten = [kept]
        unwrittenHead = 0
        pendingWriteBytes = kept.readableBytes
        return dropped
    }

    /// Closes once everything written has gone to the socket, or at `deadline` whatever is left.
    public func closeWhenFlushed(deadline: NIODeadline) {
        guard open.load(ordering: .relaxed) else { return }
        guard pendingWriteBytes > 0 else {
            close()
            return
        }
        closeWhenDrained = true
        loop.scheduleTask(deadline: deadline) { [self] in close() }
    }

    /// Sends from `buffer` until it is empty or the socket is full, moving its reader index past
    /// what was sent.
    /// - Returns: false when the socket failed.
    private func send(_ buffer: inout ByteBuffer) -> Bool {
        while buffer.readableBytes > 0 {
            let sent = buffer.withUnsafeReadableBytes { bytes in
                Glibc.send(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            }
            if sent > 0 {
                buffer.moveReaderIndex(forwardBy: sent)
                bytesSent += UInt64(sent)
                continue
            }
            let code = errno
            if sent < 0, code == EINTR { continue }
            return sent < 0 && (code == EAGAIN || code == EWOULDBLOCK)
        }
        return true
    }

    /// Sends the queued buffers in order until the socket is full.
    /// - Returns: false when the socket failed.
    private func sendUnwritten() -> Bool {
        while unwrittenHead < unwritten.count {
            let before = unwritten[unwrittenHead].readableBytes
            let sent = send(&unwritten[unwrittenHead])
            pendingWriteBytes -= before - unwritten[unwrittenHead].readableBytes
            guard sent else { return false }
            if unwritten[unwrittenHead].readableBytes > 0 { return true }
            unwrittenHead += 1
        }
        return true
    }

    private func writeUnwritten() {
        guard sendUnwritten() else {
            closeAfterFailedWrite()
            return
        }
        guard unwrittenHead == unwritten.count else { return }
        unwritten.removeAll(keepingCapacity: unwritten.capacity <= 64)
        unwrittenHead = 0
        pendingWriteBytes = 0
        watchWrites(false)
        if closeWhenDrained {
            close()
            return
        }
        delegate?.connectionDrained()
    }

    /// The peer has gone, but what it sent before it went may still wait in the socket: a
    /// GoAway saying which calls it never saw, which the runtime then retries elsewhere. Read it,
    /// then close. Done as a task, since a write comes in the middle of the delegate's own work.
    private func closeAfterFailedWrite() {
        writeFailed = true
        unwritten = []
        unwrittenHead = 0
        pendingWriteBytes = 0
        loop.execute { [self] in
            guard open.load(ordering: .relaxed) else { return }
            readAvailable(toTheEnd: true)
            close()
        }
    }

    // MARK: - Reading

    /// Stops or resumes reading the socket (the runtime pauses a peer with too many calls
    /// waiting). On the loop.
    public func setReading(_ on: Bool) {
        guard reading != on else { return }
        reading = on
        updateEvents()
    }

    func ready(_ events: UInt32) {
        if events & EPOLLOUT.rawValue != 0 {
            writeUnwritten()
            guard open.load(ordering: .relaxed) else { return }
        }
        if reading, events & (EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
            readAvailable()
        } else if events & (EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
            // Not reading, and the peer is gone: nothing can be answered any more, but what it
            // sent last (a GoAway naming the calls it never saw) still counts.
            readAvailable(toTheEnd: true)
            close()
        }
    }

    /// Reads what the socket holds, up to `maxReadsPerWakeUp` full buffers, stopping early when
    /// reading is paused. `toTheEnd`: the peer has gone, so what is left is read, paused or not, up
    /// to `maxReadsToTheEnd` buffers (more than a Unix socket holds; a peer that only stopped
    /// reading could otherwise keep the loop here by writing without end).
    private func readAvailable(toTheEnd: Bool = false) {
        for _ in 0..<(toTheEnd ? Self.maxReadsToTheEnd : Self.maxReadsPerWakeUp) {
            // Unshared (the delegate kept nothing of the last read), `clear` keeps the memory.
            readBuffer.clear()
            var code: Int32 = 0
            let count = readBuffer.writeWithUnsafeMutableBytes(minimumWritableBytes: Self.readChunk) { space in
                let got = Glibc.read(descriptor, space.baseAddress, Self.readChunk)
                if got < 0 { code = errno }
                return max(got, 0)
            }
            if count > 0 {
                delegate?.connectionReceived(readBuffer)
                guard open.load(ordering: .relaxed) else { return }
                if toTheEnd { continue }
                if !reading || count < Self.readChunk { break }
                continue
            }
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { break }
            // End of stream (0) or a failed socket.
            close()
            return
        }
        delegate?.connectionReadComplete()
    }

    // MARK: - Events and closing

    private var currentEvents: UInt32 {
        (reading ? EPOLLIN.rawValue : 0) | (watchingWrites ? EPOLLOUT.rawValue : 0)
    }

    private func watchWrites(_ on: Bool) {
        guard watchingWrites != on else { return }
        watchingWrites = on
        updateEvents()
    }

    private func updateEvents() {
        guard registered, open.load(ordering: .relaxed) else { return }
        loop.modify(descriptor, events: currentEvents)
    }

    /// Closes the socket; what was not yet written is sent if the socket takes it at once, then
    /// dropped. The delegate hears `connectionClosed` once. On the loop.
    public func close() {
        guard open.exchange(false, ordering: .acquiringAndReleasing) else { return }
        _ = sendUnwritten()
        unwritten = []
        unwrittenHead = 0
        pendingWriteBytes = 0
        if registered { loop.deregister(descriptor) }
        registered = false
        Glibc.close(descriptor)
        let delegate = self.delegate
        self.delegate = nil
        delegate?.connectionClosed()
        closePromise.succeed(())
    }

    /// Closes from any thread (on the loop, at once).
    public func closeSoon() {
        if loop.inEventLoop {
            close()
        } else {
            loop.execute { [self] in close() }
        }
    }
}
