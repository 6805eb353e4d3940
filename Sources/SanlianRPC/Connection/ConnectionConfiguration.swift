package import NIOCore

/// Settings of one RPC connection, either side.
package struct ConnectionConfiguration: Sendable {
    package var maxFrameBytes = RPCDefaults.maxFrameBytes
    /// Calls the peer may have open on this connection at once; more are refused with
    /// RESOURCE_EXHAUSTED.
    package var maxConcurrentInboundCalls = 10_000
    package var pingInterval = RPCDefaults.pingInterval
    package var pingTimeout = RPCDefaults.pingTimeout
    package var handshakeTimeout = RPCDefaults.handshakeTimeout
    /// Name sent in Hello / Welcome, for the peer's logs.
    package var localName = "sanlian"

    package init() {}
}
