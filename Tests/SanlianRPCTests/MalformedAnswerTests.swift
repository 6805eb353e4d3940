import NIOCore
import NIOEmbedded
import SanlianWire
import Synchronization
import Testing

@testable import SanlianRPC

/// A Message or CallEnd frame whose call id and kind read but whose content does not decode ends
/// that call alone, as gRPC ends a call whose response does not parse: the broker relays a
/// service's answers as they came, so a bad one must not cut the caller's other calls off.
@Suite("Malformed answers end their call, not the connection")
struct MalformedAnswerTests {
    /// A Frame of call `id` whose kind field (`tag`: 0x2A Message, 0x32 CallEnd, 0x22 CallStart)
    /// holds `content`, length-prefixed for the wire.
    static func frame(id: UInt8, tag: UInt8, content: [UInt8]) -> ByteBuffer {
        let body = [0x08, id, tag, UInt8(content.count)] + content
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(body.count))
        buffer.writeBytes(body)
        return buffer
    }

    /// A CallEnd whose status (field 1) claims 9 bytes where 2 follow.
    static let brokenEnd: [UInt8] = [0x0A, 0x09, 0x08, 0x05]
    /// A Message whose payload (field 1) claims 80 bytes where 1 follows.
    static let brokenMessage: [UInt8] = [0x0A, 0x50, 0x01]

    @Test("a malformed CallEnd fails its call with INTERNAL; the next call on the connection is answered")
    func malformedEnd() throws {
        let (channel, handler) = try Self.greeted()
        defer { _ = try? channel.finish() }
        let first = RecordingObserver()
        handler.startOutbound(id: 2, request: Self.request, observer: first)
        try channel.writeInbound(Self.frame(id: 2, tag: 0x32, content: Self.brokenEnd))
        let failed = try #require(first.outcome)
        #expect(failed.status.code == .internal)
        #expect(failed.status.message.hasPrefix("malformed CallEnd from the peer"), "\(failed.status.message)")
        #expect(channel.isActive)

        let second = RecordingObserver()
        handler.startOutbound(id: 4, request: Self.request, observer: second)
        try channel.writeInbound(
            framed([RPCV1.Frame(callID: 4, kind: .end(RPCV1.CallEnd(payload: [7], hasPayload: true)))])
        )
        #expect(second.outcome?.status.code == .ok)
        #expect(second.outcome?.payload == [7])
        let sent = try drainOutbound(channel).flatMap { $0 }
        #expect(!sent.contains { if case .goAway = $0.kind { true } else { false } })
    }

    @Test("a malformed Message fails its streaming call with INTERNAL and tells the callee to stop")
    func malformedMessage() throws {
        let (channel, handler) = try Self.greeted()
        defer { _ = try? channel.finish() }
        let observer = RecordingObserver()
        handler.startOutbound(id: 6, request: Self.request, observer: observer)
        try channel.writeInbound(framed([RPCV1.Frame(callID: 6, kind: .message(RPCV1.Message(payload: [1])))]))
        try channel.writeInbound(Self.frame(id: 6, tag: 0x2A, content: Self.brokenMessage))
        #expect(observer.messages == [[1]])
        #expect(observer.outcome?.status.code == .internal)
        let sent = try drainOutbound(channel).flatMap { $0 }
        #expect(sent.contains { $0.callID == 6 && { if case .cancel = $0.kind { true } else { false } }($0) })
        #expect(channel.isActive)
        // What the callee sends before it sees the Cancel is dropped, as for any ended call.
        try channel.writeInbound(Self.frame(id: 6, tag: 0x2A, content: Self.brokenMessage))
        try channel.writeInbound(framed([RPCV1.Frame(callID: 6, kind: .end(RPCV1.CallEnd()))]))
        #expect(observer.ends == 1)
        #expect(channel.isActive)
    }

    @Test("a malformed CallStart is still a protocol violation: GoAway INVALID_ARGUMENT and a close")
    func malformedStart() throws {
        let (channel, _) = try Self.greeted()
        defer { _ = try? channel.finish() }
        // A CallStart whose method (field 1) claims 9 bytes where 1 follows.
        try channel.writeInbound(Self.frame(id: 3, tag: 0x22, content: [0x0A, 0x09, 0x61]))
        // The pipeline's handlers leave in a task the close scheduled.
        channel.embeddedEventLoop.run()
        let sent = try drainOutbound(channel).flatMap { $0 }
        let goAway = sent.compactMap { if case .goAway(let goAway) = $0.kind { goAway } else { nil } }.first
        #expect(goAway?.status?.code == .invalidArgument)
        #expect(!channel.isActive)
    }

    static let request = CallRequest(method: "/sanlian.echo.v1.Echo/Echo", deadline: .now() + .seconds(60), payload: [])

    /// A connection after the peer's Hello, its Welcome read off.
    static func greeted() throws -> (channel: EmbeddedTransport, handler: RPCConnectionHandler) {
        let connection = try embeddedConnection()
        try connection.channel.writeInbound(framed([RPCV1.Frame(kind: .hello(RPCV1.Hello(protocolVersion: 1)))]))
        _ = try drainOutbound(connection.channel)
        return connection
    }
}

/// Records what an outbound call's observer is told.
private final class RecordingObserver: OutboundCallObserver {
    private let state = Mutex<(messages: [[UInt8]], outcome: CallOutcome?, ends: Int)>(([], nil, 0))
    var messages: [[UInt8]] { state.withLock { $0.messages } }
    var outcome: CallOutcome? { state.withLock { $0.outcome } }
    var ends: Int { state.withLock { $0.ends } }

    func received(message: [UInt8]) { state.withLock { $0.messages.append(message) } }
    func ended(_ outcome: CallOutcome) {
        state.withLock {
            $0.outcome = outcome
            $0.ends += 1
        }
    }
}
