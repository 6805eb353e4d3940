import Logging
import NIOCore
import SanlianEventLoop
import SanlianWire

/// Frames encoded into one buffer per event-loop tick (or full batch) and written to the transport.
extension RPCConnectionHandler {
    /// Encodes and writes `frame`, flushing once per event-loop tick or full batch of frames.
    /// - Returns: an error when the frame could not be encoded or exceeds the peer's frame limit
    ///   (then nothing was written).
    @discardableResult
    func send(_ frame: RPCV1.Frame, limit what: String = "frame") -> RPCError? {
        guard phase != .closed || frame.kind.isGoAway else { return RPCError(.unavailable, "closed") }
        return appendFrame(what) { buffer throws(WireError) in try buffer.writeFrame(frame) }
    }

    /// Writes a Message or CallEnd frame another connection's callee encoded, as call `callID`
    /// of this connection (see `FrameRelay`).
    @discardableResult
    func relay(_ frame: ByteBuffer, callID: UInt32, limit what: String = "message") -> RPCError? {
        guard phase != .closed else { return RPCError(.unavailable, "closed") }
        return appendFrame(what) { buffer throws(WireError) in
            try FrameRelay.write(frame, callID: callID, into: &buffer)
        }
    }

    /// Appends one length-prefixed frame written by `write` to the output of this tick and makes
    /// sure a flush follows, at once when the batch is full (`ConnectionConfiguration.maxBatchedFrames`).
    func appendFrame(_ what: String, _ write: (inout ByteBuffer) throws(WireError) -> Void) -> RPCError? {
        guard transport != nil else { return RPCError(.unavailable, "closed") }
        // Taken out (moved, not copied) while it is written to, so that it is not shared and
        // copied meanwhile, and so that `clear()` finds the spare unshared if the transport is done.
        var buffer: ByteBuffer
        if pendingOutput != nil {
            buffer = pendingOutput.take()!
        } else if spareOutput != nil {
            buffer = spareOutput.take()!
            buffer.clear()
        } else {
            buffer = ByteBufferAllocator().buffer(capacity: Self.outputBufferCapacity)
        }
        let refusal = Self.encodeFrame(what, into: &buffer, peerMaxFrameBytes: peerMaxFrameBytes, write)
        pendingOutput = buffer
        guard refusal == nil else { return refusal }
        pendingFrames += 1
        if pendingFrames >= configuration.maxBatchedFrames || buffer.readableBytes >= configuration.maxBatchedBytes {
            flushNow()
        } else if !flushPending, !reading {
            flushPending = true
            if let loopFlushes, loopFlushes.readers > 0 {
                loopFlushes.flushAfterRead(self)
            } else {
                eventLoop.assumeIsolated().execute { [self] in flushDeferred() }
            }
        }
        return nil
    }

    /// The flush `appendFrame` put off to the end of the tick or of another connection's read.
    func flushDeferred() {
        flushPending = false
        flushNow()
    }

    func flushNow() {
        guard let output = pendingOutput, let transport else { return }
        pendingOutput = nil
        pendingFrames = 0
        guard output.readableBytes > 0 else { return }
        if output.capacity <= Self.spareOutputCapacity { spareOutput = output }
        transport.write(output)
        // The answers of a read go out together: one look at what the peer left unread per flush.
        if transport.pendingWriteBytes > configuration.outputPauseBytes { checkUnsentOutput() }
    }

    /// Room for a few small frames; a large one grows the buffer once.
    static let outputBufferCapacity = 1024

    /// A buffer grown past this by large frames is not kept as `spareOutput`: an idle connection
    /// should not hold on to it.
    static let spareOutputCapacity = 16 * 1024

    /// Writes one frame at the end of `buffer`.
    /// - Returns: why the frame cannot be sent (then `buffer` is as it was).
    static func encodeFrame(
        _ what: String,
        into buffer: inout ByteBuffer,
        peerMaxFrameBytes: Int,
        _ write: (inout ByteBuffer) throws(WireError) -> Void
    ) -> RPCError? {
        let frameStart = buffer.writerIndex
        do {
            try write(&buffer)
        } catch {
            buffer.moveWriterIndex(to: frameStart)
            return encodingRefusal(what, error)
        }
        let size = buffer.writerIndex - frameStart - FrameLimits.prefixBytes
        guard size > peerMaxFrameBytes else { return nil }
        buffer.moveWriterIndex(to: frameStart)
        return RPCError(
            .resourceExhausted,
            "the \(what) needs a frame of \(size) bytes, over the peer's maximum of \(peerMaxFrameBytes) bytes"
        )
    }

    /// Why the `what` (e.g. "response") cannot be sent when its encoding failed.
    static func encodingRefusal(_ what: String, _ error: WireError) -> RPCError {
        RPCError(.invalidArgument, "the \(what) cannot be encoded: \(error.message)")
    }
}
