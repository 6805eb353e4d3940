package import NIOCore
package import SanlianWire
import Synchronization

/// A call the peer started on this connection, as its handler sees it.
///
/// Shared by the connection's event loop (which grants credit and cancels) and the task running
/// the handler (which sends messages and finishes); its mutable state is behind a `Mutex`.
public final class InboundCall: Sendable {
    package let id: UInt32
    package let method: String
    package let metadata: Metadata
    package let deadline: NIODeadline
    /// The first (for unary and server-streaming calls, the only) request message.
    public var payload: [UInt8] {
        guard let payloadField else { return decodedPayload }
        // Checked as a field when the call arrived; only a call served here after all (the
        // broker's own services) takes its payload out of it.
        return (try? FrameRelay.payload(ofField: payloadField)) ?? []
    }
    private let decodedPayload: [UInt8]
    /// The request payload still encoded, as the caller's CallStart carried it (a length-delimited
    /// field: length prefix and bytes), when the connection's dispatcher reads calls without
    /// decoding their payload (`InboundCallDispatcher.readsCallsUndecoded`): forwarded as is.
    package let payloadField: [UInt8]?
    package let peer: PeerIdentity
    /// Response messages the caller accepts before it grants more.
    package let initialWindow: UInt32
    let connection: RPCConnection

    private struct State {
        var ended = false
        var cancellation: RPCError?
        var credit: UInt32
        var creditWaiter: CheckedContinuation<Void, any Error>?
        var cancelHandlers: [@Sendable (RPCError) -> Void] = []
        /// The call on another connection this one is relayed to (see `relay(to:callID:)`).
        var relayTarget: RelayTarget?
        /// Trailing metadata the handler added.
        var trailers = Metadata()
    }

    private struct RelayTarget {
        let connection: RPCConnection
        let callID: UInt32
    }

    /// The task running the call's handler, so that cancelling the call cancels it.
    ///
    /// `@unchecked Sendable` because `UnsafeCurrentTask` is not Sendable: it must not be used after
    /// its task ends. Here it is only touched under `runningTask`'s lock, and `runCancellable`
    /// removes it under that lock before the task leaves the handler, so no use can outlive the
    /// task. Cancelling a task is thread-safe. This saves a second task and a task group per call.
    private struct RunningTask: @unchecked Sendable {
        let task: UnsafeCurrentTask
    }

    /// Its own lock, not `state`'s: cancelling runs the task's cancellation handlers at once, and
    /// those take `state`'s lock. Lock order: `runningTask`, then `state`.
    private let runningTask = Mutex<RunningTask?>(nil)

    private let state: Mutex<State>

    convenience init(
        id: UInt32,
        start: RPCV1.CallStart,
        deadline: NIODeadline,
        peer: PeerIdentity,
        connection: RPCConnection
    ) {
        self.init(
            id: id,
            method: start.method,
            metadata: start.metadata,
            initialWindow: start.initialWindow,
            payload: start.payload,
            payloadField: nil,
            deadline: deadline,
            peer: peer,
            connection: connection
        )
    }

    /// A call read without decoding its payload (`FrameRelay.readStart`).
    convenience init(
        id: UInt32,
        undecoded start: FrameRelay.Start,
        deadline: NIODeadline,
        peer: PeerIdentity,
        connection: RPCConnection
    ) {
        self.init(
            id: id,
            method: start.header.method,
            metadata: start.header.metadata,
            initialWindow: start.header.initialWindow,
            payload: [],
            payloadField: start.payloadField,
            deadline: deadline,
            peer: peer,
            connection: connection
        )
    }

    private init(
        id: UInt32,
        method: String,
        metadata: [RPCV1.MetadataEntry],
        initialWindow: UInt32,
        payload: [UInt8],
        payloadField: [UInt8]?,
        deadline: NIODeadline,
        peer: PeerIdentity,
        connection: RPCConnection
    ) {
        let window = initialWindow == 0 ? RPCDefaults.streamWindow : initialWindow
        self.id = id
        self.method = method
        self.metadata = Metadata(metadata)
        self.deadline = deadline
        self.decodedPayload = payload
        self.payloadField = payloadField
        self.peer = peer
        self.initialWindow = window
        self.connection = connection
        self.state = Mutex(State(credit: window))
    }

    /// Adds trailing metadata, sent with the call's end.
    func addTrailer(_ key: String, _ value: String) {
        state.withLock { $0.trailers.add(key, value) }
    }

    /// The trailing metadata added so far.
    var trailers: Metadata { state.withLock { $0.trailers } }

    /// Why the call was cancelled (CANCELLED, DEADLINE_EXCEEDED or UNAVAILABLE), or nil.
    package var cancellation: RPCError? { state.withLock { $0.cancellation } }

    package var hasEnded: Bool { state.withLock { $0.ended } }

    /// Sends one response message of a streaming call. Suspends while the caller has granted no
    /// credit, so a slow reader holds the sender back instead of making it buffer.
    /// - Throws: `RPCError` once the call is cancelled or has ended.
    package func send(_ message: [UInt8]) async throws(RPCError) {
        while true {
            enum Decision { case send, fail(RPCError), wait }
            let decision: Decision = state.withLock { state in
                if let cancellation = state.cancellation { return .fail(cancellation) }
                if state.ended { return .fail(RPCError(.failedPrecondition, "the call has already ended")) }
                if state.credit > 0 {
                    state.credit -= 1
                    return .send
                }
                return .wait
            }
            switch decision {
            case .send:
                connection.sendMessage(callID: id, payload: message)
                return
            case .fail(let error):
                throw error
            case .wait:
                do {
                    try await waitForCredit()
                } catch {
                    throw cancellation ?? RPCError(.cancelled, "the handler's task was cancelled")
                }
            }
        }
    }

    private func waitForCredit() async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow = state.withLock { state in
                    if state.credit > 0 || state.cancellation != nil || state.ended || Task.isCancelled {
                        return true
                    }
                    state.creditWaiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.creditWaiter = nil }
                return state.creditWaiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Ends the call with `outcome`. Only the first end (or cancellation) counts.
    package func finish(_ outcome: CallOutcome) {
        end { connection.endInboundCall(callID: id, outcome: outcome) }
    }

    /// Ends the call with OK, the trailers its handler added, and the response `write` packs
    /// straight into the CallEnd frame it appends for the call id and trailers it is given
    /// (`ByteBuffer.writeFrame(callID:endingOKWith:trailers:)`). Only the first end counts.
    package func finish(
        okWriting write: (inout ByteBuffer, _ callID: UInt32, _ trailers: [RPCV1.MetadataEntry]) throws(WireError) ->
            Void
    ) {
        end {
            let trailers = self.trailers.wire
            connection.endInboundCall(callID: id) { buffer throws(WireError) in try write(&buffer, id, trailers) }
        }
    }

    /// Ends the call with a CallEnd frame another connection's callee encoded, passed on under
    /// this call's id without decoding it (see `FrameRelay`). Only the first end counts.
    package func finish(relaying frame: ByteBuffer) {
        end { connection.endInboundCall(callID: id, relaying: frame) }
    }

    /// Marks the call ended and runs `answer` if it had not ended already; a sender waiting for
    /// credit then wakes to find the call over.
    private func end(_ answer: () -> Void) {
        let (first, creditWaiter) = state.withLock { state in
            guard !state.ended else { return (false, nil as CheckedContinuation<Void, any Error>?) }
            state.ended = true
            defer { state.creditWaiter = nil }
            return (true, state.creditWaiter)
        }
        guard first else { return }
        answer()
        creditWaiter?.resume()
    }

    /// Runs `body` (the handler) in the current task, cancelling the task if the call is cancelled
    /// while `body` runs.
    package func runCancellable(_ body: () async -> Void) async {
        let cancelledBefore = withUnsafeCurrentTask { task -> Bool in
            runningTask.withLock { running in
                if state.withLock({ $0.cancellation != nil }) { return true }
                if let task { running = RunningTask(task: task) }
                return false
            }
        }
        if cancelledBefore { return }
        await body()
        runningTask.withLock { $0 = nil }
    }

    /// Runs `handler` once the call is cancelled (at once if it already is).
    package func onCancel(_ handler: @escaping @Sendable (RPCError) -> Void) {
        let reason: RPCError? = state.withLock { state in
            if let cancellation = state.cancellation { return cancellation }
            state.cancelHandlers.append(handler)
            return nil
        }
        if let reason { handler(reason) }
    }

    /// Marks the call cancelled and answers the caller with `reason` (unless it already ended).
    /// Called by the connection for Cancel frames, expired deadlines and lost connections.
    func cancel(_ reason: RPCError, answer: Bool) {
        let (wasLive, handlers, creditWaiter, target) = state.withLock { state in
            guard state.cancellation == nil, !state.ended else {
                return (
                    false, [@Sendable (RPCError) -> Void](), nil as CheckedContinuation<Void, any Error>?,
                    nil as RelayTarget?
                )
            }
            state.cancellation = reason
            state.ended = true
            defer {
                state.cancelHandlers = []
                state.creditWaiter = nil
            }
            return (true, state.cancelHandlers, state.creditWaiter, state.relayTarget)
        }
        guard wasLive else { return }
        // Under the handle's lock: `runCancellable` clears it there before its task ends.
        runningTask.withLock { running in
            running?.task.cancel()
            running = nil
        }
        if answer { connection.endInboundCall(callID: id, outcome: CallOutcome(error: reason)) }
        creditWaiter?.resume(throwing: reason)
        for handler in handlers { handler(reason) }
        if let target { target.connection.cancel(callID: target.callID, reason: reason.message) }
    }

    /// The caller granted `messages` more response messages.
    func grant(_ messages: UInt32) {
        let (waiter, target) = state.withLock { state in
            state.credit &+= messages
            defer { state.creditWaiter = nil }
            return (state.creditWaiter, state.relayTarget)
        }
        waiter?.resume()
        if let target { target.connection.grant(callID: target.callID, messages: messages) }
    }

    /// Relays the call to call `callID` on `connection` (the broker's forwarding): a cancellation
    /// of this call cancels that one (at once if this one is already cancelled), and the
    /// caller's grants of more response messages pass on to it.
    package func relay(to connection: RPCConnection, callID: UInt32) {
        let reason: RPCError? = state.withLock { state in
            if let cancellation = state.cancellation { return cancellation }
            state.relayTarget = RelayTarget(connection: connection, callID: callID)
            return nil
        }
        if let reason { connection.cancel(callID: callID, reason: reason.message) }
    }

    /// Sends a response message without counting credit: for a forwarder relaying messages that
    /// the producing process already limited to the caller's window.
    package func forward(message: [UInt8]) {
        guard !hasEnded else { return }
        connection.sendMessage(callID: id, payload: message)
    }

    /// `forward(message:)` for a Message frame as another connection's callee encoded it.
    package func forward(relaying frame: ByteBuffer) {
        guard !hasEnded else { return }
        connection.relay(frame, callID: id)
    }
}
