import Logging
import NIOCore
import SanlianEventLoop
import SanlianWire

/// The frame-level state machine of one connection: handshake, calls in both directions,
/// deadlines, cancellation, flow control, pings and going away. Lives on the transport's event
/// loop and is only touched there (`RPCConnection` hops in).
final class RPCConnectionHandler: StreamConnectionDelegate {
    enum Phase {
        case handshaking
        case ready
        case goingAway
        case closed
    }

    struct OutboundEntry {
        var observer: any OutboundCallObserver
        var deadline: NIODeadline
        var timeout: TimeAmount
        var relaysFrames: Bool
    }

    struct InboundEntry {
        var call: InboundCall
        var timeout: TimeAmount
        /// Counted in `boundedInbound` (`DispatchedCall.bounded`).
        var bounded = false
    }

    let role: ConnectionRole
    let configuration: ConnectionConfiguration
    var logger: Logger
    let authenticator: (any Authenticator)?
    let claim: IdentityClaim?
    /// The dispatcher's `dispatch`, taken once: binding the stored existential copied it on every
    /// call.
    let dispatch: ((InboundCall) -> DispatchedCall)?
    /// `dispatcher.readsCallsUndecoded`, asked once.
    let readsCallsUndecoded: Bool
    let peerCredentials: PeerCredentials?
    let connectionID: UInt64
    /// Completed when the handshake succeeds (with the peer's identity) or fails.
    let handshake: EventLoopPromise<PeerIdentity>

    /// Set right after creation; cleared when the transport closes to break the cycle.
    var connection: RPCConnection?
    /// Set by `attach`; cleared when it closes.
    var transport: (any ConnectionTransport)?
    let eventLoop: any EventLoop
    var phase = Phase.handshaking
    var outbound = CallTable<OutboundEntry>()
    var inbound = CallTable<InboundEntry>()
    /// Inbound calls dispatched as `DispatchedCall.bounded` and not yet ended.
    var boundedInbound = 0
    /// Set while reading is paused for too many bounded calls (`ConnectionConfiguration
    /// .maxBoundedInboundCalls`): the transport reads nothing, and frames already read wait in
    /// `partialInput`.
    var readsPaused = false
    /// Set while reading is paused for unsent output (`ConnectionConfiguration.outputPauseBytes`),
    /// until the transport says it has sent everything.
    var outputPaused = false
    /// Gives the peer up when paused output makes no progress (`outputStallTimeout`).
    var outputStallTimer: Scheduled<Void>?
    /// Whether reading is paused, for either reason.
    var isReadingPaused: Bool { readsPaused || outputPaused }
    var highestInboundCallID: UInt32 = 0
    var peerMaxFrameBytes = RPCDefaults.maxFrameBytes
    var frameDecoder: FrameDecoder
    /// Bytes of an incomplete frame, kept until the rest arrives.
    var partialInput: ByteBuffer?
    var flushPending = false
    /// Between a read and its `connectionReadComplete`, which flushes: frames written then need
    /// no flush task of their own.
    var reading = false
    /// This event loop's connections awaiting the end of another's read to flush (nil off the
    /// process-wide event loops: then a write outside this connection's read schedules a flush).
    /// Internal for tests, which share one between connections on one `EmbeddedEventLoop`.
    var loopFlushes: LoopFlushList?
    /// Frames encoded since the last flush, written to the transport as one buffer: one
    /// allocation and one write per event-loop tick (or per full batch) instead of per frame.
    var pendingOutput: ByteBuffer?
    /// The buffer of the last flush, written into again by the next frames: once the transport has
    /// sent it (at once, unless the socket was full) this is its only reference and `clear()`
    /// keeps its memory; while the transport still holds it, `clear()` gives fresh memory. Saves
    /// an allocation and a free per flush, twice per forwarded call in the broker.
    var spareOutput: ByteBuffer?
    /// Frames in `pendingOutput`.
    var pendingFrames = 0
    var lastRead = NIODeadline.now()
    var outstandingPing: (nonce: UInt64, timeout: Scheduled<Void>)?
    var pingTimer: Scheduled<Void>?
    var handshakeTimer: Scheduled<Void>?
    /// One timer per connection, for the earliest deadline of the calls in flight. A timer per
    /// call cost a heap insert and an O(n) cancel in NIO's scheduler on every call: 15 % of the
    /// broker under load.
    var deadlineTimer: Scheduled<Void>?
    var deadlineTimerAt: NIODeadline?
    var nextPingNonce: UInt64 = 1
    var handshakeCompleted = false

    init(
        role: ConnectionRole,
        configuration: ConnectionConfiguration,
        authenticator: (any Authenticator)?,
        claim: IdentityClaim?,
        dispatcher: (any InboundCallDispatcher)?,
        peerCredentials: PeerCredentials?,
        connectionID: UInt64,
        eventLoop: any EventLoop,
        logger: Logger
    ) {
        self.role = role
        self.configuration = configuration
        self.authenticator = authenticator
        self.claim = claim
        self.dispatch = dispatcher.map { dispatcher in { dispatcher.dispatch($0) } }
        self.readsCallsUndecoded = dispatcher?.readsCallsUndecoded ?? false
        self.peerCredentials = peerCredentials
        self.connectionID = connectionID
        self.frameDecoder = FrameDecoder(maxFrameBytes: configuration.maxFrameBytes)
        self.handshake = eventLoop.makePromise()
        self.eventLoop = eventLoop
        var logger = logger
        logger[metadataKey: "rpc.connection_id"] = "\(connectionID)"
        self.logger = logger
    }

    /// Starts the connection on `transport`, which is open: the dialler says Hello, both sides
    /// start their handshake and ping timers.
    func attach(_ transport: any ConnectionTransport) {
        self.transport = transport
        loopFlushes = LoopFlushList.of(eventLoop)
        start()
    }

    func start() {
        lastRead = .now()
        if role == .dialer, let claim {
            send(
                RPCV1.Frame(
                    kind: .hello(
                        RPCV1.Hello(
                            protocolVersion: RPCDefaults.protocolVersion,
                            department: claim.department,
                            operatorID: claim.operatorID,
                            credential: claim.credential,
                            clientName: claim.clientName.isEmpty ? configuration.localName : claim.clientName,
                            maxFrameBytes: UInt32(configuration.maxFrameBytes)
                        )
                    )
                )
            )
            flushNow()
        }
        handshakeTimer = eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(configuration.handshakeTimeout)) {
            [self] in
            guard phase == .handshaking else { return }
            fail(RPCError(.unauthenticated, "no handshake within \(configuration.handshakeTimeout.milliseconds) ms"))
        }
        schedulePingCheck()
    }

    func connectionClosed() {
        tearDown(reason: RPCError(.unavailable, "the connection to the peer was lost"))
        // A read that closed the connection gets no connectionReadComplete; it has ended all the same.
        endRead()
        transport = nil
    }

    /// Splits what the socket delivered into frames and handles each, in place: no decoder stage
    /// in front, whose generic machinery would cost per frame what the broker spends on a tenth
    /// of a call.
    func connectionReceived(_ bytes: ByteBuffer) {
        guard phase != .closed else { return }
        lastRead = .now()
        beginRead()
        var input = bytes
        if var partial = partialInput {
            partialInput = nil
            partial.writeBuffer(&input)
            input = partial
        }
        handleFrames(in: &input)
    }

    /// Handles every whole frame at the front of `input` until reads are paused; keeps the rest.
    func handleFrames(in input: inout ByteBuffer) {
        while phase != .closed, !isReadingPaused {
            let body: ByteBuffer?
            do {
                body = try frameDecoder.decode(buffer: &input)
            } catch {
                let error = error as? WireError ?? WireError.malformed(message: RPCV1.Frame.protoName, byteCount: 0)
                let code: StatusCode = error.kind == .frameTooLarge ? .resourceExhausted : .invalidArgument
                logger.debug("Rejected frame", metadata: ["rpc.error": "\(error)"])
                fail(RPCError(code, error.message))
                return
            }
            guard let body else { break }
            let leading = FrameRelay.leadingHeader(body)
            if let leading {
                if leading.kind == .start {
                    if readsCallsUndecoded {
                        startUndecoded(body, callID: leading.callID)
                        continue
                    }
                    if startDecoded(body, callID: leading.callID) { continue }
                } else if relayed(body, callID: leading.callID, kind: leading.kind) {
                    continue
                }
            }
            let frame: RPCV1.Frame
            do {
                frame = try RPCV1.Frame(buffer: body)
            } catch {
                if let leading, leading.kind == .start, error.kind == .embeddedNUL || error.kind == .invalidUTF8 {
                    refuseStart(id: leading.callID, error)
                    continue
                }
                if let leading, endCall(leading, malformed: error) { continue }
                fail(RPCError(.invalidArgument, "malformed frame: \(error.message)"))
                return
            }
            handle(frame)
        }
        // The start of a frame whose rest has not arrived yet, or frames a pause holds back.
        if input.readableBytes > 0, phase != .closed { partialInput = input }
    }

    func connectionReadComplete() {
        endRead()
    }

    /// Marks a read under way: what it writes is flushed when it ends (`endRead`).
    func beginRead() {
        guard !reading else { return }
        reading = true
        loopFlushes?.beginRead()
    }

    /// Flushes what this read wrote here and, through the loop's list, to other connections.
    func endRead() {
        guard reading else { return }
        reading = false
        flushNow()
        loopFlushes?.endRead()
    }

    func handle(_ frame: RPCV1.Frame) {
        switch frame.kind {
        case .hello(let hello):
            handleHello(hello)
        case .welcome(let welcome):
            handleWelcome(welcome)
        case .goAway(let goAway):
            handlePeerGoAway(goAway)
        case .ping(let ping):
            send(RPCV1.Frame(kind: .pong(RPCV1.Ping(nonce: ping.nonce))))
        case .pong(let pong):
            if let outstanding = outstandingPing, outstanding.nonce == pong.nonce {
                outstanding.timeout.cancel()
                outstandingPing = nil
            }
        case .start(let start):
            handleStart(id: frame.callID, .decoded(start))
        case .message(let message):
            if let entry = outbound[frame.callID] {
                entry.observer.received(message: message.payload)
            }
        // A message for an inbound call would be client streaming, which this runtime does not
        // offer yet; a message for a call that has ended is a race and is dropped.
        case .end(let end):
            if let entry = outbound.removeValue(forKey: frame.callID) {
                entry.observer.ended(
                    CallOutcome(
                        status: end.status ?? RPCV1.Status(),
                        metadata: Metadata(end.metadata),
                        payload: end.hasPayload ? end.payload : nil
                    )
                )
                closeIfDrained()
            }
        case .cancel:
            if let entry = inbound[frame.callID] {
                entry.call.cancel(RPCError(.cancelled, "the caller cancelled the call"), answer: true)
            }
        case .windowUpdate(let update):
            inbound[frame.callID]?.call.grant(update.messages)
        case nil:
            fail(RPCError(.invalidArgument, "frame \(frame.callID) has no kind"))
        }
    }
}

extension Optional where Wrapped == RPCV1.Frame.Kind {
    var isGoAway: Bool {
        if case .goAway? = self { return true }
        return false
    }
}

extension TimeAmount {
    var milliseconds: Int64 { nanoseconds / 1_000_000 }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
