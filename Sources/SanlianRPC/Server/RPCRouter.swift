package import Logging
package import NIOCore
public import SanlianWire
import Synchronization

/// What a handler knows about the call it serves. Plain values and the call's own operations:
/// a handler needs nothing of the connection or the event loop under it.
public struct ServerContext: Sendable {
    /// The method path, "/package.Service/Method".
    package let method: String
    /// Request metadata (on calls forwarded by the broker, the `sanlian-` keys are what the broker
    /// authenticated: `docs/PROTOCOL.md` §7).
    package let metadata: Metadata
    /// The connection's peer (for calls through the broker: the broker).
    package let peer: PeerIdentity
    let baseLogger: Logger
    let call: InboundCall

    init(call: InboundCall, logger: Logger) {
        self.method = call.method
        self.metadata = call.metadata
        self.peer = call.peer
        self.baseLogger = logger
        self.call = call
    }

    /// When the caller stops waiting. Pass it on (`CallOptions(deadline:)`) when calling another
    /// service for this call, so that the callee gets what is left of the time.
    package var deadline: ContinuousClock.Instant { call.deadline.instant }

    /// Time left before the deadline (negative once it has passed).
    package var remaining: Duration { Duration(call.deadline - .now()) }

    /// A logger carrying the method and call id. Built on first use: most calls never log, and
    /// setting metadata costs more than the rest of a small call.
    package var logger: Logger {
        var logger = baseLogger
        logger[metadataKey: "rpc.method"] = "\(method)"
        logger[metadataKey: "rpc.call_id"] = "\(call.id)"
        return logger
    }

    /// The largest frame the caller accepts: a list answer is cut to fit it (`FrameBudget`).
    package var peerMaxFrameBytes: Int { peer.maxFrameBytes }

    /// Why the call was cancelled, or nil while it is live.
    package var cancellation: RPCError? { call.cancellation }

    /// Runs `handler` once the call is cancelled (deadline, Cancel frame, lost connection), at
    /// once if it already is. Immediate handlers use it to stop work they scheduled; async
    /// handlers see their task cancelled instead.
    package func onCancel(_ handler: @escaping @Sendable (RPCError) -> Void) {
        call.onCancel(handler)
    }

    /// Adds trailing metadata to the response.
    package func addTrailer(_ key: String, _ value: String) {
        call.addTrailer(key, value)
    }
}

/// Sends the response messages of a server-streaming call. `send` suspends while the caller has
/// not granted credit, so a slow reader slows the handler rather than growing a buffer.
public struct ResponseStreamWriter<Response: WireMessage>: Sendable {
    let call: InboundCall

    @usableFromInline
    init(call: InboundCall) {
        self.call = call
    }

    package func send(_ response: Response) async throws {
        try await call.send(try response.serializedBytes())
    }

    /// Sends a response already encoded as a `Response` (e.g. spliced together from stored
    /// bytes); the caller vouches for the encoding.
    package func send(encoded response: [UInt8]) async throws {
        try await call.send(response)
    }
}

/// The methods a process serves: method path → handler. Built before serving, then read-only.
///
/// A service registers async handlers (`register(_:handler:)`, `register(_:streaming:)`, or a
/// generated service protocol's `register(on:)`): each call runs in a task of its own on
/// `handlerExecutor`, threads apart from the event loop, so that a handler that computes for
/// long holds up neither other calls nor the connection's timers and pings. The `immediate:` and
/// `sync:` registrations run on the event loop itself, without a task: for the broker and the
/// echo service's benchmarked path, whose handlers never block.
///
/// The `register` methods are `@inlinable` so that decoding, the handler and encoding are
/// compiled for the concrete message types at the caller: compiled generically, every call
/// looked up type metadata at run time (`Result<Response, …>` alone was 4 % of a call). The type
/// is `public` for that alone: Swift 6.3 does not specialise members of `package` types in other
/// modules.
public struct RPCRouter: Sendable {
    @usableFromInline
    struct Entry: Sendable {
        @usableFromInline
        enum Body: Sendable {
            /// Runs in a task per call and ends it (`RPCRouter.answer`, `endStream`) before it returns; what
            /// it throws ends the call with that error.
            case task(@Sendable (InboundCall, ServerContext) async throws -> Void)
            /// Runs on the event loop as the call arrives, without a task, and answers the call
            /// (`RPCRouter.answer`), then or later.
            case immediate(@Sendable (InboundCall, ServerContext) -> Void)
        }

        var description: WireMethodDescription
        var body: Body

        @usableFromInline
        init(description: WireMethodDescription, body: Body) {
            self.description = description
            self.body = body
        }
    }

    private(set) var entries: [String: Entry] = [:]
    package var logger: Logger
    /// Where async handlers run: `HandlerThreadPool.shared` unless the process chose otherwise;
    /// nil runs them on the global executor (the broker, whose handlers only wait on its ledger).
    package let handlerExecutor: (any TaskExecutor)?

    package init(logger: Logger, handlerExecutor: (any TaskExecutor)? = HandlerThreadPool.shared) {
        self.logger = logger
        self.handlerExecutor = handlerExecutor
    }

    /// Every service and its methods, in registration order of their names.
    package var services: [String: [WireMethodDescription]] {
        Dictionary(grouping: entries.values.map(\.description), by: \.service)
            .mapValues { $0.sorted { $0.method < $1.method } }
    }

    @usableFromInline
    mutating func add(_ description: WireMethodDescription, _ body: Entry.Body) {
        entries[description.path] = Entry(description: description, body: body)
    }

    /// Serves a unary method with an async handler, run on `handlerExecutor`.
    @inlinable
    package mutating func register<Request, Response>(
        _ method: WireMethod<Request, Response>,
        handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        add(
            method.description,
            .task { call, context in
                let request = try Self.decodeRequest(Request.self, call)
                Self.answer(call, response: try await handler(request, context))
            }
        )
    }

    /// Serves a unary method whose handler also needs the connection the call arrived on (the
    /// broker's registration routes later calls back over it). Async, like `register(_:handler:)`.
    package mutating func register<Request, Response>(
        _ method: WireMethod<Request, Response>,
        withConnection handler: @escaping @Sendable (Request, ServerContext, RPCConnection) async throws -> Response
    ) {
        add(
            method.description,
            .task { call, context in
                let request = try Self.decodeRequest(Request.self, call)
                Self.answer(call, response: try await handler(request, context, call.connection))
            }
        )
    }

    /// Serves a unary method whose handler does not suspend but answers later through `respond`
    /// (e.g. once a batched write commits). It runs on the connection's event loop as the call
    /// arrives, without a task: it must not block, and must call `respond` exactly once.
    @inlinable
    package mutating func register<Request, Response>(
        _ method: WireMethod<Request, Response>,
        immediate handler: @escaping @Sendable (Request, ServerContext, _ respond: ImmediateResponder<Response>) -> Void
    ) {
        add(
            method.description,
            .immediate { call, context in
                let request: Request
                do {
                    request = try Self.decodeRequest(Request.self, call)
                } catch {
                    Self.answer(call, error: error)
                    return
                }
                handler(request, context, ImmediateResponder(call: call))
            }
        )
    }

    /// Serves a unary method whose handler never suspends: it runs on the connection's event loop
    /// as the call arrives, without a task, and its return value is the response. For handlers
    /// that compute an answer from the request and memory alone; anything that waits belongs in a
    /// task handler (or an immediate one that answers later).
    @inlinable
    package mutating func register<Request, Response>(
        _ method: WireMethod<Request, Response>,
        sync handler: @escaping @Sendable (Request, ServerContext) throws -> Response
    ) {
        add(
            method.description,
            .immediate { call, context in
                do {
                    let request = try Self.decodeRequest(Request.self, call)
                    Self.answer(call, response: try handler(request, context))
                } catch {
                    Self.answer(call, error: error)
                }
            }
        )
    }

    /// Serves a server-streaming method: the handler, run on `handlerExecutor`, sends responses
    /// through the writer and returns to end the call with OK.
    @inlinable
    package mutating func register<Request, Response>(
        _ method: WireMethod<Request, Response>,
        streaming handler:
            @escaping @Sendable (Request, ResponseStreamWriter<Response>, ServerContext) async throws ->
            Void
    ) {
        add(
            method.description,
            .task { call, context in
                let request = try Self.decodeRequest(Request.self, call)
                try await handler(request, ResponseStreamWriter(call: call), context)
                Self.endStream(call)
            }
        )
    }

    @inlinable
    static func decodeRequest<Request: WireMessage>(_ type: Request.Type, _ call: InboundCall) throws
        -> Request
    {
        do {
            return try Request(serializedBytes: call.payload)
        } catch {
            throw invalidRequest(Request.protoName, error)
        }
    }

    @usableFromInline
    static func invalidRequest(_ messageName: String, _ error: WireError) -> any Error {
        RPCError(.invalidArgument, "the request is not a valid \(messageName): \(error.message)")
    }

    /// Ends `call` with OK, the trailers its handler added, and `response`, packed by protobuf-c
    /// straight into the CallEnd frame (one that cannot be encoded ends the call with the reason).
    @usableFromInline
    static func answer<Response: WireMessage>(_ call: InboundCall, response: Response) {
        call.finish { buffer, callID, trailers throws(WireError) in
            try buffer.writeFrame(callID: callID, endingOKWith: response, trailers: trailers)
        }
    }

    /// Ends a streaming `call` whose handler returned: OK, the trailers its handler added, and no
    /// payload (its responses went out as messages).
    @usableFromInline
    static func endStream(_ call: InboundCall) {
        call.finish(CallOutcome(status: RPCV1.Status(code: .ok), metadata: call.trailers))
    }

    /// Ends `call` with `error` (an `RPCError` as it is, anything else as INTERNAL).
    @usableFromInline
    static func answer(_ call: InboundCall, error: any Error) {
        call.finish(CallOutcome(error: RPCError(handlerError: error)))
    }

    /// What became of a call `start(_:)` was given.
    enum Start {
        /// Its method is not served here; the call is untouched.
        case unknown
        /// Its handler is immediate and ran (on the event loop, without a task).
        case ran
        /// Its handler needs a task (`handle(_:)`); the method answers as `kind` says.
        case needsTask(WireMethodKind)
    }

    /// Runs `call`'s handler at once if it is immediate; otherwise says what the call needs. One
    /// lookup of its method, as this runs for every call a connection accepts.
    func start(_ call: InboundCall) -> Start {
        guard let entry = entries[call.method] else { return .unknown }
        guard case .immediate(let body) = entry.body else { return .needsTask(entry.description.kind) }
        body(call, ServerContext(call: call, logger: logger))
        return .ran
    }

    /// Runs one call to completion: decodes, invokes, answers. The task running it is cancelled as
    /// soon as the call is (Cancel frame, deadline, lost connection), so the handler sees
    /// `Task.isCancelled` and cancellable waits end.
    package func handle(_ call: InboundCall) async {
        guard let entry = entries[call.method] else {
            call.finish(CallOutcome(error: RPCError(.unimplemented, "unknown method \(call.method)")))
            return
        }
        let invoke: @Sendable (InboundCall, ServerContext) async throws -> Void
        switch entry.body {
        case .immediate(let body):
            body(call, ServerContext(call: call, logger: logger))
            return
        case .task(let body):
            invoke = body
        }
        let context = ServerContext(call: call, logger: logger)
        await call.runCancellable {
            do {
                try await invoke(call, context)
            } catch {
                let rpcError = RPCError(handlerError: error)
                if rpcError.code == .internal, !(error is RPCError) {
                    context.logger.debug("Handler failed", metadata: ["rpc.error": "\(error)"])
                }
                call.finish(CallOutcome(error: rpcError))
            }
        }
    }
}

/// How an immediate handler (`RPCRouter.register(_:immediate:)`) answers its call, exactly once:
/// with the response or an error. A value holding the call rather than a closure, which cost a
/// heap allocation per call.
public struct ImmediateResponder<Response: WireMessage>: Sendable {
    @usableFromInline
    let call: InboundCall

    @usableFromInline
    init(call: InboundCall) {
        self.call = call
    }

    /// Runs `body` after `delay` on the connection's event loop, for an immediate handler that
    /// answers later without a task.
    /// - Returns: cancels it, if it has not run yet.
    package func schedule(after delay: Duration, _ body: @escaping @Sendable () -> Void) -> @Sendable () -> Void {
        let scheduled = call.connection.eventLoop.scheduleTask(in: TimeAmount(delay), body)
        return { scheduled.cancel() }
    }

    @inlinable
    package func callAsFunction(_ result: Result<Response, any Error>) {
        switch result {
        case .success(let response):
            RPCRouter.answer(call, response: response)
        case .failure(let error):
            RPCRouter.answer(call, error: error)
        }
    }
}

/// Hands each call a connection accepts to the task that serves that connection.
package struct CallInbox: InboundCallDispatcher {
    let router: RPCRouter
    let continuation: AsyncStream<InboundCall>.Continuation

    /// - Returns: the inbox and the stream its calls come out of.
    package static func make(router: RPCRouter) -> (CallInbox, AsyncStream<InboundCall>) {
        let (stream, continuation) = AsyncStream.makeStream(of: InboundCall.self)
        return (CallInbox(router: router, continuation: continuation), stream)
    }

    package func dispatch(_ call: InboundCall) -> DispatchedCall {
        let kind: WireMethodKind
        switch router.start(call) {
        case .unknown:
            // Answered here, on the event loop, without a task.
            call.finish(CallOutcome(error: RPCError(.unimplemented, "unknown method \(call.method)")))
            return .bounded
        case .ran:
            return .bounded
        case .needsTask(let needed):
            kind = needed
        }
        if case .terminated = continuation.yield(call) {
            call.finish(CallOutcome(error: RPCError(.unavailable, "the connection is closing")))
        }
        return kind.serverStreams ? .open : .bounded
    }

    package func finish() { continuation.finish() }

    /// Serves every call that arrives until the inbox is finished (its connection closed), each
    /// in a task on the router's handler executor.
    package static func serve(_ calls: AsyncStream<InboundCall>, router: RPCRouter) async {
        await withDiscardingTaskGroup { group in
            for await call in calls {
                group.addTask(executorPreference: router.handlerExecutor) { await router.handle(call) }
            }
        }
    }
}
