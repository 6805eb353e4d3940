package import NIOCore
package import SanlianWire

/// How an outbound call ended, as the callee reported it (or as the runtime decided, for
/// deadlines, cancellation and lost connections).
package struct CallOutcome: Sendable {
    package var status: RPCV1.Status
    package var metadata: Metadata
    /// The final (unary) response message, if the callee sent one with the end.
    package var payload: [UInt8]?
    /// The call never reached the peer (no connection, or the peer went away before seeing it),
    /// so it is safe to try again elsewhere.
    package var neverSent = false

    package init(status: RPCV1.Status, metadata: Metadata = Metadata(), payload: [UInt8]? = nil) {
        self.status = status
        self.metadata = metadata
        self.payload = payload
    }

    package init(error: RPCError, neverSent: Bool = false) {
        self.init(status: error.status, metadata: error.metadata)
        self.neverSent = neverSent
    }

    package var error: RPCError? {
        status.code == .ok ? nil : RPCError(status: status, metadata: metadata)
    }
}

/// Receives what happens to a call this side started. Called on the connection's event loop, in
/// order; `ended` exactly once, last.
package protocol OutboundCallObserver: AnyObject, Sendable {
    func received(message: [UInt8])
    func ended(_ outcome: CallOutcome)

    /// Whether the callee's Message and CallEnd frames go to `relay(_:final:)` as received,
    /// undecoded, instead of to `received` and `ended`. Read once, when the call starts.
    var relaysFrames: Bool { get }

    /// A Message (`final` false) or CallEnd (`final` true, then nothing follows) frame of the
    /// call, as the callee encoded it; only for observers that relay frames.
    func relay(_ frame: ByteBuffer, final: Bool)
}

extension OutboundCallObserver {
    package var relaysFrames: Bool { false }

    package func relay(_ frame: ByteBuffer, final: Bool) {}
}

/// What a caller asks for when it starts a call.
package struct CallRequest: Sendable {
    package var method: String
    package var metadata: Metadata
    package var deadline: NIODeadline
    package var payload: [UInt8]
    /// No further request messages follow (unary and server-streaming calls).
    package var halfClose: Bool
    /// Response messages the caller accepts before it grants more.
    package var window: UInt32
    /// The payload still encoded as a caller's CallStart carried it (`InboundCall.payloadField`),
    /// sent in place of `payload` as is (`FrameRelay.writeStart`): the broker forwards a caller's
    /// request this way without decoding it.
    package var payloadField: [UInt8]?
    /// Metadata entries already encoded, sent after `metadata`: the broker's identity stamps,
    /// encoded once per connection (`EncodedMetadataEntries`).
    package var encodedMetadata: EncodedMetadataEntries?

    package init(
        method: String,
        metadata: Metadata = Metadata(),
        deadline: NIODeadline,
        payload: [UInt8],
        halfClose: Bool = true,
        window: UInt32 = RPCDefaults.streamWindow
    ) {
        self.method = method
        self.metadata = metadata
        self.deadline = deadline
        self.payload = payload
        self.halfClose = halfClose
        self.window = window
    }
}
