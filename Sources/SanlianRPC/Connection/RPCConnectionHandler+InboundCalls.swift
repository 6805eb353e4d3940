import Logging
import NIOCore
import SanlianEventLoop
import SanlianWire

/// Calls the peer starts on this connection: their CallStart read and checked, each ended exactly once.
extension RPCConnectionHandler {
    /// Forgets inbound call `id`; reading resumes when enough bounded calls have ended.
    @discardableResult
    func removeInbound(_ id: UInt32) -> InboundEntry? {
        guard let entry = inbound.removeValue(forKey: id) else { return nil }
        if entry.bounded {
            boundedInbound -= 1
            if readsPaused, boundedInbound <= configuration.maxBoundedInboundCalls * 3 / 4 { resumeReadsLater() }
        }
        return entry
    }

    /// Starts an inbound call from a CallStart frame read without its payload, for a dispatcher
    /// that forwards it as is (`InboundCallDispatcher.readsCallsUndecoded`).
    func startUndecoded(_ body: ByteBuffer, callID id: UInt32) {
        let start: FrameRelay.Start
        do {
            start = try FrameRelay.readStart(body)
        } catch {
            refuseStart(id: id, error)
            return
        }
        handleStart(id: start.callID, .undecoded(start))
    }

    /// Answers a CallStart that is well framed but whose strings cannot be taken as they came (a
    /// NUL byte, which protobuf-c would cut the string at, or bytes that are not UTF-8) with
    /// INVALID_ARGUMENT for that call alone, naming the field; anything else wrong with it is a
    /// malformed frame, which fails the connection.
    func refuseStart(id: UInt32, _ error: WireError) {
        let peerParity: UInt32 = role == .acceptor ? 1 : 0
        guard error.kind == .embeddedNUL || error.kind == .invalidUTF8, phase == .ready || phase == .goingAway,
            id % 2 == peerParity, inbound[id] == nil
        else {
            fail(RPCError(.invalidArgument, "malformed frame: \(error.message)"))
            return
        }
        highestInboundCallID = max(highestInboundCallID, id)
        send(
            RPCV1.Frame(
                callID: id,
                kind: .end(RPCV1.CallEnd(status: RPCV1.Status(code: .invalidArgument, message: error.message)))
            )
        )
    }

    /// Starts an inbound call from a CallStart frame laid out as encoders write it, decoding its
    /// CallStart alone rather than the `Frame` around it (`RPCV1.CallStart.fromFrame`).
    /// - Returns: false when the frame is laid out otherwise (then it is decoded as usual).
    func startDecoded(_ body: ByteBuffer, callID id: UInt32) -> Bool {
        let start: RPCV1.CallStart
        do {
            guard let decoded = try RPCV1.CallStart.fromFrame(body) else { return false }
            start = decoded
        } catch {
            refuseStart(id: id, error)
            return true
        }
        handleStart(id: id, .decoded(start))
        return true
    }

    /// A CallStart as it was read: whole, or without decoding its payload (`startUndecoded`).
    enum StartRead {
        case decoded(RPCV1.CallStart)
        case undecoded(FrameRelay.Start)

        var method: String {
            switch self {
            case .decoded(let start): start.method
            case .undecoded(let start): start.header.method
            }
        }

        var timeoutMicros: UInt64 {
            switch self {
            case .decoded(let start): start.timeoutMicros
            case .undecoded(let start): start.header.timeoutMicros
            }
        }
    }

    func handleStart(id: UInt32, _ start: StartRead) {
        guard phase == .ready || phase == .goingAway else {
            fail(RPCError(.unauthenticated, "a call was started before the handshake completed"))
            return
        }
        let peerParity: UInt32 = role == .acceptor ? 1 : 0
        guard id % 2 == peerParity, inbound[id] == nil else {
            fail(RPCError(.invalidArgument, "call id \(id) is invalid or already in use"))
            return
        }
        highestInboundCallID = max(highestInboundCallID, id)
        func refuse(_ error: RPCError) {
            send(RPCV1.Frame(callID: id, kind: .end(RPCV1.CallEnd(status: error.status))))
        }
        guard phase == .ready else {
            refuse(RPCError(.unavailable, "the server is shutting down and accepts no new calls"))
            return
        }
        guard start.timeoutMicros > 0 else {
            refuse(RPCError(.deadlineExceeded, "the call's deadline had passed before it started"))
            return
        }
        guard inbound.count < configuration.maxConcurrentInboundCalls else {
            refuse(
                RPCError(
                    .resourceExhausted,
                    "too many concurrent calls on one connection (limit \(configuration.maxConcurrentInboundCalls))"
                )
            )
            return
        }
        guard let dispatch, let connection, let peer = connection.peer else {
            refuse(RPCError(.unimplemented, "this peer serves no methods (\(start.method))"))
            return
        }
        let timeout = TimeAmount.microseconds(Int64(clamping: start.timeoutMicros))
        let deadline = NIODeadline.now() + timeout
        let call: InboundCall
        switch start {
        case .decoded(let start):
            call = InboundCall(id: id, start: start, deadline: deadline, peer: peer, connection: connection)
        case .undecoded(let start):
            call = InboundCall(id: id, undecoded: start, deadline: deadline, peer: peer, connection: connection)
        }
        inbound[id] = InboundEntry(call: call, timeout: timeout)
        watchDeadline(deadline)
        // A call can end within dispatch (refused, or answered on the spot): then nothing counts.
        guard dispatch(call) == .bounded, inbound.update(id, { $0.bounded = true }) else { return }
        boundedInbound += 1
        // The answers to this side's own calls come on this connection: while it waits for any,
        // it keeps reading, or a handler waiting on a call of its own would wait for ever.
        if boundedInbound >= configuration.maxBoundedInboundCalls, outbound.isEmpty { pauseReads() }
    }

    func endInbound(id: UInt32, outcome: CallOutcome) {
        let end = RPCV1.CallEnd(
            status: outcome.status,
            metadata: outcome.metadata.wire,
            payload: outcome.payload ?? [],
            hasPayload: outcome.payload != nil
        )
        endInbound(id: id) { buffer throws(WireError) in try buffer.writeFrame(callID: id, end: end) }
    }

    /// Ends an inbound call with the CallEnd frame `write` appends; one that cannot be encoded or
    /// sent ends it with the reason instead.
    func endInbound(id: UInt32, writing write: (inout ByteBuffer) throws(WireError) -> Void) {
        guard removeInbound(id) != nil else { return }
        if phase != .closed, let refusal = appendFrame("response", write) {
            send(RPCV1.Frame(callID: id, kind: .end(RPCV1.CallEnd(status: refusal.status))))
        }
        closeIfDrained()
    }

    /// Sends a response message of an inbound streaming call; one that cannot be sent (over the
    /// peer's frame limit) ends the call (`endInbound(id:refusedMessage:)`).
    func sendMessage(callID id: UInt32, payload: [UInt8]) {
        guard phase != .closed, inbound[id] != nil else { return }
        let refusal = appendFrame("message") { buffer throws(WireError) in
            buffer.writeFrame(callID: id, messagePayload: payload)
        }
        if let refusal { endInbound(id: id, refusedMessage: refusal) }
    }

    /// Relays a response message another connection's callee sent; one that cannot be relayed
    /// (malformed, or over the peer's frame limit) ends the call (`endInbound(id:refusedMessage:)`).
    func relayMessage(_ frame: ByteBuffer, callID id: UInt32) {
        guard inbound[id] != nil else { return }
        if let refusal = relay(frame, callID: id, limit: "message") { endInbound(id: id, refusedMessage: refusal) }
    }

    /// Ends an inbound streaming call one of whose response messages could not be sent: its caller
    /// gets the reason rather than a stream with a message missing, and the call is cancelled, so
    /// that its handler stops (or, relayed, its callee is told to stop) and no later message
    /// follows the end. Ended here rather than by the cancellation's answer: a handler that has
    /// already returned has marked the call ended, its OK waiting behind this message.
    func endInbound(id: UInt32, refusedMessage refusal: RPCError) {
        guard let entry = removeInbound(id) else { return }
        send(RPCV1.Frame(callID: id, kind: .end(RPCV1.CallEnd(status: refusal.status))))
        entry.call.cancel(refusal, answer: false)
        closeIfDrained()
    }

    /// Ends an inbound call with a CallEnd frame relayed from another connection.
    func endInbound(id: UInt32, relaying frame: ByteBuffer) {
        guard removeInbound(id) != nil else { return }
        if let error = relay(frame, callID: id, limit: "response") {
            send(RPCV1.Frame(callID: id, kind: .end(RPCV1.CallEnd(status: error.status))))
        }
        closeIfDrained()
    }
}
