import Logging
import NIOCore
import SanlianEventLoop
import SanlianWire

/// GoAway both ways, failing the connection on a protocol error, and tearing it down.
extension RPCConnectionHandler {
    func handlePeerGoAway(_ goAway: RPCV1.GoAway) {
        let status = goAway.status ?? RPCV1.Status(code: .unavailable, message: "the peer is going away")
        if phase == .handshaking {
            completeHandshake(.failure(RPCError(status: status)))
            transport?.close()
            return
        }
        logger.debug("Peer is going away", metadata: ["rpc.status": "\(status.code.protoName)"])
        if phase == .ready { phase = .goingAway }
        connection?.stopAcceptingCalls()
        // Calls the peer never saw will never be answered.
        for (id, _) in outbound where id > goAway.lastCallID {
            if let entry = outbound.removeValue(forKey: id) {
                entry.observer.ended(
                    CallOutcome(
                        error: RPCError(.unavailable, "the peer is going away: \(status.message)"),
                        neverSent: true
                    )
                )
            }
        }
        closeIfDrained()
    }

    func beginGoAway(_ status: RPCV1.Status) {
        guard phase == .ready || phase == .handshaking else { return }
        phase = .goingAway
        connection?.stopAcceptingCalls()
        send(RPCV1.Frame(kind: .goAway(RPCV1.GoAway(status: status, lastCallID: highestInboundCallID))))
        flushNow()
        closeIfDrained()
    }

    /// Closes once no call is in flight in either direction, after a GoAway.
    func closeIfDrained() {
        guard phase == .goingAway, inbound.isEmpty, outbound.isEmpty, let transport else { return }
        flushNow()
        transport.close()
    }

    /// Sends GoAway with `error` and closes: for protocol violations, refused handshakes, hung peers.
    func fail(_ error: RPCError) {
        guard phase != .closed, let transport else { return }
        send(RPCV1.Frame(kind: .goAway(RPCV1.GoAway(status: error.status, lastCallID: highestInboundCallID))))
        flushNow()
        if phase == .handshaking { completeHandshake(.failure(error)) }
        tearDown(reason: RPCError(.unavailable, error.message))
        transport.close()
    }

    func tearDown(reason: RPCError) {
        guard phase != .closed else { return }
        phase = .closed
        connection?.stopAcceptingCalls()
        handshakeTimer?.cancel()
        pingTimer?.cancel()
        outputStallTimer?.cancel()
        outputStallTimer = nil
        outstandingPing?.timeout.cancel()
        outstandingPing = nil
        completeHandshake(.failure(reason))
        deadlineTimer?.cancel()
        deadlineTimer = nil
        let calls = outbound
        outbound.removeAll()
        for (_, entry) in calls {
            entry.observer.ended(CallOutcome(error: reason))
        }
        let served = inbound
        inbound.removeAll()
        boundedInbound = 0
        for (_, entry) in served {
            entry.call.cancel(reason, answer: false)
        }
        connection = nil
    }
}
