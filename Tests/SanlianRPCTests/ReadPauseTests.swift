import NIOCore
import NIOEmbedded
import SanlianWire
import Synchronization
import Testing

@testable import SanlianRPC

/// A connection stops reading while the peer has `ConnectionConfiguration.maxBoundedInboundCalls`
/// unary calls waiting for their answers, and reads on once a quarter of them are answered.
@Suite("Read pauses")
struct ReadPauseTests {
    @Test("calls past the limit wait unread until a quarter of those before them are answered; streams do not count")
    func callsPastTheLimitWait() throws {
        let loop = EmbeddedEventLoop()
        let dispatcher = HoldingDispatcher()
        let channel = try Self.greeted(on: loop, pausingAt: 8, dispatcher: dispatcher).channel
        defer { Self.finish(channel, dispatcher) }

        // Streams first: open calls, however many, never pause anything.
        let streams = (0..<6).map { Self.start(id: UInt32(2 * $0 + 1), method: HoldingDispatcher.streamMethod) }
        let unary = (6..<26).map { Self.start(id: UInt32(2 * $0 + 1), method: echo.path) }
        try channel.writeInbound(framed(streams + unary))
        #expect(dispatcher.ids == (streams + unary.prefix(8)).map(\.callID), "8 unary calls, then the read pauses")

        // 7 left of 8: not yet a quarter answered.
        try dispatcher.answer(streams.count)
        loop.run()
        #expect(dispatcher.ids.count == streams.count + 8)
        // 6 left: reading resumes (with the frames held back) until 8 wait again.
        try dispatcher.answer(streams.count + 1)
        loop.run()
        #expect(dispatcher.ids == (streams + unary.prefix(10)).map(\.callID))

        // Answered one by one, every call is dispatched in order, never more than 8 waiting.
        var answered = streams.count + 2
        while answered < dispatcher.ids.count {
            try dispatcher.answer(answered)
            answered += 1
            loop.run()
            #expect(dispatcher.ids.count - answered <= 8)
        }
        #expect(dispatcher.ids == (streams + unary).map(\.callID))
    }

    @Test("a side waiting for answers to its own calls keeps reading; starting one ends a pause")
    func ownCallsKeepReading() throws {
        let loop = EmbeddedEventLoop()
        let dispatcher = HoldingDispatcher()
        let (channel, handler) = try Self.greeted(on: loop, pausingAt: 4, dispatcher: dispatcher)
        defer { Self.finish(channel, dispatcher) }
        let calls = (0..<12).map { Self.start(id: UInt32(2 * $0 + 1), method: echo.path) }

        // Paused at 4; a handler then calls the peer, whose answer comes on this connection.
        try channel.writeInbound(framed(Array(calls[0..<6])))
        #expect(dispatcher.ids.count == 4)
        let request = CallRequest(method: echo.path, deadline: .now() + .seconds(60), payload: [])
        handler.startOutbound(id: 2, request: request, observer: IgnoringObserver())
        loop.run()
        #expect(dispatcher.ids == calls[0..<6].map(\.callID), "the frames held back are read")

        // With that call unanswered, more calls than the limit are all read.
        try channel.writeInbound(framed(Array(calls[6..<12])))
        #expect(dispatcher.ids == calls.map(\.callID))
    }

    @Test("a caller with 64 calls in flight has them all answered, the server never running more than its limit")
    func floodIsServedInTurns() async throws {
        let running = Atomic<Int>(0)
        let mostRunning = Atomic<Int>(0)
        var router = echoRouter()
        let slow = testMethod("Slow", "Count")
        router.register(slow) { _, _ in
            let now = running.add(1, ordering: .relaxed).newValue
            mostRunning.max(now, ordering: .relaxed)
            defer { running.subtract(1, ordering: .relaxed) }
            try await Task.sleep(for: .milliseconds(20))
            return EchoV1.EchoResponse()
        }
        try await withServer(router: router, configure: { $0.connection.maxBoundedInboundCalls = 8 }) { path, _ in
            try await withClient(path: path) { client in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<64 {
                        group.addTask { _ = try await client.unary(slow, EchoV1.EchoRequest()) }
                    }
                    try await group.waitForAll()
                }
            }
        }
        #expect(mostRunning.load(ordering: .relaxed) <= 8)
        #expect(mostRunning.load(ordering: .relaxed) > 0)
    }

    /// A connection to `dispatcher` that pauses at `limit` bounded calls, after the peer's Hello.
    private static func greeted(
        on loop: EmbeddedEventLoop,
        pausingAt limit: Int,
        dispatcher: HoldingDispatcher
    ) throws -> (channel: EmbeddedTransport, handler: RPCConnectionHandler) {
        var configuration = ConnectionConfiguration()
        configuration.maxBoundedInboundCalls = limit
        let connection = try embeddedConnection(on: loop, configuration: configuration, dispatcher: dispatcher)
        try connection.channel.writeInbound(framed([RPCV1.Frame(kind: .hello(RPCV1.Hello(protocolVersion: 1)))]))
        return connection
    }

    private static func finish(_ channel: EmbeddedTransport, _ dispatcher: HoldingDispatcher) {
        _ = try? channel.finish()
        // The calls hold the connection, which holds the dispatcher.
        dispatcher.forget()
    }

    private static func start(id: UInt32, method: String) -> RPCV1.Frame {
        RPCV1.Frame(
            callID: id,
            kind: .start(RPCV1.CallStart(method: method, timeoutMicros: 60_000_000, halfClose: true))
        )
    }
}

/// An outbound call's observer that wants nothing from it.
private final class IgnoringObserver: OutboundCallObserver {
    func received(message: [UInt8]) {}
    func ended(_ outcome: CallOutcome) {}
    func relay(_ frame: ByteBuffer, final: Bool) {}
}

/// Keeps every call it is given, unanswered until the test answers it; calls of `streamMethod`
/// are streams, the rest unary.
private final class HoldingDispatcher: InboundCallDispatcher {
    static let streamMethod = "/sanlian.test.v1.Held/Stream"
    private let calls = Mutex<[InboundCall]>([])

    var ids: [UInt32] { calls.withLock { $0.map(\.id) } }

    func dispatch(_ call: InboundCall) -> DispatchedCall {
        calls.withLock { $0.append(call) }
        return call.method == Self.streamMethod ? .open : .bounded
    }

    /// Answers the call dispatched `index`-th.
    func answer(_ index: Int) throws {
        let call = try #require(calls.withLock { $0.count > index ? $0[index] : nil })
        call.finish(CallOutcome(status: RPCV1.Status(code: .ok), metadata: Metadata(), payload: nil))
    }

    func forget() { calls.withLock { $0 = [] } }

    func finish() {}
}
