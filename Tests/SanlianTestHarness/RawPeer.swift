package import NIOCore
import NIOPosix
package import SanlianWire
import Synchronization

/// A peer that speaks frames by hand, for feeding a server (or the broker) what a well-behaved
/// client or service never sends.
package struct RawPeer {
    package let channel: any Channel
    private var frames: AsyncStream<RPCV1.Frame>.Iterator
    private let collector: Collector

    /// Frames the other side sent that did not decode as a `Frame` (and so never came out of
    /// `receive`).
    package var undecodableFrames: Int { collector.undecodable.load(ordering: .relaxed) }

    /// Collects the frames the server sends into a stream that ends when the connection closes.
    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let continuation: AsyncStream<RPCV1.Frame>.Continuation
        let undecodable = Atomic<Int>(0)

        init(continuation: AsyncStream<RPCV1.Frame>.Continuation) {
            self.continuation = continuation
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if let frame = try? RPCV1.Frame(buffer: unwrapInboundIn(data)) {
                continuation.yield(frame)
            } else {
                undecodable.add(1, ordering: .relaxed)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            continuation.finish()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }

    package static func connect(_ path: String) async throws -> RawPeer {
        let (stream, continuation) = AsyncStream.makeStream(of: RPCV1.Frame.self)
        let collector = Collector(continuation: continuation)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(unixDomainSocketPath: path)
            .get()
        return RawPeer(channel: channel, frames: stream.makeAsyncIterator(), collector: collector)
    }

    /// Sends Hello and returns the server's answer.
    package mutating func handshake(
        department: String = "station",
        credential: [UInt8] = [],
        version: UInt32 = 1
    ) async throws -> RPCV1.Frame {
        try await send(
            RPCV1.Frame(
                kind: .hello(RPCV1.Hello(protocolVersion: version, department: department, credential: credential))
            )
        )
        return try await receive()
    }

    package func send(_ frame: RPCV1.Frame) async throws {
        var buffer = channel.allocator.buffer(capacity: 64)
        try buffer.writeFrame(frame)
        try await channel.writeAndFlush(buffer)
    }

    package func sendRaw(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(channel.allocator.buffer(bytes: bytes))
    }

    /// Shuts the sending side down: the other side reads the end of the stream.
    package func finishSending() async throws {
        try await channel.close(mode: .output)
    }

    /// The next frame from the server.
    /// - Throws: when the server closed the connection instead.
    package mutating func receive() async throws -> RPCV1.Frame {
        guard let frame = await frames.next() else { throw ConnectionClosed() }
        return frame
    }

    /// Every frame until the server closes the connection.
    package mutating func receiveUntilClosed() async -> [RPCV1.Frame] {
        var all: [RPCV1.Frame] = []
        while let frame = await frames.next() { all.append(frame) }
        return all
    }

    package func close() async {
        try? await channel.close()
    }

    package struct ConnectionClosed: Error {}
}
