package import NIOCore

/// Per-call settings a caller may give.
package struct CallOptions: Sendable {
    /// Time allowed for the call; the default deadline when neither this nor `deadline` is set.
    package var timeout: TimeAmount?
    /// An absolute deadline; takes precedence over `timeout`.
    package var deadline: NIODeadline?
    package var metadata: Metadata
    /// While disconnected, wait (up to the deadline) for the connection instead of failing at
    /// once with UNAVAILABLE.
    package var waitForReady: Bool
    /// Response messages granted at a time on streaming calls.
    package var window: UInt32

    package init(
        timeout: TimeAmount? = nil,
        deadline: NIODeadline? = nil,
        metadata: Metadata = Metadata(),
        waitForReady: Bool = false,
        window: UInt32 = RPCDefaults.streamWindow
    ) {
        self.timeout = timeout
        self.deadline = deadline
        self.metadata = metadata
        self.waitForReady = waitForReady
        self.window = window
    }

    /// The deadline this call runs against.
    package var effectiveDeadline: NIODeadline {
        deadline ?? (NIODeadline.now() + (timeout ?? RPCDefaults.callTimeout))
    }
}
