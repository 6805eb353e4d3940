import NIOCore
import NIOEmbedded
import SanlianWire
import Testing

@testable import SanlianRPC

/// A connection handler on an in-memory channel, as the accepting side, connected but before any
/// handshake: for tests of what a connection reads and writes, frame by frame.
func embeddedConnection(
    on loop: EmbeddedEventLoop = EmbeddedEventLoop(),
    configuration: ConnectionConfiguration = ConnectionConfiguration(),
    dispatcher: (any InboundCallDispatcher)? = nil
) throws -> (channel: EmbeddedChannel, handler: RPCConnectionHandler) {
    let channel = EmbeddedChannel(loop: loop)
    _ = try ConnectionPipeline.install(
        on: channel,
        role: .acceptor,
        configuration: configuration,
        authenticator: nil,
        claim: nil,
        dispatcher: dispatcher,
        peerCredentials: nil,
        logger: testLogger()
    )
    try channel.connect(to: SocketAddress(unixDomainSocketPath: "/sanlian-embedded")).wait()
    return (channel, try channel.pipeline.syncOperations.handler(type: RPCConnectionHandler.self))
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
func drainOutbound(_ channel: EmbeddedChannel) throws -> [[RPCV1.Frame]] {
    var writes: [[RPCV1.Frame]] = []
    while let buffer = try channel.readOutbound(as: ByteBuffer.self) { writes.append(try frames(in: buffer)) }
    return writes
}
