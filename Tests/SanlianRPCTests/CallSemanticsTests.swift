import Foundation
import NIOCore
import SanlianRPC
import SanlianTestHarness
import SanlianWire
import Synchronization
import Testing

@Suite("RPC calls over a real Unix socket", .timeLimit(.minutes(1)))
struct CallSemanticsTests {
    @Test("1,000 concurrent calls on one connection are all answered correctly")
    func thousandConcurrentCalls() async throws {
        try await withServer { path, _ in
            try await withClient(path: path) { client in
                let connection = try await client.connection(deadline: .now + .seconds(5))
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<1_000 {
                        group.addTask {
                            let payload = Array("call \(index) 联防".utf8)
                            let response = try await connection.unary(echo, EchoV1.EchoRequest(payload: payload))
                            #expect(response.payload == payload)
                        }
                    }
                    try await group.waitForAll()
                }
            }
        }
    }

    @Test("a call past its deadline fails with DEADLINE_EXCEEDED and a handler that started is cancelled")
    func deadlineExceeded() async throws {
        struct Progress: Sendable {
            var started = false
            var sawCancellation = false
        }
        let progress = Locked(Progress())
        var router = echoRouter()
        let slow = testMethod("Slow", "Wait")
        router.register(slow) { _, _ in
            progress.withLock { $0.started = true }
            do {
                try await Task.sleep(for: .seconds(30))
            } catch {
                progress.withLock { $0.sawCancellation = true }
                throw error
            }
            return EchoV1.EchoResponse()
        }
        try await withServer(router: router) { path, _ in
            try await withClient(path: path) { client in
                await #expect {
                    try await client.unary(
                        slow,
                        EchoV1.EchoRequest(),
                        options: CallOptions(timeout: .milliseconds(200))
                    )
                } throws: { error in
                    (error as? RPCError)?.code == .deadlineExceeded
                }
                // Under load the deadline may pass before the handler's task starts; then it never
                // runs. If it did start, it must see the cancellation.
                try await waitUntil("the handler to see its deadline") {
                    let now = progress.value
                    return !now.started || now.sawCancellation
                }
                let final = progress.value
                #expect(!final.started || final.sawCancellation)
            }
        }
    }

    @Test("an expired call is never started: the server answers DEADLINE_EXCEEDED without running the handler")
    func expiredCallNeverStarts() async throws {
        let invocations = Atomic<Int>(0)
        var router = echoRouter()
        let counted = testMethod("Counted", "Count")
        router.register(counted) { _, _ in
            invocations.add(1, ordering: .relaxed)
            return EchoV1.EchoResponse()
        }
        try await withServer(router: router) { path, _ in
            // A raw peer can send timeout 0, which a well-behaved client never does.
            var peer = try await RawPeer.connect(path)
            _ = try await peer.handshake()
            try await peer.send(
                RPCV1.Frame(
                    callID: 1,
                    kind: .start(
                        RPCV1.CallStart(
                            method: counted.path,
                            timeoutMicros: 0,
                            halfClose: true
                        )
                    )
                )
            )
            let answer = try await peer.receive()
            guard case .end(let end)? = answer.kind else {
                Issue.record("expected CallEnd, got \(answer)")
                return
            }
            #expect(end.status?.code == .deadlineExceeded)
            #expect(invocations.load(ordering: .relaxed) == 0)
            // The client library refuses to send an already-expired call at all.
            _ = try await withClient(path: path) { client in
                await #expect(throws: RPCError.self) {
                    try await client.unary(
                        counted,
                        EchoV1.EchoRequest(),
                        options: CallOptions(deadline: .now - .seconds(1))
                    )
                }
            }
            #expect(invocations.load(ordering: .relaxed) == 0)
        }
    }

    @Test("cancelling the caller's task reaches the handler")
    func cancellationReachesHandler() async throws {
        var router = echoRouter()
        let method = testMethod("Slow", "Wait")
        let (events, continuation) = AsyncStream.makeStream(of: String.self)
        router.register(method) { _, _ in
            continuation.yield("started")
            do {
                try await Task.sleep(for: .seconds(30))
            } catch {
                continuation.yield("cancelled")
                throw error
            }
            return EchoV1.EchoResponse()
        }
        try await withServer(router: router) { path, _ in
            try await withClient(path: path) { client in
                var iterator = events.makeAsyncIterator()
                let call = Task {
                    try await client.unary(method, EchoV1.EchoRequest(), options: CallOptions(timeout: .seconds(30)))
                }
                #expect(await iterator.next() == "started")
                call.cancel()
                #expect(await iterator.next() == "cancelled")
                await #expect {
                    try await call.value
                } throws: { error in
                    (error as? RPCError)?.code == .cancelled
                }
            }
        }
    }

    @Test("metadata travels both ways; an unknown method is UNIMPLEMENTED; handler errors keep their status")
    func metadataAndErrors() async throws {
        var router = echoRouter()
        struct Boom: Error {}
        let failing = testMethod("Boom", "Fail")
        router.register(failing) { _, context in
            context.addTrailer("x-trailer", "seen")
            throw Boom()
        }
        try await withServer(router: router) { path, _ in
            try await withClient(path: path) { client in
                let connection = try await client.connection(deadline: .now + .seconds(5))
                let response = try await connection.unary(
                    echo,
                    EchoV1.EchoRequest(includeMetadata: true),
                    options: CallOptions(metadata: ["x-village": "511681104201"])
                )
                #expect(response.metadata.contains("x-village=511681104201"))
                #expect(response.department == "station")
                #expect(response.peerUID == getuid())

                let unknown = await connection.call(
                    method: "/sanlian.nothing.v1.Nope/Missing",
                    payload: [],
                    deadline: .now + .seconds(5)
                )
                #expect(unknown.status.code == .unimplemented)
                #expect(unknown.status.message.contains("/sanlian.nothing.v1.Nope/Missing"))

                let failed = await connection.call(method: failing.path, payload: [], deadline: .now + .seconds(5))
                #expect(failed.status.code == .internal)
                #expect(!failed.status.message.contains("Boom"))
                #expect(failed.metadata["x-trailer"] == nil || failed.metadata["x-trailer"] == "seen")

                await #expect {
                    try await connection.unary(echo, EchoV1.EchoRequest(failWithCode: 5))
                } throws: { error in
                    (error as? RPCError)?.code == .notFound
                }

                let malformed = await connection.call(
                    method: echo.path,
                    payload: [0xFF, 0xFF],
                    deadline: .now + .seconds(5)
                )
                #expect(malformed.status.code == .invalidArgument)
                #expect(malformed.status.message.contains("sanlian.echo.v1.EchoRequest"))
            }
        }
    }

    @Test(
        "an answer is packed into its CallEnd on the loop or off it, with its trailers; one that cannot be encoded is INVALID_ARGUMENT"
    )
    func answersPackedIntoTheirEnd() async throws {
        var router = echoRouter()
        // Task handlers run on Swift's pool here, off the connection's event loop; sync ones on it.
        let task = testMethod("Answers", "Task")
        router.register(task) { request, context in
            if request.count > 0 { context.addTrailer("x-served", "task") }
            return EchoV1.EchoResponse(payload: request.payload, department: request.delayMs > 0 ? "bad\0name" : "ok")
        }
        let sync = testMethod("Answers", "Sync")
        router.register(
            sync,
            sync: { request, context in
                if request.count > 0 { context.addTrailer("x-served", "sync") }
                return EchoV1.EchoResponse(
                    payload: request.payload,
                    department: request.delayMs > 0 ? "bad\0name" : "ok"
                )
            }
        )
        try await withServer(router: router) { path, _ in
            try await withClient(path: path) { client in
                let connection = try await client.connection(deadline: .now + .seconds(5))
                for (method, name) in [(task, "task"), (sync, "sync")] {
                    for (size, trailers) in [(0, false), (3, true), (70_000, false), (70_000, true)] {
                        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 * 7) }
                        let request = EchoV1.EchoRequest(payload: payload, count: trailers ? 1 : 0)
                        let outcome = await connection.call(
                            method: method.path,
                            payload: try request.serializedBytes(),
                            deadline: .now + .seconds(5)
                        )
                        #expect(outcome.status.code == .ok, "\(name), \(size) bytes")
                        let response = try EchoV1.EchoResponse(serializedBytes: outcome.payload ?? [])
                        #expect(response.payload == payload && response.department == "ok", "\(name), \(size) bytes")
                        #expect(outcome.metadata["x-served"] == (trailers ? name : nil), "\(name), \(size) bytes")
                    }
                    let refused = await connection.call(
                        method: method.path,
                        payload: try EchoV1.EchoRequest(delayMs: 1).serializedBytes(),
                        deadline: .now + .seconds(5)
                    )
                    #expect(refused.status.code == .invalidArgument, "\(name)")
                    #expect(refused.status.message.contains("the response cannot be encoded"), "\(name)")
                    #expect(refused.status.message.contains("department"), "\(name)")
                }
                // The connection serves on after the refusals.
                let after = try await connection.unary(echo, EchoV1.EchoRequest(payload: [1, 2, 3]))
                #expect(after.payload == [1, 2, 3])
            }
        }
    }

    @Test(
        "a streamed message over the caller's frame limit ends the call with RESOURCE_EXHAUSTED and stops the handler"
    )
    func oversizeStreamedMessage() async throws {
        try await withServer { path, _ in
            try await withClient(path: path, configure: { $0.connection.maxFrameBytes = 4096 }) { client in
                #expect(try await oversizeStreamProblems(client, limit: 4096) == [])
                // The handlers were stopped, and the connection serves on.
                try await waitUntil("the handler to stop") {
                    try await client.unary(EchoV1.Echo.active, EchoV1.EchoRequest()).index == 0
                }
                let echoed = try await client.unary(echo, EchoV1.EchoRequest(payload: [1, 2]))
                #expect(echoed.payload == [1, 2])
            }
        }
    }

    @Test("server streaming: a slow reader holds the sender to one window; nothing is lost")
    func streamingBackPressure() async throws {
        let sent = Atomic<Int>(0)
        var router = echoRouter()
        let stream = testMethod("Flood", "Flood", kind: .serverStreaming)
        router.register(stream) { request, writer, _ in
            for index in 0..<request.count {
                try await writer.send(EchoV1.EchoResponse(payload: request.payload, index: index))
                sent.add(1, ordering: .relaxed)
            }
        }
        let window: UInt32 = 16
        try await withServer(router: router) { path, _ in
            try await withClient(path: path) { client in
                let responses = try await client.serverStream(
                    stream,
                    EchoV1.EchoRequest(payload: Array(repeating: 7, count: 512), count: 500),
                    options: CallOptions(timeout: .seconds(30), window: window)
                )
                // Before reading anything, the sender stops at exactly one window.
                try await waitUntil("the sender to use its window") { sent.load(ordering: .relaxed) == Int(window) }
                #expect(sent.load(ordering: .relaxed) == Int(window))
                var received: [UInt32] = []
                for try await response in responses {
                    received.append(response.index)
                    // The sender is never more than one window (plus one batch of credit) ahead.
                    #expect(sent.load(ordering: .relaxed) <= received.count + Int(window) + Int(window / 2))
                    #expect(responses.buffered <= Int(window))
                }
                #expect(received == Array(0..<500))
            }
        }
    }

    @Test("a streaming caller that stops reading cancels the call on the server")
    func droppedStreamCancels() async throws {
        let (events, continuation) = AsyncStream.makeStream(of: String.self)
        var router = echoRouter()
        let stream = testMethod("Flood", "Forever", kind: .serverStreaming)
        router.register(stream) { _, writer, _ in
            do {
                var index: UInt32 = 0
                while true {
                    try await writer.send(EchoV1.EchoResponse(index: index))
                    index += 1
                }
            } catch {
                continuation.yield("stopped")
                throw error
            }
        }
        try await withServer(router: router) { path, _ in
            try await withClient(path: path) { client in
                do {
                    let responses = try await client.serverStream(stream, EchoV1.EchoRequest())
                    var iterator = responses.makeAsyncIterator()
                    _ = try await iterator.next()
                }
                var events = events.makeAsyncIterator()
                #expect(await events.next() == "stopped")
            }
        }
    }
}
