import Foundation
import SanlianContracts
import SanlianEcho
import SanlianRPC
import SanlianTestHarness
import SanlianWire
import Testing

/// Async handlers run on threads of their own (`HandlerThreadPool`), so that one that computes
/// for long holds up neither other calls nor the connection's timers and pings.
@Suite("Handlers that compute for long", .timeLimit(.minutes(1)))
struct HandlerExecutorTests {
    @Test("a handler computing for three seconds delays neither other calls nor the connection's pings")
    func longHandler() async throws {
        try await withServer(configure: {
            // A ping every 100 ms, answered within 700 ms, or the connection is closed: a loop held
            // by the handler for a second would miss them (and a loaded test run does not).
            $0.connection.pingInterval = .milliseconds(100)
            $0.connection.pingTimeout = .milliseconds(700)
        }) { path, _ in
            // Three seconds: a test run starting a score of processes on two cores can keep this
            // test off the CPU for over one.
            try await withClient(path: path) { client in
                let echo = EchoV1.EchoClient(client, options: CallOptions(timeout: .seconds(20)))
                let connection = try await client.connection(deadline: .now + .seconds(5))
                async let busyDone: ContinuousClock.Instant = {
                    _ = try await echo.echo(EchoV1.EchoRequest(payload: [1], busyMs: 3000))
                    return .now
                }()
                // The busy call is running once Active counts it.
                try await eventually("the busy call to start") {
                    try await echo.active(EchoV1.EchoRequest()).index == 1
                }
                var answered: [ContinuousClock.Instant] = []
                let end = ContinuousClock.now + .milliseconds(600)
                while ContinuousClock.now < end {
                    _ = try await echo.echo(EchoV1.EchoRequest(payload: [2]))
                    answered.append(.now)
                }
                // Other calls are answered while the busy one computes: had it held the loop, the
                // first of them would have waited for it. (An order, which a busy machine
                // stretches but cannot swap; how fast is a benchmark's to say.)
                let busy = try await busyDone
                #expect(try #require(answered.first) < busy, "no other call was answered while the handler computed")
                #expect(
                    try await client.connection(deadline: .now + .seconds(5)) === connection,
                    "the connection was closed"
                )
            }
        }
    }

    @Test(
        "in the echo daemon, whose tasks run on its event loop, a handler computing for three seconds delays no other call",
        arguments: [false, true]
    )
    func longHandlerInTheDaemon(onEventLoop: Bool) async throws {
        let directory = try TemporaryDirectory()
        let path = directory.socket()
        // --on-event-loop answers Echo on the loop itself: the run that shows what a handler
        // holding the loop would cost, and that the test can tell.
        let outcome = try await Harness.run(
            "sanlian-echo",
            arguments: ["--socket", path, "--log-level", "info"] + (onEventLoop ? ["--on-event-loop"] : []),
            ready: { try await eventually("the echo daemon to listen") { UnixSocketPath.isListening(path) } }
        ) { daemon in
            try await withClient(path: path) { client in
                let echo = EchoV1.EchoClient(client, options: CallOptions(timeout: .seconds(20)))
                async let busyDone: ContinuousClock.Instant = {
                    _ = try await echo.echo(EchoV1.EchoRequest(payload: [1], busyMs: 3000))
                    return ContinuousClock.now
                }()
                try await daemon.waitForLog("Computing before answering")
                _ = try await echo.echo(EchoV1.EchoRequest(payload: [2]))
                let nextDone = ContinuousClock.now
                return (next: nextDone, busy: try await busyDone)
            }
        }
        #expect(outcome.exitedCleanly, "\(outcome.standardError)")
        // The call after the busy one is answered with it when the busy one holds the loop (both
        // answers leave together, in either order), and long before it otherwise: a busy machine
        // stretches the second, it cannot bring them together.
        if onEventLoop {
            #expect(
                outcome.value.busy - outcome.value.next < .milliseconds(100),
                "an Echo on the event loop did not hold the next call"
            )
        } else {
            #expect(
                outcome.value.busy - outcome.value.next > .milliseconds(300),
                "the concurrent call waited for the busy one"
            )
        }
    }

    @Test("handlers of a router run on its handler executor's threads")
    func executorThreads() async throws {
        let pool = HandlerThreadPool(threads: 2)
        #expect(pool.threadCount == 2)
        let ran = Locked<Int>(0)
        await withDiscardingTaskGroup { group in
            for _ in 0..<8 {
                group.addTask(executorPreference: pool) {
                    ran.withLock { $0 += 1 }
                }
            }
        }
        #expect(ran.value == 8)
    }
}
