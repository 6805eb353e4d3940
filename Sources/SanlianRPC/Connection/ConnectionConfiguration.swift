/// Settings of one RPC connection, either side.
package struct ConnectionConfiguration: Sendable {
    package var maxFrameBytes = RPCDefaults.maxFrameBytes
    /// Calls the peer may have open on this connection at once; more are refused with
    /// RESOURCE_EXHAUSTED.
    package var maxConcurrentInboundCalls = 10_000
    /// Bounded calls (`DispatchedCall.bounded`: unary) the peer may have waiting for their answers
    /// before this side stops reading the connection, until a quarter of them have been answered;
    /// never while this side waits for answers to calls of its own, which come on the same
    /// connection (a service handler calling another service through the broker).
    /// The peer's further frames wait in the socket and then in the peer's own writes, instead of
    /// piling up here as calls: a caller with thousands in flight costs this process what this many
    /// cost. Resuming at three quarters rather than half keeps the broker's group-committing
    /// ledger busy while the next group gathers.
    package var maxBoundedInboundCalls = 1024
    /// Bytes of answers written to the peer and not yet taken by its socket past which this side
    /// stops reading the connection until they are sent: a peer that writes calls without
    /// reading the answers makes them pile up here, 4 KiB for every 4 KiB call it sends, until
    /// this process runs out of memory. Never while this side waits for answers of its own on
    /// the connection (they come in on it), as for `maxBoundedInboundCalls`.
    package var outputPauseBytes = RPCDefaults.outputPauseBytes
    /// Unsent bytes past which the peer is given up on at once: a GoAway, and the connection closed.
    package var outputCloseBytes = RPCDefaults.outputCloseBytes
    /// How long reading may stay paused for unsent output with the peer taking none of it before
    /// the peer is given up on.
    package var outputStallTimeout = RPCDefaults.outputStallTimeout
    /// How long a peer given up on has to read the GoAway (its other unsent answers dropped)
    /// before the connection is closed.
    package var goAwayLinger = RPCDefaults.goAwayLinger
    package var pingInterval = RPCDefaults.pingInterval
    package var pingTimeout = RPCDefaults.pingTimeout
    package var handshakeTimeout = RPCDefaults.handshakeTimeout
    /// Frames written while a read is handled go out together when the read ends, unless this
    /// many pile up first. With many calls in flight a whole read's answers held to its end move
    /// down the chain of processes (caller, broker, service) as one convoy, and each process
    /// waits for the one before it to finish the lot: on two cores that halves the brokered
    /// throughput. 16 did better than 8 and 32 (docs/PERFORMANCE.md).
    package var maxBatchedFrames = 16
    /// The same limit in bytes, for large frames.
    package var maxBatchedBytes = 16 * 1024
    /// Name sent in Hello / Welcome, for the peer's logs.
    package var localName = "sanlian"

    package init() {}
}
