import NIOCore

/// Per-call settings a caller may give.
package struct CallOptions: Sendable {
    /// Time allowed for the call; the default deadline when neither this nor `deadline` is set.
    package var timeout: Duration?
    /// An absolute deadline; takes precedence over `timeout`. A handler calling on passes its own
    /// (`ServerContext.deadline`), so that the callee gets what is left of the caller's time.
    package var deadline: ContinuousClock.Instant?
    package var metadata: Metadata
    /// While disconnected, wait (up to the deadline) for the connection instead of failing at
    /// once with UNAVAILABLE.
    package var waitForReady: Bool
    /// Response messages granted at a time on streaming calls.
    package var window: UInt32

    package init(
        timeout: Duration? = nil,
        deadline: ContinuousClock.Instant? = nil,
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
    package var effectiveDeadline: ContinuousClock.Instant {
        deadline ?? (.now + (timeout ?? RPCDefaults.callTimeout))
    }
}

extension ContinuousClock.Instant {
    /// The same moment on the event loops' clock, which the connections time calls with.
    var nioDeadline: NIODeadline {
        NIODeadline.now() + TimeAmount(ContinuousClock.now.duration(to: self))
    }
}

extension NIODeadline {
    /// The same moment on the continuous clock, which handlers and callers see.
    var instant: ContinuousClock.Instant {
        ContinuousClock.now.advanced(by: Duration(self - .now()))
    }
}

extension TimeAmount {
    /// `duration`, to the nanosecond (saturating at the ends of `Int64`'s range).
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else {
            self = .nanoseconds(seconds < 0 ? .min : .max)
            return
        }
        let (sum, overflowed) = product.addingReportingOverflow(attoseconds / 1_000_000_000)
        self = .nanoseconds(overflowed ? (seconds < 0 ? .min : .max) : sum)
    }
}

extension Duration {
    init(_ amount: TimeAmount) {
        self = .nanoseconds(amount.nanoseconds)
    }
}
