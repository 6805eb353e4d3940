package import Logging
import NIOCore
import SanlianEventLoop
package import SanlianWire
import ServiceLifecycle
import Synchronization

/// Settings of an RPC client.
package struct ClientConfiguration: Sendable {
    package var socketPath: String
    package var identity: IdentityClaim
    package var connection = ConnectionConfiguration()
    package var initialBackoff = RPCDefaults.reconnectInitialBackoff
    package var maxBackoff = RPCDefaults.reconnectMaxBackoff
    /// Each backoff delay is varied by up to this fraction either way, so that many clients
    /// that lost one server do not all come back in the same instant.
    package var jitter = RPCDefaults.reconnectJitter

    package init(socketPath: String, identity: IdentityClaim) {
        self.socketPath = socketPath
        self.identity = identity
    }
}

/// A client connection that stays up: connects, handshakes, multiplexes calls over one
/// connection, and reconnects with exponential backoff and jitter when the peer goes away.
/// While disconnected, calls fail at once with UNAVAILABLE unless they ask to wait for ready.
///
/// `run()` keeps the connection; run it in a `ServiceGroup` or a task group for as long as calls
/// are made. With a router, the client also serves calls the peer starts on the connection (how a
/// department service serves through the broker).
package final class RPCClient: Service, Sendable {
    package let configuration: ClientConfiguration
    private let router: RPCRouter?
    private let logger: Logger
    private let onConnected: (@Sendable (RPCConnection) async -> Void)?

    private struct State {
        var current: RPCConnection?
        var lastError: String = "not connected yet"
        var waiters: [UInt64: CheckedContinuation<RPCConnection?, Never>] = [:]
        var nextWaiter: UInt64 = 0
        var stopped = false
        /// The peer refused our handshake (wrong credential, unsupported version): calls fail at
        /// once with this until a handshake succeeds, instead of waiting out their deadlines.
        var refusal: RPCError?
    }

    private let state = Mutex(State())

    /// - Parameter onConnected: runs after every successful handshake, before calls are let
    ///   through (e.g. to register served services with the broker).
    package init(
        configuration: ClientConfiguration,
        router: RPCRouter? = nil,
        logger: Logger,
        onConnected: (@Sendable (RPCConnection) async -> Void)? = nil
    ) {
        self.configuration = configuration
        self.router = router
        self.logger = logger
        self.onConnected = onConnected
    }

    /// The current connection.
    /// - Parameters:
    ///   - waitForReady: wait for a connection until `deadline` instead of failing at once.
    /// - Throws: UNAVAILABLE (naming the last connection error) or DEADLINE_EXCEEDED.
    package func connection(waitForReady: Bool = false, deadline: ContinuousClock.Instant) async throws(RPCError)
        -> RPCConnection
    {
        let (current, lastError, stopped, refusal) = state.withLock {
            ($0.current, $0.lastError, $0.stopped, $0.refusal)
        }
        if let current, current.isAcceptingCalls { return current }
        if let refusal { throw refusal }
        guard waitForReady, !stopped else {
            throw RPCError(.unavailable, "not connected to \(configuration.socketPath): \(lastError)")
        }
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        let timer = EpollEventLoopGroup.shared.any().scheduleTask(deadline: deadline.nioDeadline) {
            let waiter = self.state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(returning: nil)
        }
        defer { timer.cancel() }
        let connection = await withCheckedContinuation { (continuation: CheckedContinuation<RPCConnection?, Never>) in
            let ready: RPCConnection?? = state.withLock { state in
                if let current = state.current, current.isAcceptingCalls { return .some(current) }
                if state.stopped { return .some(nil) }
                state.waiters[id] = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
        guard let connection else {
            let (lastError, refusal) = state.withLock { ($0.lastError, $0.refusal) }
            if let refusal { throw refusal }
            throw RPCError(
                .deadlineExceeded,
                "no connection to \(configuration.socketPath) before the deadline: \(lastError)"
            )
        }
        return connection
    }

    /// A typed unary call over the current connection.
    package func unary<Request, Response>(
        _ method: WireMethod<Request, Response>,
        _ request: Request,
        options: CallOptions = CallOptions()
    ) async throws(RPCError) -> Response {
        let deadline = options.effectiveDeadline
        let outcome = try await call(
            method: method.path,
            payload: encodeRequest(request),
            metadata: options.metadata,
            deadline: deadline,
            waitForReady: options.waitForReady
        )
        return try outcome.response(as: Response.self)
    }

    /// A unary call with raw payload bytes. A call that never reached the server (the connection
    /// was lost or going away before it was sent) is tried again on the next connection, as
    /// gRPC's transparent retry does; once without wait-for-ready, until the deadline with it.
    package func call(
        method: String,
        payload: [UInt8],
        metadata: Metadata = Metadata(),
        deadline: ContinuousClock.Instant,
        waitForReady: Bool = false
    ) async throws(RPCError) -> CallOutcome {
        var attempts = 0
        while true {
            attempts += 1
            // A retry without wait-for-ready takes a connection only if one is up: it must not turn a
            // fail-fast call into one that waits out its deadline.
            let connection = try await connection(waitForReady: waitForReady, deadline: deadline)
            let outcome = await connection.call(
                method: method,
                payload: payload,
                metadata: metadata,
                deadline: deadline
            )
            let retry = outcome.neverSent && (waitForReady || attempts == 1) && ContinuousClock.now < deadline
            if !retry || Task.isCancelled { return outcome }
        }
    }

    /// A server-streaming call over the current connection.
    package func serverStream<Request, Response>(
        _ method: WireMethod<Request, Response>,
        _ request: Request,
        options: CallOptions = CallOptions()
    ) async throws(RPCError) -> ResponseStream<Response> {
        let deadline = options.effectiveDeadline
        var options = options
        options.deadline = deadline
        let connection = try await connection(waitForReady: options.waitForReady, deadline: deadline)
        return try connection.serverStream(method, request, options: options)
    }

    /// Keeps the connection up until the task is cancelled or graceful shutdown begins.
    ///
    /// Graceful shutdown lets calls in flight finish (`stop`); cancellation closes the connection
    /// at once. A connected client waits for its connection to close, and nothing else would close
    /// it when a `ServiceGroup` cancels its services (as it does when one of them ends early).
    package func run() async throws {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await self.maintainConnection()
            } onGracefulShutdown: {
                self.stop()
            }
        } onCancel: {
            self.stop()
            self.state.withLock { $0.current }?.close()
        }
    }

    /// Stops reconnecting and tells the current connection to go away.
    package func stop() {
        let current = updateAndWake(with: nil) { state in
            state.stopped = true
            return state.current
        }
        current?.goAway(RPCV1.Status(code: .unavailable, message: "the client is shutting down"))
    }

    /// Applies `change` to the state, then wakes every caller waiting for a connection with
    /// `connection` (nil: none is coming), unless `change` says not to.
    @discardableResult
    private func updateAndWake<R>(
        with connection: RPCConnection?,
        wake: Bool = true,
        _ change: (inout State) -> R
    ) -> R {
        let (result, waiters) = state.withLock { state in
            let result = change(&state)
            guard wake else { return (result, [CheckedContinuation<RPCConnection?, Never>]()) }
            defer { state.waiters = [:] }
            return (result, Array(state.waiters.values))
        }
        for waiter in waiters { waiter.resume(returning: connection) }
        return result
    }

    private var isStopped: Bool { state.withLock { $0.stopped } }

    private func maintainConnection() async {
        var backoff = configuration.initialBackoff
        while !Task.isCancelled, !isStopped {
            do {
                try await connectAndServe()
                backoff = configuration.initialBackoff
            } catch {
                let refused = (error as? RPCError).flatMap {
                    [.unauthenticated, .failedPrecondition].contains($0.code) ? $0 : nil
                }
                // A refusal is final for whoever waits now: they hear it at once.
                updateAndWake(with: nil, wake: refused != nil) { state in
                    state.lastError = "\(error)"
                    state.refusal = refused
                }
                logger.debug(
                    "Connection attempt failed",
                    metadata: ["socket.path": "\(configuration.socketPath)", "rpc.error": "\(error)"]
                )
            }
            if Task.isCancelled || isStopped { break }
            let jitter = 1 + Double.random(in: -configuration.jitter...configuration.jitter)
            do {
                try await Task.sleep(for: backoff * jitter)
            } catch {
                break
            }
            backoff = min(backoff * 2, configuration.maxBackoff)
        }
        let current = updateAndWake(with: nil) { state in
            state.stopped = true
            defer { state.current = nil }
            return state.current
        }
        current?.close()
    }

    private struct Dialled: Sendable {
        var connection: RPCConnection
        var handshake: EventLoopFuture<PeerIdentity>
        var calls: AsyncStream<InboundCall>?
        var inbox: CallInbox?
    }

    /// One connection's lifetime: dial, handshake, serve, wait for it to close.
    private func connectAndServe() async throws {
        try UnixSocketPath.validate(configuration.socketPath)
        let configuration = self.configuration
        let router = self.router
        let logger = self.logger
        let socket: UnixStreamConnection
        do {
            socket = try UnixStreamConnection.connect(
                to: configuration.socketPath,
                on: EpollEventLoopGroup.shared.nextLoop()
            )
        } catch {
            throw RPCError(.unavailable, error.message)
        }
        let dialled = try await socket.loop.submit {
            var inbox: CallInbox?
            var calls: AsyncStream<InboundCall>?
            if let router {
                let made = CallInbox.make(router: router)
                inbox = made.0
                calls = made.1
            }
            let (connection, handshake) = ConnectionSetup.install(
                on: socket,
                role: .dialer,
                configuration: configuration.connection,
                authenticator: nil,
                claim: configuration.identity,
                dispatcher: inbox,
                peerCredentials: nil,
                logger: logger
            )
            return Dialled(connection: connection, handshake: handshake, calls: calls, inbox: inbox)
        }.get()
        let connection = dialled.connection
        connection.closeFuture.whenComplete { _ in dialled.inbox?.finish() }
        do {
            _ = try await dialled.handshake.get()
        } catch {
            connection.close()
            throw error
        }
        await onConnected?(connection)
        updateAndWake(with: connection) { state in
            state.current = connection
            state.refusal = nil
        }
        logger.debug("Connected", metadata: ["socket.path": "\(configuration.socketPath)"])
        if Task.isCancelled {
            connection.close()
        } else if isStopped {
            connection.goAway(RPCV1.Status(code: .unavailable, message: "the client is shutting down"))
        }

        if let calls = dialled.calls, let router {
            await CallInbox.serve(calls, router: router)
        }
        _ = try? await connection.closeFuture.get()
        state.withLock { state in
            if state.current === connection {
                state.current = nil
                state.lastError = "the connection was closed"
            }
        }
        logger.debug("Disconnected", metadata: ["socket.path": "\(configuration.socketPath)"])
    }
}

/// What a generated typed client (`PatrolV1.RosterClient`, …) makes its calls through: a client
/// of the broker (`RPCClient`), or a stand-in in a test.
package protocol RPCCaller: Sendable {
    func unary<Request, Response>(
        _ method: WireMethod<Request, Response>,
        _ request: Request,
        options: CallOptions
    ) async throws(RPCError) -> Response

    func serverStream<Request, Response>(
        _ method: WireMethod<Request, Response>,
        _ request: Request,
        options: CallOptions
    ) async throws(RPCError) -> ResponseStream<Response>

    /// A unary call of the method at path `method` with an encoded request (an outbox's stored
    /// call).
    /// - Returns: the encoded response.
    func unary(method: String, payload: [UInt8], options: CallOptions) async throws(RPCError) -> [UInt8]
}

extension RPCClient: RPCCaller {
    package func unary(method: String, payload: [UInt8], options: CallOptions) async throws(RPCError) -> [UInt8] {
        let outcome = try await call(
            method: method,
            payload: payload,
            metadata: options.metadata,
            deadline: options.effectiveDeadline,
            waitForReady: options.waitForReady
        )
        if let error = outcome.error { throw error }
        return outcome.payload ?? []
    }
}
