import NIOCore
import NIOEmbedded
import SanlianEventLoop
import SanlianWire
import Testing

@testable import SanlianRPC

/// An in-memory transport on an `EmbeddedEventLoop`, for tests of what a connection reads and
/// writes frame by frame: the test hands it the peer's bytes and reads back each write.
///
/// `@unchecked Sendable`: used from the test's thread only, which runs its `EmbeddedEventLoop`.
final class EmbeddedTransport: ConnectionTransport, @unchecked Sendable {
    let embeddedEventLoop: EmbeddedEventLoop
    var eventLoop: any EventLoop { embeddedEventLoop }
    private(set) var isActive = true
    /// Whether the connection asked to read; bytes handed in are delivered either way.
    private(set) var reading = true
    private let closePromise: EventLoopPromise<Void>
    private var delegate: (any StreamConnectionDelegate)?
    private var written: [ByteBuffer] = []

    init(loop: EmbeddedEventLoop) {
        embeddedEventLoop = loop
        closePromise = loop.makePromise()
    }

    var closeFuture: EventLoopFuture<Void> { closePromise.futureResult }

    func start(delegate: any StreamConnectionDelegate) -> Bool {
        self.delegate = delegate
        return isActive
    }

    func write(_ bytes: ByteBuffer) {
        if isActive {
            written.append(bytes)
            pendingWriteBytes += bytes.readableBytes
        }
    }

    /// What the peer has not read, as a test sets it: `readOutbound` does not change it.
    var pendingWriteBytes = 0
    var bytesSent: UInt64 = 0

    func discardUnsent() -> Int {
        let dropped = pendingWriteBytes
        pendingWriteBytes = 0
        return dropped
    }

    func closeWhenFlushed(deadline: NIODeadline) { close() }

    /// The peer has read everything: what the socket tells the connection.
    func drain() {
        bytesSent += UInt64(pendingWriteBytes)
        pendingWriteBytes = 0
        delegate?.connectionDrained()
    }

    func setReading(_ on: Bool) { reading = on }

    func close() {
        guard isActive else { return }
        isActive = false
        let delegate = self.delegate
        self.delegate = nil
        delegate?.connectionClosed()
        closePromise.succeed(())
    }

    func closeSoon() { close() }

    /// One read of `bytes` from the peer, then its end.
    func writeInbound(_ bytes: ByteBuffer) throws {
        fireRead(bytes)
        if isActive { fireReadComplete() }
    }

    /// The bytes of one read, without its end.
    func fireRead(_ bytes: ByteBuffer) {
        delegate?.connectionReceived(bytes)
    }

    func fireReadComplete() {
        delegate?.connectionReadComplete()
    }

    /// The oldest write not yet read back.
    func readOutbound() -> ByteBuffer? {
        written.isEmpty ? nil : written.removeFirst()
    }

    /// Closes, as the end of a test, then runs the loop's tasks and drops those it holds for later,
    /// as `EmbeddedChannel.finish` does: a task holds the handler, whose timers hold the loop.
    func finish() throws {
        close()
        try embeddedEventLoop.syncShutdownGracefully()
    }
}

/// A connection handler on an in-memory transport, as the accepting side, connected but before
/// any handshake.
func embeddedConnection(
    on loop: EmbeddedEventLoop = EmbeddedEventLoop(),
    configuration: ConnectionConfiguration = ConnectionConfiguration(),
    dispatcher: (any InboundCallDispatcher)? = nil
) throws -> (channel: EmbeddedTransport, handler: RPCConnectionHandler) {
    let transport = EmbeddedTransport(loop: loop)
    let (connection, _) = ConnectionSetup.install(
        on: transport,
        role: .acceptor,
        configuration: configuration,
        authenticator: nil,
        claim: nil,
        dispatcher: dispatcher,
        peerCredentials: nil,
        logger: testLogger()
    )
    return (transport, connection.handler.value)
}

/// The frames, each behind its length prefix, in one buffer: what a single socket read holds.
func framed(_ frames: [RPCV1.Frame]) throws -> ByteBuffer {
    var buffer = ByteBuffer()
    for frame in frames { try buffer.writeFrame(frame) }
    return buffer
}

/// The frames in `buffer`, which must hold whole frames only (one write of a connection).
func frames(in buffer: ByteBuffer) throws -> [RPCV1.Frame] {
    var buffer = buffer
    var decoder = FrameDecoder()
    var frames: [RPCV1.Frame] = []
    while let body = try decoder.decode(buffer: &buffer) { frames.append(try RPCV1.Frame(buffer: body)) }
    #expect(buffer.readableBytes == 0, "writes hold whole frames")
    return frames
}

/// The frames of each write the connection has made so far, one array per write.
func drainOutbound(_ channel: EmbeddedTransport) throws -> [[RPCV1.Frame]] {
    var writes: [[RPCV1.Frame]] = []
    while let buffer = channel.readOutbound() { writes.append(try frames(in: buffer)) }
    return writes
}
