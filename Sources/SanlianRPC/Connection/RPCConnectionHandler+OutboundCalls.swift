import Logging
import NIOCore
import SanlianEventLoop
import SanlianWire

/// Calls this side starts on the connection, and the frames that answer them.
extension RPCConnectionHandler {
    /// Passes a Message or CallEnd frame of an outbound call whose observer relays frames on
    /// undecoded (the broker's forwarded calls).
    /// - Returns: false when the frame is not one of those (then it is decoded as usual).
    func relayed(_ body: ByteBuffer, callID id: UInt32, kind: FrameRelay.Kind) -> Bool {
        guard let entry = outbound[id], entry.relaysFrames else { return false }
        switch kind {
        case .message:
            entry.observer.relay(body, final: false)
        case .end:
            outbound.removeValue(forKey: id)
            entry.observer.relay(body, final: true)
            closeIfDrained()
        case .start:
            return false
        }
        return true
    }

    /// Ends the one call a Message or CallEnd frame is of when its call id and kind read but its
    /// Message or CallEnd does not decode, as gRPC ends a call whose response does not parse:
    /// the broker relays a service's frames as they came, and one bad answer must not cut a
    /// caller's every call off. An outbound call ends with INTERNAL (its callee, when it may
    /// still be sending, is told to stop); a frame of no call in flight is dropped, as a
    /// well-formed one would be.
    /// - Returns: false for a CallStart (then the connection fails, as for any malformed frame).
    func endCall(_ leading: (callID: UInt32, kind: FrameRelay.Kind), malformed error: WireError) -> Bool {
        let what: String
        switch leading.kind {
        case .start: return false
        case .message: what = "message"
        case .end: what = "CallEnd"
        }
        logger.debug(
            "Malformed frame of a call",
            metadata: ["rpc.call_id": "\(leading.callID)", "rpc.error": "\(error)"]
        )
        endOutbound(
            id: leading.callID,
            error: RPCError(.internal, "malformed \(what) from the peer: \(error.message)"),
            cancelling: leading.kind == .message ? "malformed message" : nil
        )
        return true
    }

    func startOutbound(id: UInt32, request: CallRequest, observer: any OutboundCallObserver) {
        guard phase == .ready, transport != nil else {
            let reason = phase == .goingAway ? "the connection is going away" : "the connection is not ready"
            observer.ended(CallOutcome(error: RPCError(.unavailable, reason), neverSent: true))
            return
        }
        let remaining = request.deadline - .now()
        guard remaining > .zero else {
            observer.ended(
                CallOutcome(error: RPCError(.deadlineExceeded, "the deadline passed before the call started"))
            )
            return
        }
        let timeoutMicros = UInt64(max(1, remaining.nanoseconds / 1_000))
        let refusal: RPCError?
        if request.payloadField != nil || request.encodedMetadata != nil {
            let payloadField = request.payloadField ?? FrameRelay.payloadField(for: request.payload)
            let header = RPCV1.CallStartHeader(
                method: request.method,
                timeoutMicros: timeoutMicros,
                metadata: request.metadata.wire,
                halfClose: request.halfClose,
                initialWindow: request.window
            )
            refusal = appendFrame("request") { buffer throws(WireError) in
                try FrameRelay.writeStart(
                    callID: id,
                    header: header,
                    encodedMetadata: request.encodedMetadata,
                    payloadField: payloadField,
                    into: &buffer
                )
            }
        } else {
            let start = RPCV1.CallStart(
                method: request.method,
                timeoutMicros: timeoutMicros,
                metadata: request.metadata.wire,
                payload: request.payload,
                halfClose: request.halfClose,
                initialWindow: request.window
            )
            refusal = send(RPCV1.Frame(callID: id, kind: .start(start)), limit: "request")
        }
        if let refusal {
            observer.ended(CallOutcome(error: refusal))
            return
        }
        outbound[id] = OutboundEntry(
            observer: observer,
            deadline: request.deadline,
            timeout: remaining,
            relaysFrames: observer.relaysFrames
        )
        watchDeadline(request.deadline)
        // Its answer comes on this connection (see `handleStart`).
        if readsPaused { resumeReadsLater() }
    }

    func cancelOutbound(id: UInt32, reason: String) {
        endOutbound(id: id, error: RPCError(.cancelled, reason), cancelling: reason)
    }

    /// Ends outbound call `id`, if still in flight, with `error`; with a `cancelling` reason the
    /// callee is sent a Cancel first.
    func endOutbound(id: UInt32, error: RPCError, cancelling reason: String?) {
        guard let entry = outbound.removeValue(forKey: id) else { return }
        if let reason { send(RPCV1.Frame(callID: id, kind: .cancel(RPCV1.Cancel(reason: reason)))) }
        entry.observer.ended(CallOutcome(error: error))
        closeIfDrained()
    }
}
