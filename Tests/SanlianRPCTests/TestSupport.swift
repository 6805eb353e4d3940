import Foundation
import Logging
import NIOCore
import SanlianContracts
import SanlianEcho
import SanlianRPC
import SanlianTestHarness
import SanlianWire
import ServiceLifecycle

/// Quiet unless SANLIAN_TEST_LOGS is set.
func testLogger(_ label: String = "test") -> Logger {
    harnessLogger(label)
}

/// The echo service as a department service serves it: the generated protocol's async handlers,
/// off the event loop.
func echoRouter() -> RPCRouter {
    var router = RPCRouter(logger: testLogger("router"))
    EchoServer().register(on: &router)
    return router
}

/// The echo service with Echo and Active answered on the event loop as calls arrive (the
/// benchmark's path), for tests of what a connection writes while it reads.
func echoRouterOnEventLoop() -> RPCRouter {
    var router = RPCRouter(logger: testLogger("router"))
    EchoServer().registerOnEventLoop(on: &router)
    return router
}

/// Runs an RPC server in a ServiceGroup for the duration of `body`, then shuts it down gracefully.
func withServer<T: Sendable>(
    router: RPCRouter = echoRouter(),
    path: String? = nil,
    configure: (inout ServerConfiguration) -> Void = { _ in },
    _ body: @Sendable (String, RPCServer) async throws -> T
) async throws -> T {
    let directory = try TemporaryDirectory()
    let socketPath = path ?? directory.socket()
    var configuration = ServerConfiguration(socketPath: socketPath)
    configure(&configuration)
    let server = RPCServer(configuration: configuration, router: router, logger: testLogger("server"))
    let group = ServiceGroup(services: [server], logger: testLogger("group"))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            try await server.waitUntilListening()
            let result = try await body(socketPath, server)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            _ = directory
            return result
        } catch {
            await group.triggerGracefulShutdown()
            tasks.cancelAll()
            throw error
        }
    }
}

/// Runs a client (its reconnect loop) for the duration of `body`, connected before `body` starts.
func withClient<T: Sendable>(
    path: String,
    identity: IdentityClaim = IdentityClaim(department: "station", operatorID: "tester"),
    router: RPCRouter? = nil,
    configure: (inout ClientConfiguration) -> Void = { _ in },
    waitForConnection: Bool = true,
    _ body: @Sendable (RPCClient) async throws -> T
) async throws -> T {
    var configuration = ClientConfiguration(socketPath: path, identity: identity)
    configure(&configuration)
    let client = RPCClient(configuration: configuration, router: router, logger: testLogger("client"))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await client.run() }
        defer {
            client.stop()
            tasks.cancelAll()
        }
        if waitForConnection {
            _ = try await client.connection(waitForReady: true, deadline: .now + .seconds(10))
        }
        return try await body(client)
    }
}

/// Waits for state that has no event to wait on, with a deadline (the harness's `eventually`).
func waitUntil(
    timeout: Duration = .seconds(10),
    _ what: String,
    _ condition: @Sendable () async throws -> Bool
) async throws {
    try await eventually(what, timeout: timeout, condition)
}

let echo = EchoV1.Echo.echo

/// A method of a test-only service `sanlian.test.v1.<service>` taking and returning echo messages.
func testMethod(_ service: String, _ method: String, kind: WireMethodKind = .unary)
    -> WireMethod<EchoV1.EchoRequest, EchoV1.EchoResponse>
{
    WireMethod(service: "sanlian.test.v1.\(service)", method: method, kind: kind)
}
