import Logging
import NIOCore
import SanlianEventLoop
import SanlianWire

/// Pings on a silent connection, and giving up a peer that does not answer them.
extension RPCConnectionHandler {
    /// Checks liveness every ping interval while the connection is open.
    func schedulePingCheck() {
        guard phase != .closed else { return }
        pingTimer = eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(configuration.pingInterval)) { [self] in
            checkLiveness()
            schedulePingCheck()
        }
    }

    func checkLiveness() {
        // While reads are paused the peer's answers are not read: its silence says nothing.
        guard phase == .ready || phase == .goingAway, outstandingPing == nil, !isReadingPaused, transport != nil else {
            return
        }
        guard NIODeadline.now() - lastRead >= TimeAmount(configuration.pingInterval) else { return }
        let nonce = nextPingNonce
        nextPingNonce += 1
        let timeout = eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(configuration.pingTimeout)) { [self] in
            guard !isReadingPaused else {
                outstandingPing = nil
                return
            }
            logger.info("Peer did not answer a ping; closing", metadata: [:])
            fail(
                RPCError(
                    .unavailable,
                    "the peer did not answer a ping within \(configuration.pingTimeout.milliseconds) ms"
                )
            )
        }
        outstandingPing = (nonce, timeout)
        send(RPCV1.Frame(kind: .ping(RPCV1.Ping(nonce: nonce))))
        flushNow()
    }
}
