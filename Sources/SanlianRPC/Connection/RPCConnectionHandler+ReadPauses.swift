import Logging
import NIOCore
import SanlianEventLoop
import SanlianWire

/// Reading paused, for a peer with too many calls waiting (`maxBoundedInboundCalls`) or too much of its answers unread (`outputPauseBytes`), and resumed.
extension RPCConnectionHandler {
    /// Stops reading the socket: the peer has `maxBoundedInboundCalls` calls waiting here, and
    /// this side waits for the answer to none of its own.
    func pauseReads() {
        guard !readsPaused, let transport else { return }
        readsPaused = true
        logger.debug("Pausing reads", metadata: ["rpc.bounded_calls": "\(boundedInbound)"])
        transport.setReading(false)
    }

    /// Reads again once a quarter of the bounded calls have been answered (see
    /// `ConnectionConfiguration.maxBoundedInboundCalls`): first the frames held back,
    /// then the socket. Done as a task of its own, since the answer that allows it can come in the
    /// middle of any other work of this event loop.
    func resumeReadsLater() {
        guard readsPaused, transport != nil else { return }
        readsPaused = false
        resumeReadingLater()
    }

    /// Reads again, unless reading is still paused for the other reason: first the frames held
    /// back, then the socket.
    func resumeReadingLater() {
        eventLoop.assumeIsolated().execute { [self] in
            guard phase != .closed, !isReadingPaused, let transport else { return }
            // The peer was not silent; this side was not listening.
            lastRead = .now()
            if var input = partialInput {
                partialInput = nil
                beginRead()
                handleFrames(in: &input)
                endRead()
            }
            if !isReadingPaused { transport.setReading(true) }
        }
    }

    /// Pauses reading when the peer leaves too much of what this side wrote unsent, and gives it
    /// up when it leaves far too much (`ConnectionConfiguration.outputPauseBytes`,
    /// `outputCloseBytes`).
    func checkUnsentOutput() {
        guard let transport, phase != .closed else { return }
        let pending = transport.pendingWriteBytes
        if pending > configuration.outputCloseBytes {
            giveUpOnUnreadOutput(
                "the peer left \(pending) bytes of answers unread, over the limit of \(configuration.outputCloseBytes)"
            )
            return
        }
        guard pending > configuration.outputPauseBytes, !outputPaused, outbound.isEmpty else { return }
        outputPaused = true
        logger.info("Pausing reads: the peer does not read its answers", metadata: ["rpc.unsent_bytes": "\(pending)"])
        transport.setReading(false)
        watchOutputStall(sentBefore: transport.bytesSent)
    }

    /// Gives the peer up unless it takes some of the unsent output within `outputStallTimeout`.
    func watchOutputStall(sentBefore: UInt64) {
        outputStallTimer = eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(configuration.outputStallTimeout)) {
            [self] in
            outputStallTimer = nil
            guard outputPaused, phase != .closed, let transport else { return }
            guard transport.bytesSent == sentBefore else {
                watchOutputStall(sentBefore: transport.bytesSent)
                return
            }
            giveUpOnUnreadOutput(
                "the peer read none of its \(transport.pendingWriteBytes) bytes of unsent answers in \(configuration.outputStallTimeout.milliseconds) ms"
            )
        }
    }

    /// Everything written has been sent: reading resumes if it was paused for that.
    func connectionDrained() {
        guard outputPaused else { return }
        outputPaused = false
        outputStallTimer?.cancel()
        outputStallTimer = nil
        logger.debug("Resuming reads: the peer read its answers")
        resumeReadingLater()
    }

    /// Drops what the peer has not read (but a frame already begun), sends it a GoAway saying
    /// why, ends every call, and closes once the GoAway is sent or `goAwayLinger` has passed.
    func giveUpOnUnreadOutput(_ reason: String) {
        guard let transport, phase != .closed else { return }
        logger.info("Closing a connection whose peer does not read its answers", metadata: ["rpc.reason": "\(reason)"])
        let error = RPCError(.resourceExhausted, reason + "; closing the connection")
        transport.discardUnsent()
        pendingOutput = nil
        pendingFrames = 0
        outputStallTimer?.cancel()
        outputStallTimer = nil
        send(RPCV1.Frame(kind: .goAway(RPCV1.GoAway(status: error.status, lastCallID: highestInboundCallID))))
        if let output = pendingOutput {
            pendingOutput = nil
            pendingFrames = 0
            transport.write(output)
        }
        tearDown(reason: RPCError(.unavailable, error.message))
        transport.closeWhenFlushed(deadline: .now() + TimeAmount(configuration.goAwayLinger))
    }
}
