import Foundation
import NIOCore
import SanlianEventLoop
import SanlianRPC
import SanlianTestHarness
import SanlianWire
import Subprocess
import Testing

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

@Suite("Socket lifecycle, reconnects and graceful shutdown", .timeLimit(.minutes(1)))
struct LifecycleTests {
    @Test("a second server on a live socket path refuses to start and leaves the first serving")
    func liveSocketNeverStolen() async throws {
        try await withServer { path, _ in
            let intruder = RPCServer(
                configuration: ServerConfiguration(socketPath: path),
                router: echoRouter(),
                logger: testLogger()
            )
            await #expect {
                try await intruder.run()
            } throws: { error in
                "\(error)".contains("already listening on \(path)")
            }
            try await withClient(path: path) { client in
                _ = try await client.unary(echo, EchoV1.EchoRequest())
            }
        }
    }

    @Test("a stale socket file left by a crash is removed and the server starts")
    func staleSocketCleaned() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.socket()
        // A socket file nobody listens on: bind, then close without unlinking.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        let bound = UnixSocketAddress.withSocketAddress(path) { address, length in bind(fd, address, length) }
        #expect(bound == 0)
        close(fd)
        #expect(FileManager.default.fileExists(atPath: path))
        try await withServer(path: path) { path, _ in
            try await withClient(path: path) { client in
                _ = try await client.unary(echo, EchoV1.EchoRequest())
            }
        }
        #expect(!FileManager.default.fileExists(atPath: path), "the socket file is removed on shutdown")
    }

    @Test("paths over 107 bytes are refused with a clear message; a regular file is never replaced")
    func pathChecks() async throws {
        let long = "/tmp/" + String(repeating: "x", count: 120) + ".sock"
        await #expect {
            try await RPCServer(
                configuration: ServerConfiguration(socketPath: long),
                router: echoRouter(),
                logger: testLogger()
            ).run()
        } throws: { error in
            "\(error)".contains("at most 107")
        }
        let directory = try TemporaryDirectory()
        let file = directory.socket("not-a-socket")
        _ = FileManager.default.createFile(atPath: file, contents: Data("keep me".utf8))
        await #expect {
            try await RPCServer(
                configuration: ServerConfiguration(socketPath: file),
                router: echoRouter(),
                logger: testLogger()
            ).run()
        } throws: { error in
            "\(error)".contains("not a socket")
        }
        #expect(FileManager.default.contents(atPath: file) == Data("keep me".utf8))
    }

    @Test("the socket directory is created 0750 and the socket is 0660")
    func permissions() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/run/sub/s.sock"
        try await withServer(path: path) { path, _ in
            let socketMode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            let directoryMode =
                try FileManager.default.attributesOfItem(atPath: directory.path + "/run/sub")[.posixPermissions] as? Int
            #expect(socketMode == 0o660)
            #expect(directoryMode == 0o750)
        }
    }

    @Test("while disconnected calls fail at once with UNAVAILABLE; wait-for-ready waits; the client reconnects")
    func reconnectWithBackoff() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.socket()
        try await withClient(
            path: path,
            configure: {
                $0.initialBackoff = .milliseconds(10)
                $0.maxBackoff = .milliseconds(50)
            },
            waitForConnection: false
        ) { client in
            let clock = ContinuousClock()
            let started = clock.now
            await #expect {
                try await client.unary(echo, EchoV1.EchoRequest(), options: CallOptions(timeout: .seconds(20)))
            } throws: { error in
                (error as? RPCError)?.code == .unavailable
            }
            #expect(clock.now - started < .seconds(5), "UNAVAILABLE comes at once, not after the deadline")

            // A waiting call is answered once a server appears.
            let (answered, answer) = AsyncStream.makeStream(of: Void.self)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    let response = try await client.unary(
                        echo,
                        EchoV1.EchoRequest(payload: [4]),
                        options: CallOptions(timeout: .seconds(20), waitForReady: true)
                    )
                    #expect(response.payload == [4])
                    answer.finish()
                }
                group.addTask {
                    try await withServer(path: path) { _, _ in
                        for await _ in answered {}
                    }
                }
                try await group.waitForAll()
            }
            // The server went away; a new one on the same path is found again.
            try await withServer(path: path) { _, _ in
                let response = try await client.unary(
                    echo,
                    EchoV1.EchoRequest(payload: [5]),
                    options: CallOptions(timeout: .seconds(10), waitForReady: true)
                )
                #expect(response.payload == [5])
            }
        }
    }

    @Test("a cancelled client closes its connection at once, even under a call that would never end")
    func cancelledClientCloses() async throws {
        let forever = testMethod("Hang", "Forever", kind: .serverStreaming)
        var router = echoRouter()
        router.register(
            forever,
            streaming: { _, writer, _ in
                try await writer.send(EchoV1.EchoResponse(payload: [1]))
                // Never ends by itself: only the call's cancellation ends it.
                let (never, _) = AsyncStream.makeStream(of: Void.self)
                for await _ in never {}
            }
        )
        try await withServer(router: router) { path, _ in
            let client = RPCClient(
                configuration: ClientConfiguration(
                    socketPath: path,
                    identity: IdentityClaim(department: "station", operatorID: "tester")
                ),
                logger: testLogger("client")
            )
            let running = Task { try await client.run() }
            let stream = try await client.serverStream(
                forever,
                EchoV1.EchoRequest(),
                options: CallOptions(timeout: .seconds(60), waitForReady: true)
            )
            var responses = stream.makeAsyncIterator()
            #expect(try await responses.next()?.payload == [1])
            // Cancelled as a ServiceGroup cancels its services: graceful shutdown would wait for
            // the call; cancellation must not.
            running.cancel()
            let returned = try await withThrowingTaskGroup(of: Bool.self) { race in
                race.addTask {
                    try await running.value
                    return true
                }
                race.addTask {
                    try await Task.sleep(for: .seconds(10))
                    // Winds the call and the client down, so that a failure does not hang.
                    stream.cancel()
                    client.stop()
                    return false
                }
                defer { race.cancelAll() }
                return try await race.next() == true
            }
            guard returned else {
                Issue.record("the cancelled client's run() did not return within 10 s")
                return
            }
            await #expect(throws: RPCError.self) { _ = try await responses.next() }
        }
    }

    @Test("a server going away fails nothing that was in flight: calls finish, then the connection closes")
    func gracefulDrainInProcess() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.socket()
        try await withClient(path: path, waitForConnection: false) { client in
            let response: EchoV1.EchoResponse = try await withServer(path: path) { _, _ in
                let connection = try await client.connection(waitForReady: true, deadline: .now + .seconds(10))
                return try await connection.unary(echo, EchoV1.EchoRequest(payload: [1], delayMs: 100))
            }
            #expect(response.payload == [1])
        }
    }

    @Test("SIGTERM to a real server process with calls in flight finishes them and exits 0")
    func sigtermDrainsRealProcess() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.socket()
        let binary = try Harness.executable("sanlian-echo")
        let result = try await Subprocess.run(
            .path(FilePath(binary)),
            arguments: ["--socket", path, "--log-level", "info"],
            environment: Harness.processEnvironment,
            input: .none,
            output: .discarded,
            error: .string(limit: 1 << 20)
        ) { execution in
            try await withClient(
                path: path,
                configure: { $0.initialBackoff = .milliseconds(10) },
                waitForConnection: false
            ) {
                client in
                _ = try await client.connection(waitForReady: true, deadline: .now + .seconds(20))
                // Ten streaming calls, each proven in flight by its first message before the signal.
                let calls = 10
                let (firstMessages, firstMessage) = AsyncStream.makeStream(of: Void.self)
                try await withThrowingTaskGroup(of: [UInt32].self) { group in
                    for _ in 0..<calls {
                        group.addTask {
                            let responses = try await client.serverStream(
                                EchoV1.Echo.stream,
                                EchoV1.EchoRequest(payload: [1], delayMs: 200, count: 3),
                                options: CallOptions(timeout: .seconds(20))
                            )
                            var indices: [UInt32] = []
                            for try await response in responses {
                                if indices.isEmpty { firstMessage.yield() }
                                indices.append(response.index)
                            }
                            return indices
                        }
                    }
                    var started = 0
                    for await _ in firstMessages {
                        started += 1
                        if started == calls { break }
                    }
                    try execution.send(signal: .terminate)
                    for try await indices in group {
                        #expect(indices == [0, 1, 2], "a call in flight at SIGTERM finished whole")
                    }
                }
            }
        }
        #expect(result.terminationStatus == TerminationStatus.exited(0))
        #expect(result.standardError.contains("Exited cleanly"))
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("a task waiting for readiness stops waiting when it is cancelled; later waiters still see the outcome")
    func readinessWaitIsCancellable() async throws {
        let signal = ReadinessSignal()
        let waiter = Task { try await signal.wait() }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        signal.succeed()
        try await signal.wait()
    }
}
