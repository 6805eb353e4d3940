import SanlianWire

/// Limits and timeouts of the RPC runtime, in one place, each with why it is what it is.
package enum RPCDefaults {
    /// The protocol version this runtime speaks (docs/PROTOCOL.md).
    package static let protocolVersion: UInt32 = 1
    /// Largest frame accepted: Sanlian's messages are records; 1 MiB bounds what one peer can make
    /// another allocate (NATS uses the same default).
    package static let maxFrameBytes = FrameLimits.defaultMaxFrameBytes
    /// Deadline of a call whose caller set none: long enough for a report, short enough that a
    /// hung peer is noticed by a person waiting at a terminal.
    package static let callTimeout = Duration.seconds(30)
    /// Response messages a streaming caller accepts before it grants more (per call), bounding
    /// what a slow reader makes the sender hold.
    package static let streamWindow: UInt32 = 64
    /// Unsent output past which a connection stops reading its peer: a few hundred answers of a
    /// few kilobytes, far more than a peer that reads ever leaves waiting (docs/PROTOCOL.md §10).
    package static let outputPauseBytes = 4 << 20
    /// Unsent output past which a peer is given up on: what one connection may cost the process.
    package static let outputCloseBytes = 64 << 20
    /// A peer that takes none of its answers for this long while reads are paused is given up on.
    package static let outputStallTimeout = Duration.seconds(30)
    /// Time a peer given up on has to read its GoAway before the connection closes.
    package static let goAwayLinger = Duration.seconds(5)
    /// A connection with nothing received for this long is pinged.
    package static let pingInterval = Duration.seconds(10)
    /// A ping unanswered for this long marks the peer hung; the connection is closed.
    package static let pingTimeout = Duration.seconds(5)
    /// Time to complete the handshake after connecting.
    package static let handshakeTimeout = Duration.seconds(5)
    /// How long SIGTERM lets in-flight calls finish before they are cancelled.
    package static let drainTimeout = Duration.seconds(10)
    /// Reconnect backoff: first delay, cap, and the jitter fraction applied to each delay.
    package static let reconnectInitialBackoff = Duration.milliseconds(50)
    package static let reconnectMaxBackoff = Duration.seconds(5)
    package static let reconnectJitter = 0.2
    /// Unix socket paths must fit sockaddr_un.sun_path, 108 bytes including the NUL.
    package static let maxSocketPathBytes = 107
}
