package import Logging
package import NIOCore
public import SanlianWire
import Synchronization

/// What a handler knows about the call it serves.
public struct ServerContext: Sendable {
    package let method: String
    /// Request metadata (on calls forwarded by the broker, `sanlian-department` and
    /// `sanlian-operator` are what the broker authenticated).
    package let metadata: Metadata
    package let deadline: NIODeadline
    /// The connection's peer (for calls through the broker: the broker).
    package let peer: PeerIdentity
    let baseLogger: Logger
    let call: InboundCall

    init(call: InboundCall, logger: Logger) {
        self.method = call.method
        self.metadata = call.metadata
        self.deadline = call.deadline
        self.peer = call.peer
        self.baseLogger = logger
        self.call = call
    }

    /// A logger carrying the method and call id. Built on first use: most calls never log, and
    /// setting metadata costs more than the rest of a small call.
    package var logger: Logger {
        var logger = baseLogger
        logger[metadataKey: "rpc.method"] = "\(method)"
        logger[metadataKey: "rpc.call_id"] = "\(call.id)"
        return logger
    }

    /// The connection the call arrived on (the broker routes later calls back over it).
    package var connection: RPCConnection { call.connection }

    /// The largest frame the caller accepts: a list answer is cut to fit it (`FrameBudget`).
    package var peerMaxFrameBytes: Int { peer.maxFrameBytes }

    /// Why the call was cancelled, or nil while it is live.
    package var cancellation: RPCError? { call.cancellation }

    /// Runs `handler` once the call is cancelled (deadline, Cancel frame, lost connection), at
    /// once if it already is. Immediate handlers use it to stop work they scheduled; task
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

    package init(logger: Logger) {
        self.logger = logger
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

    /// Serves a unary method.
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

    /// Serves a server-streaming method: the handler sends responses through the writer and
    /// returns to end the call with OK.
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

    /// Serves every call that arrives until the inbox is finished (its connection closed).
    package static func serve(_ calls: AsyncStream<InboundCall>, router: RPCRouter) async {
        await withDiscardingTaskGroup { group in
            for await call in calls {
                group.addTask { await router.handle(call) }
            }
        }
    }
}
