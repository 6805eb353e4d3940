import NIOCore
import NIOEmbedded
import SanlianWire

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
