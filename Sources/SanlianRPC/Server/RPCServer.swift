package import Logging
package import NIOCore
import SanlianEventLoop
import SanlianWire
import ServiceLifecycle
import Synchronization

/// Settings of an RPC server.
package struct ServerConfiguration: Sendable {
    package var socketPath: String
    package var connection = ConnectionConfiguration()
    package var authenticator: any Authenticator = AcceptAllAuthenticator()
    /// How long SIGTERM lets calls in flight finish before connections are closed.
    package var drainTimeout = RPCDefaults.drainTimeout
    package var socketMode: UInt32 = 0o660
    package var directoryMode: UInt32 = 0o750

    package init(socketPath: String) {
        self.socketPath = socketPath
    }
}

/// Serves RPC methods on a Unix socket. Binds safely (never steals a live socket), reads each
/// peer's credentials, runs every connection's calls concurrently, and on graceful shutdown stops
/// accepting, tells connections to go away, lets calls finish within the drain timeout, and
/// removes its socket file.
package final class RPCServer: Service, Sendable {
    package let configuration: ServerConfiguration
    private let router: RPCRouter
    private let dispatcherFactory: (@Sendable (RPCRouter) -> (any InboundCallDispatcher, AsyncStream<InboundCall>?))?
    private let logger: Logger
    private let connections = Mutex<[ObjectIdentifier: RPCConnection]>([:])
    private let shuttingDown = Atomic<Bool>(false)
    private let readiness = ReadinessSignal()
    private let onConnection: (@Sendable (RPCConnection) -> Void)?

    /// - Parameters:
    ///   - dispatcherFactory: replaces the default per-connection dispatch (the broker forwards
    ///     some calls instead of handling them); returns the dispatcher and, optionally, a stream
    ///     of calls to be served by `router`.
    ///   - onConnection: told of each connection once its handshake succeeds.
    package init(
        configuration: ServerConfiguration,
        router: RPCRouter,
        logger: Logger,
        dispatcherFactory: (@Sendable (RPCRouter) -> (any InboundCallDispatcher, AsyncStream<InboundCall>?))? = nil,
        onConnection: (@Sendable (RPCConnection) -> Void)? = nil
    ) {
        self.configuration = configuration
        self.router = router
        self.logger = logger
        self.dispatcherFactory = dispatcherFactory
        self.onConnection = onConnection
    }

    /// Suspends until the server is listening (or has failed to start).
    /// - Throws: the startup error.
    package func waitUntilListening() async throws {
        try await readiness.wait()
    }

    package func run() async throws {
        let path = configuration.socketPath
        do {
            try UnixSocketPath.prepareForBinding(path, directoryMode: configuration.directoryMode)
        } catch {
            readiness.fail(error)
            throw error
        }
        let (accepted, acceptedQueue) = AsyncStream.makeStream(of: AcceptedConnection.self)
        let listener: UnixListener
        do {
            listener = try UnixListener(path: path, backlog: 256, group: EpollEventLoopGroup.shared) { socket in
                let connection = self.accept(socket)
                // Accepted as the server stopped: nobody would serve it.
                if case .terminated = acceptedQueue.yield(connection) { connection.connection.close() }
            }
        } catch {
            // The error names the path and the call that failed ("cannot bind …: Address in use").
            let failure = SocketPathError(error.message)
            readiness.fail(failure)
            throw failure
        }
        listener.closeFuture.whenComplete { _ in acceptedQueue.finish() }
        UnixSocketPath.setMode(path, configuration.socketMode)
        let socketIdentity = UnixSocketPath.identity(of: path)
        defer {
            listener.close()
            UnixSocketPath.remove(path, ifIdentity: socketIdentity)
        }
        logger.info("Listening", metadata: ["socket.path": "\(path)"])
        readiness.succeed()

        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for await connection in accepted {
                    group.addTask { await self.serve(connection) }
                }
            }
        } onGracefulShutdown: {
            self.beginShutdown(listener)
        }
        logger.info("Stopped", metadata: ["socket.path": "\(path)"])
    }

    /// Stops accepting and drains every open connection.
    private func beginShutdown(_ listener: UnixListener) {
        guard !shuttingDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        logger.info("Draining", metadata: ["socket.path": "\(configuration.socketPath)"])
        listener.close()
        let open = connections.withLock { Array($0.values) }
        for connection in open { drain(connection) }
    }

    private func drain(_ connection: RPCConnection) {
        connection.goAway(RPCV1.Status(code: .unavailable, message: "the server is shutting down"))
        // Calls that outlive the drain period are cut off.
        connection.eventLoop.scheduleTask(in: TimeAmount(configuration.drainTimeout)) { connection.close() }
    }

    struct AcceptedConnection: Sendable {
        var connection: RPCConnection
        var handshake: EventLoopFuture<PeerIdentity>
        var calls: AsyncStream<InboundCall>?
        var finishCalls: @Sendable () -> Void
    }

    /// Starts the connection on an accepted socket. On the socket's event loop.
    private func accept(_ socket: UnixStreamConnection) -> AcceptedConnection {
        let credentials = ConnectionSetup.peerCredentials(of: socket)
        let dispatcher: any InboundCallDispatcher
        let calls: AsyncStream<InboundCall>?
        let finish: @Sendable () -> Void
        if let dispatcherFactory {
            (dispatcher, calls) = dispatcherFactory(router)
            finish = { [dispatcher] in dispatcher.finish() }
        } else {
            let (inbox, stream) = CallInbox.make(router: router)
            dispatcher = inbox
            calls = stream
            finish = { inbox.finish() }
        }
        let (connection, handshake) = ConnectionSetup.install(
            on: socket,
            role: .acceptor,
            configuration: configuration.connection,
            authenticator: configuration.authenticator,
            claim: nil,
            dispatcher: dispatcher,
            peerCredentials: credentials,
            logger: logger
        )
        return AcceptedConnection(connection: connection, handshake: handshake, calls: calls, finishCalls: finish)
    }

    private func serve(_ accepted: AcceptedConnection) async {
        let connection = accepted.connection
        let key = ObjectIdentifier(connection)
        connections.withLock { $0[key] = connection }
        defer { connections.withLock { _ = $0.removeValue(forKey: key) } }
        connection.closeFuture.whenComplete { _ in accepted.finishCalls() }
        if shuttingDown.load(ordering: .acquiring) { drain(connection) }
        if (try? await accepted.handshake.get()) != nil {
            onConnection?(connection)
        }
        if let calls = accepted.calls {
            await CallInbox.serve(calls, router: router)
        }
        _ = try? await connection.closeFuture.get()
    }
}

/// A one-shot readiness flag that tasks can wait on; a waiting task that is cancelled stops
/// waiting (with `CancellationError`).
package final class ReadinessSignal: Sendable {
    private enum State {
        case waiting([UInt64: CheckedContinuation<Void, any Error>], nextID: UInt64)
        case ready
        case failed(any Error)
    }

    private let state = Mutex(State.waiting([:], nextID: 0))

    package init() {}

    package func succeed() { complete(nil) }
    package func fail(_ error: any Error) { complete(error) }

    private func complete(_ error: (any Error)?) {
        let waiters: [CheckedContinuation<Void, any Error>] = state.withLock { state in
            guard case .waiting(let waiters, _) = state else { return [] }
            state = error.map { .failed($0) } ?? .ready
            return Array(waiters.values)
        }
        for waiter in waiters {
            if let error { waiter.resume(throwing: error) } else { waiter.resume() }
        }
    }

    package func wait() async throws {
        let id = state.withLock { state -> UInt64 in
            guard case .waiting(let waiters, let nextID) = state else { return 0 }
            state = .waiting(waiters, nextID: nextID + 1)
            return nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = state.withLock { state in
                    switch state {
                    case .waiting(var waiters, let nextID):
                        if Task.isCancelled { return .failure(CancellationError()) }
                        waiters[id] = continuation
                        state = .waiting(waiters, nextID: nextID)
                        return nil
                    case .ready: return .success(())
                    case .failed(let error): return .failure(error)
                    }
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard case .waiting(var waiters, let nextID) = state else { return nil }
                let waiter = waiters.removeValue(forKey: id)
                state = .waiting(waiters, nextID: nextID)
                return waiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }
}
