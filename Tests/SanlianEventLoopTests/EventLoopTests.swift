import NIOCore
import SanlianEventLoop
import SanlianTestHarness
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The event loop the RPC runtime runs on: its tasks and timers, and its sockets over real
/// socket pairs and a real listening socket.
@Suite("Epoll event loop")
struct EventLoopTests {
    /// Loops of their own per test, so that tests in parallel do not share one; stopped after
    /// `body`.
    static func withGroup<R>(
        _ loops: Int = 1,
        _ body: (EpollEventLoopGroup) async throws -> R
    ) async throws -> R {
        let group = try EpollEventLoopGroup(loopCount: loops)
        do {
            let result = try await body(group)
            try await group.shutdownGracefully()
            return result
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    @Test("timers fire in deadline order, ties in the order scheduled; cancelled ones never fire")
    func timersFireInOrder() async throws {
        try await Self.withGroup { group in
            let loop = group.nextLoop()
            let fired = Locked<[Int]>([])
            let start = NIODeadline.now() + .milliseconds(20)
            let offsets = [30, 10, 20, 10, 0, 40, 20]
            var scheduled: [Scheduled<Void>] = []
            for (index, offset) in offsets.enumerated() {
                scheduled.append(
                    loop.scheduleTask(deadline: start + .milliseconds(Int64(offset))) {
                        fired.withLock { $0.append(index) }
                    }
                )
            }
            scheduled[5].cancel()
            scheduled[2].cancel()
            // The last timer, scheduled from the loop itself after the others, marks the end.
            try await loop.submit {
                loop.scheduleTask(deadline: start + .milliseconds(60)) {}.futureResult
            }.get().get()
            #expect(fired.value == [4, 1, 3, 6, 0], "by deadline, ties by order, without the cancelled")
            await #expect(throws: EventLoopError.self) { try await scheduled[5].futureResult.get() }
        }
    }

    @Test(
        "a timer earlier than the one the loop waits for fires without waiting for the later one",
        .timeLimit(.minutes(1))
    )
    func earlierTimerIsNotLate() async throws {
        try await Self.withGroup { group in
            let loop = group.nextLoop()
            // Ten minutes: were the earlier timer to wait for it, the time limit would end the test.
            let late = loop.scheduleTask(in: .minutes(10)) {}
            // Let the loop go to sleep waiting for the late one.
            try await loop.submit {}.get()
            try await loop.scheduleTask(in: .milliseconds(20)) {}.futureResult.get()
            late.cancel()
        }
    }

    @Test("a timer that fired or was cancelled lets go of what its task captured, while its Scheduled is kept")
    func timersLetGoOfTheirTasks() async throws {
        try await Self.withGroup { group in
            let loop = group.nextLoop()
            // A connection's handler keeps its timers' `Scheduled` and is captured by their tasks.
            func schedule(in delay: TimeAmount) -> (Scheduled<Void>, WeakReference) {
                let captured = Captured()
                return (loop.scheduleTask(in: delay) { _ = captured }, WeakReference(captured))
            }
            let (fired, firedCapture) = schedule(in: .milliseconds(1))
            let (cancelled, cancelledCapture) = schedule(in: .seconds(60))
            try await fired.futureResult.get()
            cancelled.cancel()
            try await loop.submit {}.get()
            #expect(firedCapture.object == nil, "fired")
            #expect(cancelledCapture.object == nil, "cancelled")
            withExtendedLifetime((fired, cancelled)) {}
        }
    }

    @Test("tasks handed over by many threads each run once, each thread's in order, on the loop")
    func tasksFromManyThreads() async throws {
        try await Self.withGroup { group in
            let loop = group.nextLoop()
            let seen = Locked<[Int: [Int]]>([:])
            let offLoop = Locked(0)
            let senders = 4
            let tasksEach = 2000
            await withTaskGroup(of: Void.self) { group in
                for sender in 0..<senders {
                    group.addTask {
                        for index in 0..<tasksEach {
                            loop.execute {
                                if !loop.inEventLoop { offLoop.withLock { $0 += 1 } }
                                seen.withLock { $0[sender, default: []].append(index) }
                            }
                        }
                    }
                }
            }
            try await loop.submit {}.get()
            #expect(offLoop.value == 0)
            for sender in 0..<senders {
                #expect(seen.value[sender] == Array(0..<tasksEach), "sender \(sender)'s tasks in order")
            }
        }
    }

    @Test("the loop is a serial executor: an actor on it runs there, and resumes there after sleeping")
    func actorOnTheLoop() async throws {
        try await Self.withGroup { group in
            let onLoop = LoopActor(loop: group.nextLoop())
            let (before, after) = try await onLoop.sleepOnce()
            #expect(before && after, "ran on the loop's thread before and after the sleep")
        }
    }

    @Test("a large write the peer does not read at once arrives whole and in order once it reads")
    func largeWritesWaitForTheSocket() async throws {
        try await Self.withGroup(2) { group in
            let (writer, reader) = try await SocketPair.connected(group)
            let total = 2 << 20
            // The reader starts paused, so the writer's socket fills and the rest waits for EPOLLOUT.
            try await reader.connection.loop.submit { reader.connection.setReading(false) }.get()
            let chunks = (0..<16).map { index in
                ByteBuffer(bytes: (0..<(total / 16)).map { UInt8(truncatingIfNeeded: $0 &+ index) })
            }
            try await writer.connection.loop.submit {
                for chunk in chunks { writer.connection.write(chunk) }
            }.get()
            #expect(reader.received.value.isEmpty)
            try await reader.connection.loop.submit { reader.connection.setReading(true) }.get()
            try await eventually("all \(total) bytes to arrive") { reader.receivedCount.value == total }
            #expect(reader.received.value == chunks.flatMap { Array($0.readableBytesView) })
            writer.connection.closeSoon()
            try await reader.connection.closeFuture.get()
            #expect(reader.closed, "the reader saw the writer close")
        }
    }

    @Test("a peer closing is seen as a close, once; writes after it are dropped")
    func peerCloseIsSeen() async throws {
        try await Self.withGroup { group in
            let (one, other) = try await SocketPair.connected(group)
            try await one.connection.loop.submit { one.connection.write(ByteBuffer(bytes: [1, 2, 3])) }.get()
            one.connection.closeSoon()
            try await other.connection.closeFuture.get()
            #expect(other.received.value == [1, 2, 3], "what was sent before the close arrived")
            #expect(other.closes.value == 1)
            #expect(!other.connection.isActive)
            try await other.connection.loop.submit { other.connection.write(ByteBuffer(bytes: [4])) }.get()
            #expect(one.closes.value == 1)
        }
    }

    @Test("a write the peer refuses first delivers what the peer sent before it stopped reading, then closes")
    func failedWriteReadsWhatIsLeft() async throws {
        try await Self.withGroup { group in
            let (writer, leaver) = try await SocketPair.connected(group)
            // Not reading: the peer's last words stay in the socket until the write fails.
            try await writer.connection.loop.submit { writer.connection.setReading(false) }.get()
            try await leaver.connection.loop.submit {
                leaver.connection.write(ByteBuffer(bytes: [7, 8, 9]))
                // Its reading side shut (not the whole socket, which the writer would see as a
                // hang-up), and not read: reading its end of file would close it.
                leaver.connection.setReading(false)
                _ = shutdown(leaver.connection.descriptor, Int32(SHUT_RD))
            }.get()
            #expect(writer.received.value.isEmpty)
            try await writer.connection.loop.submit { writer.connection.write(ByteBuffer(bytes: [1])) }.get()
            try await writer.connection.closeFuture.get()
            #expect(writer.received.value == [7, 8, 9], "read before the close")
            #expect(writer.closes.value == 1)
            leaver.connection.closeSoon()
        }
    }

    @Test("a connection not reading whose peer hangs up reads what the peer sent last, then closes")
    func hangUpWhilePausedReadsWhatIsLeft() async throws {
        try await Self.withGroup { group in
            let (paused, leaver) = try await SocketPair.connected(group)
            try await paused.connection.loop.submit { paused.connection.setReading(false) }.get()
            // More than one read's buffer: all of it is read, though reading is paused.
            let last = (0..<100_000).map { UInt8(truncatingIfNeeded: $0) }
            try await leaver.connection.loop.submit { leaver.connection.write(ByteBuffer(bytes: last)) }.get()
            leaver.connection.closeSoon()
            try await paused.connection.closeFuture.get()
            #expect(paused.received.value == last)
            #expect(paused.closes.value == 1)
        }
    }

    @Test("a listener accepts on its path, spreads connections over the loops, and refusals name the path")
    func listenerAcceptsAndRefusals() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.socket()
        try await Self.withGroup(2) { group in
            let missing = directory.socket("absent")
            let refusal = #expect(throws: SocketError.self) {
                _ = try UnixStreamConnection.connect(to: missing, on: group.nextLoop())
            }
            #expect(refusal?.message.contains(missing) == true)
            #expect(refusal?.message.contains("No such file") == true)

            let accepted = Locked<[ObjectIdentifier]>([])
            let peers = Locked<[PeerEnd]>([])
            let listener = try UnixListener(path: path, backlog: 16, group: group) { connection in
                let end = PeerEnd(connection)
                connection.start(delegate: end)
                accepted.withLock { $0.append(ObjectIdentifier(connection.loop)) }
                peers.withLock { $0.append(end) }
                // Echo what arrives.
                end.onReceive = { bytes in connection.write(bytes) }
            }
            var clients: [PeerEnd] = []
            for index in 0..<4 {
                // On the first loop: `nextLoop` is the listener's to call, in turn.
                let connection = try UnixStreamConnection.connect(to: path, on: group.loops[0])
                let end = PeerEnd(connection)
                try await connection.loop.submit {
                    connection.start(delegate: end)
                    connection.write(ByteBuffer(bytes: [UInt8(index)]))
                }.get()
                clients.append(end)
            }
            for (index, client) in clients.enumerated() {
                try await eventually("client \(index)'s echo") { client.received.value == [UInt8(index)] }
            }
            #expect(Set(accepted.value).count == 2, "both loops took connections")
            #expect(peers.value.allSatisfy { $0.connection.peerCredentials()?.pid == getpid() })
            listener.close()
            try await listener.closeFuture.get()
            #expect(throws: SocketError.self) { _ = try UnixStreamConnection.connect(to: path, on: group.nextLoop()) }
            for end in clients + peers.value { end.connection.closeSoon() }
        }
    }
}

/// Something a timer's task captures.
final class Captured: Sendable {}

/// Whether an object is still alive. `@unchecked Sendable`: the weak reference is only read after
/// the loop that released the object has answered a later task.
final class WeakReference: @unchecked Sendable {
    weak var object: AnyObject?

    init(_ object: AnyObject) {
        self.object = object
    }
}

/// An actor whose executor is an event loop, as the daemons' tasks run on theirs.
actor LoopActor {
    let loop: EpollEventLoop

    init(loop: EpollEventLoop) {
        self.loop = loop
    }

    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.executor.asUnownedSerialExecutor() }

    /// Whether it ran on the loop before and after a sleep.
    func sleepOnce() async throws -> (Bool, Bool) {
        let before = loop.inEventLoop
        try await Task.sleep(for: .milliseconds(5))
        return (before, loop.inEventLoop)
    }
}

/// One end of a connection in a test: what it received, and whether it closed.
final class PeerEnd: StreamConnectionDelegate, Sendable {
    let connection: UnixStreamConnection
    let received = Locked<[UInt8]>([])
    /// `received.value.count`, without copying the bytes.
    let receivedCount = Locked(0)
    let closes = Locked(0)
    var closed: Bool { closes.value > 0 }
    private let receiver = Locked<(@Sendable (ByteBuffer) -> Void)?>(nil)

    init(_ connection: UnixStreamConnection) {
        self.connection = connection
    }

    /// Also called with every read's bytes, on the loop.
    var onReceive: (@Sendable (ByteBuffer) -> Void)? {
        get { receiver.value }
        set { receiver.withLock { $0 = newValue } }
    }

    func connectionReceived(_ bytes: ByteBuffer) {
        received.withLock { $0.append(contentsOf: bytes.readableBytesView) }
        receivedCount.withLock { $0 += bytes.readableBytes }
        receiver.value?(bytes)
    }

    func connectionReadComplete() {}

    func connectionClosed() { closes.withLock { $0 += 1 } }
}

/// Two connected sockets (`socketpair`), each a started connection on one of the group's loops.
enum SocketPair {
    static func connected(_ group: EpollEventLoopGroup) async throws -> (PeerEnd, PeerEnd) {
        var descriptors: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &descriptors) == 0 else {
            throw HarnessError("socketpair failed: errno \(errno)")
        }
        let ends = descriptors.map { PeerEnd(UnixStreamConnection(descriptor: $0, eventLoop: group.nextLoop())) }
        for end in ends {
            #expect(try await end.connection.loop.submit { end.connection.start(delegate: end) }.get())
        }
        return (ends[0], ends[1])
    }
}
