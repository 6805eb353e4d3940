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
        var configuration = ConnectionConfiguration()
        configuration.maxBatchedFrames = 16
        let (inbox, _) = CallInbox.make(router: echoRouterOnEventLoop())
        let channel = try embeddedConnection(configuration: configuration, dispatcher: inbox).channel
        defer { _ = try? channel.finish() }

        // writeInbound is a read and its end.
        try channel.writeInbound(framed([RPCV1.Frame(kind: .hello(RPCV1.Hello(protocolVersion: 1)))]))
        let welcome = try frames(in: #require(channel.readOutbound()))
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
        channel.fireRead(try framed(calls))
        var written = try drainOutbound(channel)
        #expect(written.map(\.count) == [16, 16], "full batches go out while the read is handled")
        channel.fireReadComplete()
        let rest = try drainOutbound(channel)
        #expect(rest.map(\.count) == [8], "the rest goes out when the read ends")
        written += rest

        let ends = written.joined().compactMap { frame -> (UInt32, RPCV1.CallEnd)? in
            guard case .end(let end)? = frame.kind else { return nil }
            return (frame.callID, end)
        }
        #expect(ends.map(\.0) == calls.map(\.callID), "every call is answered, in order")
        #expect(ends.allSatisfy { $0.1.status?.code == .ok && $0.1.hasPayload })
    }

    @Test(
        "a frame written to a connection while another of its event loop reads leaves when that read ends, with no flush task"
    )
    func writesDuringAnotherReadLeaveWhenItEnds() throws {
        let loop = EmbeddedEventLoop()
        let reader = try embeddedConnection(on: loop)
        let written = try embeddedConnection(on: loop)
        defer {
            _ = try? reader.channel.finish()
            _ = try? written.channel.finish()
        }
        let flushes = LoopFlushList()
        reader.handler.loopFlushes = flushes
        written.handler.loopFlushes = flushes
        let ping = RPCV1.Frame(kind: .ping(RPCV1.Ping(nonce: 7)))

        // Outside any read, a write is flushed by a task of the loop.
        written.handler.send(ping)
        #expect(written.channel.readOutbound() == nil)
        loop.run()
        #expect(try drainOutbound(written.channel).map(\.count) == [1])

        // The start of a frame: a read that leaves nothing to answer.
        let partFrame = ByteBuffer(bytes: [0, 0, 0, 9])
        reader.channel.fireRead(partFrame)
        written.handler.send(ping)
        written.handler.send(ping)
        loop.run()
        #expect(written.channel.readOutbound() == nil, "no task flushed it")
        reader.channel.fireReadComplete()
        #expect(try drainOutbound(written.channel).map(\.count) == [2], "the read's end flushed both")

        // A read whose connection closes gets no connectionReadComplete; its end is the close.
        reader.channel.fireRead(partFrame)
        written.handler.send(ping)
        loop.run()
        #expect(written.channel.readOutbound() == nil)
        reader.channel.close()
        #expect(try drainOutbound(written.channel).map(\.count) == [1], "the reader's close flushed it")
        #expect(flushes.readers == 0)
    }
}
