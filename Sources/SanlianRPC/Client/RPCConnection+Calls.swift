package import NIOCore
package import SanlianWire
import Synchronization

extension RPCConnection {
    /// Makes a unary call with raw payload bytes. Cancelling the calling task cancels the call.
    /// - Returns: the outcome; `outcome.error` is nil when the status is OK.
    package func call(
        method: String,
        payload: [UInt8],
        metadata: Metadata = Metadata(),
        deadline: ContinuousClock.Instant
    ) async -> CallOutcome {
        let observer = UnaryObserver()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                observer.install(continuation)
                let id = startCall(
                    CallRequest(method: method, metadata: metadata, deadline: deadline.nioDeadline, payload: payload),
                    observer: observer
                )
                observer.started(id: id, connection: self)
            }
        } onCancel: {
            observer.cancel()
        }
    }

    /// Makes a typed unary call.
    /// - Throws: `RPCError` with the callee's status, or DEADLINE_EXCEEDED / CANCELLED / UNAVAILABLE.
    package func unary<Request, Response>(
        _ method: WireMethod<Request, Response>,
        _ request: Request,
        options: CallOptions = CallOptions()
    ) async throws(RPCError) -> Response {
        let payload = try encodeRequest(request)
        let outcome = await call(
            method: method.path,
            payload: payload,
            metadata: options.metadata,
            deadline: options.effectiveDeadline
        )
        return try outcome.response(as: Response.self)
    }

    /// Starts a server-streaming call. Messages arrive as the returned sequence is iterated; the
    /// callee may send only as many as the caller has consumed plus one window.
    package func serverStream<Request, Response>(
        _ method: WireMethod<Request, Response>,
        _ request: Request,
        options: CallOptions = CallOptions()
    ) throws(RPCError) -> ResponseStream<Response> {
        let payload = try encodeRequest(request)
        let state = StreamObserver(window: max(1, options.window))
        let id = startCall(
            CallRequest(
                method: method.path,
                metadata: options.metadata,
                deadline: options.effectiveDeadline.nioDeadline,
                payload: payload,
                window: max(1, options.window)
            ),
            observer: state
        )
        state.started(id: id, connection: self)
        return ResponseStream(state: state)
    }
}

extension CallOutcome {
    /// The typed response of a successful unary call.
    /// - Throws: the call's error, or INTERNAL when the response does not decode.
    package func response<Response: WireMessage>(as type: Response.Type) throws(RPCError) -> Response {
        if let error { throw error }
        do {
            return try Response(serializedBytes: payload ?? [])
        } catch {
            throw RPCError(.internal, "the response is not a valid \(Response.protoName): \(error.message)")
        }
    }
}

/// Encodes a request for the wire, as INVALID_ARGUMENT when it cannot be encoded.
func encodeRequest(_ request: some WireMessage) throws(RPCError) -> [UInt8] {
    do {
        return try request.serializedBytes()
    } catch {
        throw RPCError(.invalidArgument, "the request cannot be encoded: \(error.message)")
    }
}

/// Waits for the one outcome of a unary call.
final class UnaryObserver: OutboundCallObserver {
    private struct State {
        var continuation: CheckedContinuation<CallOutcome, Never>?
        var outcome: CallOutcome?
        var id: UInt32?
        var connection: RPCConnection?
        var cancelRequested = false
    }

    private let state = Mutex(State())

    func install(_ continuation: CheckedContinuation<CallOutcome, Never>) {
        state.withLock { $0.continuation = continuation }
    }

    func started(id: UInt32, connection: RPCConnection) {
        let cancelNow = state.withLock { state in
            state.id = id
            state.connection = connection
            return state.cancelRequested
        }
        if cancelNow { connection.cancel(callID: id, reason: "the caller cancelled the call") }
    }

    func cancel() {
        let target: (UInt32, RPCConnection)? = state.withLock { state in
            state.cancelRequested = true
            guard let id = state.id, let connection = state.connection else { return nil }
            return (id, connection)
        }
        if let (id, connection) = target { connection.cancel(callID: id, reason: "the caller cancelled the call") }
    }

    func received(message: [UInt8]) {
        // A unary response travels in CallEnd; a stray message is ignored.
    }

    func ended(_ outcome: CallOutcome) {
        let continuation = state.withLock { state in
            defer {
                state.continuation = nil
                state.connection = nil
            }
            return state.continuation
        }
        continuation?.resume(returning: outcome)
    }
}

/// Buffers a streaming call's messages (at most one window) until the consumer takes them, and
/// grants the callee more credit as they are consumed.
final class StreamObserver: OutboundCallObserver {
    private struct State {
        var buffer: [[UInt8]] = []
        var outcome: CallOutcome?
        var waiter: CheckedContinuation<Void, Never>?
        var consumedSinceGrant: UInt32 = 0
        var id: UInt32?
        var connection: RPCConnection?
        var cancelRequested = false
    }

    private let state = Mutex(State())
    let window: UInt32

    init(window: UInt32) {
        self.window = window
    }

    func started(id: UInt32, connection: RPCConnection) {
        let cancelNow = state.withLock { state in
            state.id = id
            state.connection = state.outcome == nil ? connection : nil
            return state.cancelRequested
        }
        if cancelNow { connection.cancel(callID: id, reason: "the caller cancelled the call") }
    }

    func cancel() {
        let target: (UInt32, RPCConnection)? = state.withLock { state in
            state.cancelRequested = true
            guard state.outcome == nil, let id = state.id, let connection = state.connection else { return nil }
            return (id, connection)
        }
        if let (id, connection) = target { connection.cancel(callID: id, reason: "the caller cancelled the call") }
    }

    func received(message: [UInt8]) {
        let waiter = state.withLock { state in
            state.buffer.append(message)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    func ended(_ outcome: CallOutcome) {
        let waiter = state.withLock { state in
            state.outcome = outcome
            state.connection = nil
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Messages held and not yet consumed (bounded by the window).
    var buffered: Int { state.withLock { $0.buffer.count } }

    /// The next message, nil at a clean end.
    /// - Throws: `RPCError` when the call ended with an error.
    func next() async throws(RPCError) -> [UInt8]? {
        while true {
            enum Step {
                case message([UInt8], grant: UInt32, UInt32, RPCConnection?)
                case end(CallOutcome)
                case wait
            }
            let step: Step = state.withLock { state in
                if !state.buffer.isEmpty {
                    let message = state.buffer.removeFirst()
                    state.consumedSinceGrant += 1
                    // Grant in batches of half a window: fewer frames, and the callee never stalls.
                    if state.consumedSinceGrant >= max(1, window / 2), let id = state.id, state.outcome == nil {
                        let grant = state.consumedSinceGrant
                        state.consumedSinceGrant = 0
                        return .message(message, grant: grant, id, state.connection)
                    }
                    return .message(message, grant: 0, 0, nil)
                }
                if let outcome = state.outcome { return .end(outcome) }
                return .wait
            }
            switch step {
            case .message(let message, let grant, let id, let connection):
                if grant > 0 { connection?.grant(callID: id, messages: grant) }
                return message
            case .end(let outcome):
                if let error = outcome.error { throw error }
                return nil
            case .wait:
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        let resumeNow = state.withLock { state in
                            if !state.buffer.isEmpty || state.outcome != nil { return true }
                            state.waiter = continuation
                            return false
                        }
                        if resumeNow { continuation.resume() }
                    }
                } onCancel: {
                    self.cancel()
                }
            }
        }
    }
}

/// The response messages of a server-streaming call. Iterate it once; stopping early (or
/// cancelling the iterating task) cancels the call.
package struct ResponseStream<Element: WireMessage>: AsyncSequence, Sendable {
    let state: StreamObserver
    private let owner: StreamOwner

    init(state: StreamObserver) {
        self.state = state
        self.owner = StreamOwner(state: state)
    }

    package struct AsyncIterator: AsyncIteratorProtocol {
        let state: StreamObserver
        let owner: StreamOwner

        package mutating func next() async throws(RPCError) -> Element? {
            guard let bytes = try await state.next() else { return nil }
            do {
                return try Element(serializedBytes: bytes)
            } catch {
                state.cancel()
                throw RPCError(.internal, "a response is not a valid \(Element.protoName): \(error.message)")
            }
        }
    }

    package func makeAsyncIterator() -> AsyncIterator { AsyncIterator(state: state, owner: owner) }

    /// Cancels the call.
    package func cancel() { state.cancel() }

    /// Messages received and not yet consumed.
    package var buffered: Int { state.buffered }
}

/// Cancels the call when the last copy of its stream (and iterator) is dropped; the connection
/// keeps the observer alive while the call lasts, so the observer cannot notice by itself.
final class StreamOwner: Sendable {
    let state: StreamObserver

    init(state: StreamObserver) {
        self.state = state
    }

    deinit {
        state.cancel()
    }
}
