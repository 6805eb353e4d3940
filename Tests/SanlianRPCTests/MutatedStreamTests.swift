import NIOCore
import NIOEmbedded
import SanlianTestHarness
import SanlianWire
import Testing

@testable import SanlianRPC

/// A connection serving the echo service, fed thousands of mutated byte streams of a whole
/// session (handshake, calls, window updates, cancels, pings) in random pieces: it never traps,
/// everything it writes back is whole, well-formed frames, and when it closes on its own it has
/// told the peer why (a GoAway with an error status and a message).
@Suite("A connection fed mutated frame streams", .timeLimit(.minutes(1)))
struct MutatedStreamTests {
    static func session() throws -> [UInt8] {
        let echo = try EchoV1.EchoRequest(payload: [1, 2, 3]).serializedBytes()
        let frames: [RPCV1.Frame] = [
            RPCV1.Frame(kind: .hello(RPCV1.Hello(protocolVersion: 1, department: "station", clientName: "fuzz"))),
            RPCV1.Frame(
                callID: 1,
                kind: .start(
                    RPCV1.CallStart(
                        method: EchoV1.Echo.echo.path,
                        timeoutMicros: 60_000_000,
                        metadata: [RPCV1.MetadataEntry(key: "x-case", value: "1")],
                        payload: echo,
                        halfClose: true
                    )
                )
            ),
            RPCV1.Frame(
                callID: 3,
                kind: .start(
                    RPCV1.CallStart(
                        method: EchoV1.Echo.stream.path,
                        timeoutMicros: 60_000_000,
                        payload: echo,
                        halfClose: true,
                        initialWindow: 2
                    )
                )
            ),
            RPCV1.Frame(callID: 3, kind: .windowUpdate(RPCV1.WindowUpdate(messages: 2))),
            RPCV1.Frame(callID: 5, kind: .message(RPCV1.Message(payload: echo, halfClose: true))),
            RPCV1.Frame(callID: 3, kind: .cancel(RPCV1.Cancel(reason: "enough"))),
            RPCV1.Frame(kind: .ping(RPCV1.Ping(nonce: 7))),
            RPCV1.Frame(callID: 9, kind: .end(RPCV1.CallEnd(payload: echo, hasPayload: true))),
        ]
        return Array(try framed(frames).readableBytesView)
    }

    @Test("the session as it was sent is served: a Welcome, the echo, a Pong, and the connection open")
    func unmutatedSession() throws {
        let (inbox, _) = CallInbox.make(router: echoRouter())
        let (channel, _) = try embeddedConnection(dispatcher: inbox)
        defer { _ = try? channel.finish() }
        try channel.writeInbound(ByteBuffer(bytes: Self.session()))
        channel.embeddedEventLoop.run()
        let sent = try drainOutbound(channel).flatMap { $0 }
        #expect(channel.isActive)
        #expect(sent.contains { if case .welcome = $0.kind { true } else { false } })
        #expect(sent.contains { $0.callID == 1 && { if case .end = $0.kind { true } else { false } }($0) })
        #expect(sent.contains { $0.kind == .pong(RPCV1.Ping(nonce: 7)) })
    }

    @Test("no trap, only well-formed frames back, and a reason before any close", arguments: [1, 2, 3, 4] as [UInt64])
    func mutatedSessions(seed: UInt64) throws {
        var generator = SplitMix64(seed: seed)
        let session = try Self.session()
        var closed = 0
        for _ in 0..<500 {
            let input = mutated(session, maxEdits: 4, using: &generator)
            let (inbox, _) = CallInbox.make(router: echoRouter())
            let (channel, _) = try embeddedConnection(dispatcher: inbox)
            defer { _ = try? channel.finish() }
            var rest = input[...]
            while !rest.isEmpty, channel.isActive {
                let piece = rest.prefix(Int.random(in: 1...64, using: &generator))
                rest = rest.dropFirst(piece.count)
                _ = try? channel.writeInbound(ByteBuffer(bytes: piece))
                channel.embeddedEventLoop.run()
            }
            // Everything written back decodes (`frames(in:)` fails the test otherwise).
            let sent = try drainOutbound(channel).flatMap { $0 }
            guard !channel.isActive else { continue }
            closed += 1
            let goAway = sent.compactMap { frame -> RPCV1.GoAway? in
                if case .goAway(let goAway) = frame.kind { goAway } else { nil }
            }.last
            if let status = goAway?.status {
                #expect(status.code != .ok, "closed with an OK GoAway on \(input)")
                #expect(!status.message.isEmpty, "closed without saying why on \(input)")
            } else {
                Issue.record("closed without a GoAway on \(input)")
            }
        }
        // Most mutations break the handshake or a frame: the closing path was exercised.
        #expect(closed > 50)
    }
}
