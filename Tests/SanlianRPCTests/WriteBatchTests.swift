import NIOCore
import NIOEmbedded
import SanlianWire
import Testing

@testable import SanlianRPC

/// How a connection groups the frames it writes (`ConnectionConfiguration.maxBatchedFrames`),
/// observed on an in-memory channel: which frames leave in which write is invisible on a socket.
@Suite("Write batches")
struct WriteBatchTests {
    @Test("answers to one read of 40 calls leave 16 at a time while it is handled, the rest when it ends")
    func answersLeaveInBatches() throws {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        var configuration = ConnectionConfiguration()
        configuration.maxBatchedFrames = 16
        let (inbox, _) = CallInbox.make(router: echoRouter())
        _ = try ConnectionPipeline.install(
            on: channel,
            role: .acceptor,
            configuration: configuration,
            authenticator: nil,
            claim: nil,
            dispatcher: inbox,
            peerCredentials: nil,
            logger: testLogger()
        )
        try channel.connect(to: SocketAddress(unixDomainSocketPath: "/sanlian-write-batch")).wait()

        // writeInbound is a read and its end.
        try channel.writeInbound(Self.framed([RPCV1.Frame(kind: .hello(RPCV1.Hello(protocolVersion: 1)))]))
        let welcome = try Self.frames(in: #require(try channel.readOutbound(as: ByteBuffer.self)))
        guard case .welcome? = welcome.first?.kind else {
            Issue.record("expected a Welcome, got \(welcome)")
            return
        }

        let calls = try (0..<40).map { index in
            try RPCV1.Frame(
                callID: UInt32(2 * index + 1),
                kind: .start(
                    RPCV1.CallStart(
                        method: EchoV1.Echo.echo.path,
                        timeoutMicros: 60_000_000,
                        payload: EchoV1.EchoRequest(payload: [UInt8(index)]).serializedBytes(),
                        halfClose: true
                    )
                )
            )
        }
        let pipeline = channel.pipeline.syncOperations
        pipeline.fireChannelRead(NIOAny(try Self.framed(calls)))
        var written = try Self.drainOutbound(channel)
        #expect(written.map(\.count) == [16, 16], "full batches go out while the read is handled")
        pipeline.fireChannelReadComplete()
        let rest = try Self.drainOutbound(channel)
        #expect(rest.map(\.count) == [8], "the rest goes out when the read ends")
        written += rest

        let ends = written.joined().compactMap { frame -> (UInt32, RPCV1.CallEnd)? in
            guard case .end(let end)? = frame.kind else { return nil }
            return (frame.callID, end)
        }
        #expect(ends.map(\.0) == calls.map(\.callID), "every call is answered, in order")
        #expect(ends.allSatisfy { $0.1.status?.code == .ok && $0.1.hasPayload })
    }

    /// The frames, each behind its length prefix, in one buffer: what a single socket read holds.
    private static func framed(_ frames: [RPCV1.Frame]) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        for frame in frames { try buffer.writeFrame(frame) }
        return buffer
    }

    private static func frames(in buffer: ByteBuffer) throws -> [RPCV1.Frame] {
        var buffer = buffer
        var decoder = FrameDecoder()
        var frames: [RPCV1.Frame] = []
        while let body = try decoder.decode(buffer: &buffer) { frames.append(try RPCV1.Frame(buffer: body)) }
        #expect(buffer.readableBytes == 0, "writes hold whole frames")
        return frames
    }

    /// The frames of each write the connection has made so far, one array per write.
    private static func drainOutbound(_ channel: EmbeddedChannel) throws -> [[RPCV1.Frame]] {
        var writes: [[RPCV1.Frame]] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { writes.append(try frames(in: buffer)) }
        return writes
    }
}
