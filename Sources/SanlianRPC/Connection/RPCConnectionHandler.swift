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

    private struct OutboundEntry {
        var observer: any OutboundCallObserver
        var deadline: NIODeadline
        var timeout: TimeAmount
        var relaysFrames: Bool
    }

    private struct InboundEntry {
        var call: InboundCall
        var timeout: TimeAmount
        /// Counted in `boundedInbound` (`DispatchedCall.bounded`).
        var bounded = false
    }

    let role: ConnectionRole
    let configuration: ConnectionConfiguration
    private var logger: Logger
    private let authenticator: (any Authenticator)?
    private let claim: IdentityClaim?
    /// The dispatcher's `dispatch`, taken once: binding the stored existential copied it on every
    /// call (~150 instructions a copy).
    private let dispatch: ((InboundCall) -> DispatchedCall)?
    /// `dispatcher.readsCallsUndecoded`, asked once.
    private let readsCallsUndecoded: Bool
    private let peerCredentials: PeerCredentials?
    private let connectionID: UInt64
    /// Completed when the handshake succeeds (with the peer's identity) or fails.
    let handshake: EventLoopPromise<PeerIdentity>

    /// Set right after creation; cleared when the transport closes to break the cycle.
    var connection: RPCConnection?
    /// Set by `attach`; cleared when it closes.
    private var transport: (any ConnectionTransport)?
    private let eventLoop: any EventLoop
    private(set) var phase = Phase.handshaking
    private var outbound = CallTable<OutboundEntry>()
    private var inbound = CallTable<InboundEntry>()
    /// Inbound calls dispatched as `DispatchedCall.bounded` and not yet ended.
    private var boundedInbound = 0
    /// Set while reading is paused for too many bounded calls (`ConnectionConfiguration
    /// .maxBoundedInboundCalls`): the channel reads nothing, and frames already read wait in
    /// `partialInput`.
    private var readsPaused = false
    /// Set while reading is paused for unsent output (`ConnectionConfiguration.outputPauseBytes`),
    /// until the transport says it has sent everything.
    private var outputPaused = false
    /// Gives the peer up when paused output makes no progress (`outputStallTimeout`).
    private var outputStallTimer: Scheduled<Void>?
    /// Whether reading is paused, for either reason.
    private var isReadingPaused: Bool { readsPaused || outputPaused }
    private var highestInboundCallID: UInt32 = 0
    private var peerMaxFrameBytes = RPCDefaults.maxFrameBytes
    private var frameDecoder: FrameDecoder
    /// Bytes of an incomplete frame, kept until the rest arrives.
    private var partialInput: ByteBuffer?
    private var flushPending = false
    /// Between a read and its `channelReadComplete`, which flushes: frames written then need no
    /// flush task of their own.
    private var reading = false
    /// This event loop's connections awaiting the end of another's read to flush (nil off the
    /// process-wide event loops: then a write outside this connection's read schedules a flush).
    /// Internal for tests, which share one between connections on one `EmbeddedEventLoop`.
    var loopFlushes: LoopFlushList?
    /// Frames encoded since the last flush, written to the channel as one buffer: one allocation
    /// and one pipeline write per event-loop tick (or per full batch) instead of per frame.
    private var pendingOutput: ByteBuffer?
    /// The buffer of the last flush, written into again by the next frames: once the channel has
    /// written it (at once, unless the socket was full) this is its only reference and `clear()`
    /// keeps its memory; while the channel still holds it, `clear()` gives fresh memory. Saves an
    /// allocation and a free per flush, twice per forwarded call in the broker.
    private var spareOutput: ByteBuffer?
    /// Frames in `pendingOutput`.
    private var pendingFrames = 0
    private var lastRead = NIODeadline.now()
    private var outstandingPing: (nonce: UInt64, timeout: Scheduled<Void>)?
    private var pingTimer: Scheduled<Void>?
    private var handshakeTimer: Scheduled<Void>?
    /// One timer per connection, for the earliest deadline of the calls in flight. A timer per
    /// call cost a heap insert and an O(n) cancel in NIO's scheduler on every call: 15 % of the
    /// broker under load.
    private var deadlineTimer: Scheduled<Void>?
    private var deadlineTimerAt: NIODeadline?
    private var nextPingNonce: UInt64 = 1
    private var handshakeCompleted = false

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

    // MARK: - Transport events

    /// Starts the connection on `transport`, which is open: the dialler says Hello, both sides
    /// start their handshake and ping timers.
    func attach(_ transport: any ConnectionTransport) {
        self.transport = transport
        loopFlushes = LoopFlushList.of(eventLoop)
        start()
    }

    private func start() {
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
        handshakeTimer = eventLoop.assumeIsolated().scheduleTask(in: configuration.handshakeTimeout) { [self] in
            guard phase == .handshaking else { return }
            fail(RPCError(.unauthenticated, "no handshake within \(configuration.handshakeTimeout.milliseconds) ms"))
        }
        schedulePingCheck()
    }

    /// Checks liveness every ping interval while the connection is open.
    private func schedulePingCheck() {
        guard phase != .closed else { return }
        pingTimer = eventLoop.assumeIsolated().scheduleTask(in: configuration.pingInterval) { [self] in
            checkLiveness()
            schedulePingCheck()
        }
    }

    func connectionClosed() {
        tearDown(reason: RPCError(.unavailable, "the connection to the peer was lost"))
        // A read that closed the connection gets no connectionReadComplete; it has ended all the same.
        endRead()
        transport = nil
    }

    /// Splits what the socket delivered into frames and handles each. Framing happens here rather
    /// than in a `ByteToMessageHandler` in front: that handler's generic machinery and the extra
    /// pipeline step cost ~4 k instructions per frame, a tenth of the broker's work per call.
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
    private func handleFrames(in input: inout ByteBuffer) {
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

    // MARK: - Pausing reads

    /// Stops reading the socket: the peer has `maxBoundedInboundCalls` calls waiting here, and
    /// this side waits for the answer to none of its own.
    private func pauseReads() {
        guard !readsPaused, let transport else { return }
        readsPaused = true
        logger.debug("Pausing reads", metadata: ["rpc.bounded_calls": "\(boundedInbound)"])
        transport.setReading(false)
    }

    /// Reads again once a quarter of the bounded calls have been answered (see
    /// `ConnectionConfiguration.maxBoundedInboundCalls`): first the frames held back,
    /// then the socket. Done as a task of its own, since the answer that allows it can come in the
    /// middle of any other work of this event loop.
    private func resumeReadsLater() {
        guard readsPaused, transport != nil else { return }
        readsPaused = false
        resumeReadingLater()
    }

    /// Reads again, unless reading is still paused for the other reason: first the frames held
    /// back, then the socket.
    private func resumeReadingLater() {
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

    // MARK: - Unsent output

    /// Pauses reading when the peer leaves too much of what this side wrote unsent, and gives it
    /// up when it leaves far too much (`ConnectionConfiguration.outputPauseBytes`,
    /// `outputCloseBytes`).
    private func checkUnsentOutput() {
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
    private func watchOutputStall(sentBefore: UInt64) {
        outputStallTimer = eventLoop.assumeIsolated().scheduleTask(in: configuration.outputStallTimeout) { [self] in
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
    private func giveUpOnUnreadOutput(_ reason: String) {
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
        transport.closeWhenFlushed(deadline: .now() + configuration.goAwayLinger)
    }

    /// Forgets inbound call `id`; reading resumes when enough bounded calls have ended.
    @discardableResult
    private func removeInbound(_ id: UInt32) -> InboundEntry? {
        guard let entry = inbound.removeValue(forKey: id) else { return nil }
        if entry.bounded {
            boundedInbound -= 1
            if readsPaused, boundedInbound <= configuration.maxBoundedInboundCalls * 3 / 4 { resumeReadsLater() }
        }
        return entry
    }

    /// Passes a Message or CallEnd frame of an outbound call whose observer relays frames on
    /// undecoded (the broker's forwarded calls).
    /// - Returns: false when the frame is not one of those (then it is decoded as usual).
    private func relayed(_ body: ByteBuffer, callID id: UInt32, kind: FrameRelay.Kind) -> Bool {
        guard let entry = outbound[id], entry.relaysFrames else { return false }
        switch kind {
        case .message:
            entry.observer.relay(body, final: false)
        case .end:
            outbound.removeValue(forKey: id)
            entry.observer.relay(body, final: true)
            closeIfDrained()
        case .start:
            return false
        }
        return true
    }

    /// Ends the one call a Message or CallEnd frame is of when its call id and kind read but its
    /// Message or CallEnd does not decode, as gRPC ends a call whose response does not parse:
    /// the broker relays a service's frames as they came, and one bad answer must not cut a
    /// caller's every call off. An outbound call ends with INTERNAL (its callee, when it may
    /// still be sending, is told to stop); a frame of no call in flight is dropped, as a
    /// well-formed one would be.
    /// - Returns: false for a CallStart (then the connection fails, as for any malformed frame).
    private func endCall(_ leading: (callID: UInt32, kind: FrameRelay.Kind), malformed error: WireError) -> Bool {
        let what: String
        switch leading.kind {
        case .start: return false
        case .message: what = "message"
        case .end: what = "CallEnd"
        }
        logger.debug(
            "Malformed frame of a call",
            metadata: ["rpc.call_id": "\(leading.callID)", "rpc.error": "\(error)"]
        )
        endOutbound(
            id: leading.callID,
            error: RPCError(.internal, "malformed \(what) from the peer: \(error.message)"),
            cancelling: leading.kind == .message ? "malformed message" : nil
        )
        return true
    }

    /// Starts an inbound call from a CallStart frame read without its payload, for a dispatcher
    /// that forwards it as is (`InboundCallDispatcher.readsCallsUndecoded`).
    private func startUndecoded(_ body: ByteBuffer, callID id: UInt32) {
        let start: FrameRelay.Start
        do {
            start = try FrameRelay.readStart(body)
        } catch {
            refuseStart(id: id, error)
            return
        }
        handleStart(id: start.callID, .undecoded(start))
    }

    /// Answers a CallStart that is well framed but whose strings cannot be taken as they came (a
    /// NUL byte, which protobuf-c would cut the string at, or bytes that are not UTF-8) with
    /// INVALID_ARGUMENT for that call alone, naming the field; anything else wrong with it is a
    /// malformed frame, which fails the connection.
    private func refuseStart(id: UInt32, _ error: WireError) {
        let peerParity: UInt32 = role == .acceptor ? 1 : 0
        guard error.kind == .embeddedNUL || error.kind == .invalidUTF8, phase == .ready || phase == .goingAway,
            id % 2 == peerParity, inbound[id] == nil
        else {
            fail(RPCError(.invalidArgument, "malformed frame: \(error.message)"))
            return
        }
        highestInboundCallID = max(highestInboundCallID, id)
        send(
            RPCV1.Frame(
                callID: id,
                kind: .end(RPCV1.CallEnd(status: RPCV1.Status(code: .invalidArgument, message: error.message)))
            )
        )
    }

    /// Starts an inbound call from a CallStart frame laid out as encoders write it, decoding its
    /// CallStart alone rather than the `Frame` around it (`RPCV1.CallStart.fromFrame`).
    /// - Returns: false when the frame is laid out otherwise (then it is decoded as usual).
    private func startDecoded(_ body: ByteBuffer, callID id: UInt32) -> Bool {
        let start: RPCV1.CallStart
        do {
            guard let decoded = try RPCV1.CallStart.fromFrame(body) else { return false }
            start = decoded
        } catch {
            refuseStart(id: id, error)
            return true
        }
        handleStart(id: id, .decoded(start))
        return true
    }

    func connectionReadComplete() {
        endRead()
    }

    /// Marks a read under way: what it writes is flushed when it ends (`endRead`).
    private func beginRead() {
        guard !reading else { return }
        reading = true
        loopFlushes?.beginRead()
    }

    /// Flushes what this read wrote here and, through the loop's list, to other connections.
    private func endRead() {
        guard reading else { return }
        reading = false
        flushNow()
        loopFlushes?.endRead()
    }

    /// Completes the handshake promise once; later outcomes are ignored.
    private func completeHandshake(_ result: Result<PeerIdentity, RPCError>) {
        guard !handshakeCompleted else { return }
        handshakeCompleted = true
        handshake.completeWith(result.mapError { $0 as any Error })
    }

    // MARK: - Frames from the peer

    private func handle(_ frame: RPCV1.Frame) {
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

    private func handleHello(_ hello: RPCV1.Hello) {
        guard role == .acceptor, phase == .handshaking else {
            fail(RPCError(.invalidArgument, "unexpected Hello"))
            return
        }
        guard hello.protocolVersion == RPCDefaults.protocolVersion else {
            fail(
                RPCError(
                    .failedPrecondition,
                    "protocol version \(hello.protocolVersion) is not supported; this peer speaks \(RPCDefaults.protocolVersion)"
                )
            )
            return
        }
        let claim = IdentityClaim(
            department: hello.department,
            operatorID: hello.operatorID,
            credential: hello.credential,
            clientName: hello.clientName
        )
        let authenticated: (department: String, operatorID: String)
        do {
            authenticated = try (authenticator ?? AcceptAllAuthenticator()).authenticate(
                claim: claim,
                credentials: peerCredentials
            )
        } catch {
            logger.info(
                "Handshake refused",
                metadata: [
                    "rpc.department": "\(hello.department)",
                    "rpc.peer": "\(peerCredentials.map { "\($0)" } ?? "unknown")",
                    "rpc.error": "\(error.message)",
                ]
            )
            fail(error)
            return
        }
        if hello.maxFrameBytes > 0 { peerMaxFrameBytes = Int(hello.maxFrameBytes) }
        let identity = PeerIdentity(
            credentials: peerCredentials,
            department: authenticated.department,
            operatorID: authenticated.operatorID,
            clientName: hello.clientName,
            connectionID: connectionID,
            maxFrameBytes: peerMaxFrameBytes
        )
        logger[metadataKey: "rpc.department"] = "\(identity.department)"
        send(
            RPCV1.Frame(
                kind: .welcome(
                    RPCV1.Welcome(
                        protocolVersion: RPCDefaults.protocolVersion,
                        serverName: configuration.localName,
                        maxFrameBytes: UInt32(configuration.maxFrameBytes),
                        department: identity.department,
                        connectionID: connectionID
                    )
                )
            )
        )
        becomeReady(identity)
    }

    private func handleWelcome(_ welcome: RPCV1.Welcome) {
        guard role == .dialer, phase == .handshaking else {
            fail(RPCError(.invalidArgument, "unexpected Welcome"))
            return
        }
        if welcome.maxFrameBytes > 0 { peerMaxFrameBytes = Int(welcome.maxFrameBytes) }
        becomeReady(
            PeerIdentity(
                credentials: peerCredentials,
                department: welcome.department,
                operatorID: claim?.operatorID ?? "",
                clientName: welcome.serverName,
                connectionID: welcome.connectionID,
                maxFrameBytes: peerMaxFrameBytes
            )
        )
    }

    private func becomeReady(_ identity: PeerIdentity) {
        phase = .ready
        handshakeTimer?.cancel()
        handshakeTimer = nil
        connection?.setPeer(identity)
        completeHandshake(.success(identity))
    }

    private func handlePeerGoAway(_ goAway: RPCV1.GoAway) {
        let status = goAway.status ?? RPCV1.Status(code: .unavailable, message: "the peer is going away")
        if phase == .handshaking {
            completeHandshake(.failure(RPCError(status: status)))
            transport?.close()
            return
        }
        logger.debug("Peer is going away", metadata: ["rpc.status": "\(status.code.protoName)"])
        if phase == .ready { phase = .goingAway }
        connection?.stopAcceptingCalls()
        // Calls the peer never saw will never be answered.
        for (id, _) in outbound where id > goAway.lastCallID {
            if let entry = outbound.removeValue(forKey: id) {
                entry.observer.ended(
                    CallOutcome(
                        error: RPCError(.unavailable, "the peer is going away: \(status.message)"),
                        neverSent: true
                    )
                )
            }
        }
        closeIfDrained()
    }

    /// A CallStart as it was read: whole, or without decoding its payload (`startUndecoded`).
    private enum StartRead {
        case decoded(RPCV1.CallStart)
        case undecoded(FrameRelay.Start)

        var method: String {
            switch self {
            case .decoded(let start): start.method
            case .undecoded(let start): start.header.method
            }
        }

        var timeoutMicros: UInt64 {
            switch self {
            case .decoded(let start): start.timeoutMicros
            case .undecoded(let start): start.header.timeoutMicros
            }
        }
    }

    private func handleStart(id: UInt32, _ start: StartRead) {
        guard phase == .ready || phase == .goingAway else {
            fail(RPCError(.unauthenticated, "a call was started before the handshake completed"))
            return
        }
        let peerParity: UInt32 = role == .acceptor ? 1 : 0
        guard id % 2 == peerParity, inbound[id] == nil else {
            fail(RPCError(.invalidArgument, "call id \(id) is invalid or already in use"))
            return
        }
        highestInboundCallID = max(highestInboundCallID, id)
        func refuse(_ error: RPCError) {
            send(RPCV1.Frame(callID: id, kind: .end(RPCV1.CallEnd(status: error.status))))
        }
        guard phase == .ready else {
            refuse(RPCError(.unavailable, "the server is shutting down and accepts no new calls"))
            return
        }
        guard start.timeoutMicros > 0 else {
            refuse(RPCError(.deadlineExceeded, "the call's deadline had passed before it started"))
            return
        }
        guard inbound.count < configuration.maxConcurrentInboundCalls else {
            refuse(
                RPCError(
                    .resourceExhausted,
                    "too many concurrent calls on one connection (limit \(configuration.maxConcurrentInboundCalls))"
                )
            )
            return
        }
        guard let dispatch, let connection, let peer = connection.peer else {
            refuse(RPCError(.unimplemented, "this peer serves no methods (\(start.method))"))
            return
        }
        let timeout = TimeAmount.microseconds(Int64(clamping: start.timeoutMicros))
        let deadline = NIODeadline.now() + timeout
        let call: InboundCall
        switch start {
        case .decoded(let start):
            call = InboundCall(id: id, start: start, deadline: deadline, peer: peer, connection: connection)
        case .undecoded(let start):
            call = InboundCall(id: id, undecoded: start, deadline: deadline, peer: peer, connection: connection)
        }
        inbound[id] = InboundEntry(call: call, timeout: timeout)
        watchDeadline(deadline)
        // A call can end within dispatch (refused, or answered on the spot): then nothing counts.
        guard dispatch(call) == .bounded, inbound.update(id, { $0.bounded = true }) else { return }
        boundedInbound += 1
        // The answers to this side's own calls come on this connection: while it waits for any,
        // it keeps reading, or a handler waiting on a call of its own would wait for ever.
        if boundedInbound >= configuration.maxBoundedInboundCalls, outbound.isEmpty { pauseReads() }
    }

    // MARK: - Calls this side starts

    func startOutbound(id: UInt32, request: CallRequest, observer: any OutboundCallObserver) {
        guard phase == .ready, transport != nil else {
            let reason = phase == .goingAway ? "the connection is going away" : "the connection is not ready"
            observer.ended(CallOutcome(error: RPCError(.unavailable, reason), neverSent: true))
            return
        }
        let remaining = request.deadline - .now()
        guard remaining > .zero else {
            observer.ended(
                CallOutcome(error: RPCError(.deadlineExceeded, "the deadline passed before the call started"))
            )
            return
        }
        let timeoutMicros = UInt64(max(1, remaining.nanoseconds / 1_000))
        let refusal: RPCError?
        if request.payloadField != nil || request.encodedMetadata != nil {
            let payloadField = request.payloadField ?? FrameRelay.payloadField(for: request.payload)
            let header = RPCV1.CallStartHeader(
                method: request.method,
                timeoutMicros: timeoutMicros,
                metadata: request.metadata.wire,
                halfClose: request.halfClose,
                initialWindow: request.window
            )
            refusal = appendFrame("request") { buffer throws(WireError) in
                try FrameRelay.writeStart(
                    callID: id,
                    header: header,
                    encodedMetadata: request.encodedMetadata,
                    payloadField: payloadField,
                    into: &buffer
                )
            }
        } else {
            let start = RPCV1.CallStart(
                method: request.method,
                timeoutMicros: timeoutMicros,
                metadata: request.metadata.wire,
                payload: request.payload,
                halfClose: request.halfClose,
                initialWindow: request.window
            )
            refusal = send(RPCV1.Frame(callID: id, kind: .start(start)), limit: "request")
        }
        if let refusal {
            observer.ended(CallOutcome(error: refusal))
            return
        }
        outbound[id] = OutboundEntry(
            observer: observer,
            deadline: request.deadline,
            timeout: remaining,
            relaysFrames: observer.relaysFrames
        )
        watchDeadline(request.deadline)
        // Its answer comes on this connection (see `handleStart`).
        if readsPaused { resumeReadsLater() }
    }

    func cancelOutbound(id: UInt32, reason: String) {
        endOutbound(id: id, error: RPCError(.cancelled, reason), cancelling: reason)
    }

    /// Ends outbound call `id`, if still in flight, with `error`; with a `cancelling` reason the
    /// callee is sent a Cancel first.
    private func endOutbound(id: UInt32, error: RPCError, cancelling reason: String?) {
        guard let entry = outbound.removeValue(forKey: id) else { return }
        if let reason { send(RPCV1.Frame(callID: id, kind: .cancel(RPCV1.Cancel(reason: reason)))) }
        entry.observer.ended(CallOutcome(error: error))
        closeIfDrained()
    }

    func endInbound(id: UInt32, outcome: CallOutcome) {
        let end = RPCV1.CallEnd(
            status: outcome.status,
            metadata: outcome.metadata.wire,
            payload: outcome.payload ?? [],
            hasPayload: outcome.payload != nil
        )
        endInbound(id: id) { buffer throws(WireError) in try buffer.writeFrame(callID: id, end: end) }
    }

    /// Ends an inbound call with the CallEnd frame `write` appends; one that cannot be encoded or
    /// sent ends it with the reason instead.
    func endInbound(id: UInt32, writing write: (inout ByteBuffer) throws(WireError) -> Void) {
        guard removeInbound(id) != nil else { return }
        if phase != .closed, let refusal = appendFrame("response", write) {
            send(RPCV1.Frame(callID: id, kind: .end(RPCV1.CallEnd(status: refusal.status))))
        }
        closeIfDrained()
    }

    /// Sends a response message of an inbound streaming call; one that cannot be sent (over the
    /// peer's frame limit) ends the call (`endInbound(id:refusedMessage:)`).
    func sendMessage(callID id: UInt32, payload: [UInt8]) {
        guard phase != .closed, inbound[id] != nil else { return }
        let refusal = appendFrame("message") { buffer throws(WireError) in
            buffer.writeFrame(callID: id, messagePayload: payload)
        }
        if let refusal { endInbound(id: id, refusedMessage: refusal) }
    }

    /// Relays a response message another connection's callee sent; one that cannot be relayed
    /// (malformed, or over the peer's frame limit) ends the call (`endInbound(id:refusedMessage:)`).
    func relayMessage(_ frame: ByteBuffer, callID id: UInt32) {
        guard inbound[id] != nil else { return }
        if let refusal = relay(frame, callID: id, limit: "message") { endInbound(id: id, refusedMessage: refusal) }
    }

    /// Ends an inbound streaming call one of whose response messages could not be sent: its caller
    /// gets the reason rather than a stream with a message missing, and the call is cancelled, so
    /// that its handler stops (or, relayed, its callee is told to stop) and no later message
    /// follows the end. Ended here rather than by the cancellation's answer: a handler that has
    /// already returned has marked the call ended, its OK waiting behind this message.
    private func endInbound(id: UInt32, refusedMessage refusal: RPCError) {
        guard let entry = removeInbound(id) else { return }
        send(RPCV1.Frame(callID: id, kind: .end(RPCV1.CallEnd(status: refusal.status))))
        entry.call.cancel(refusal, answer: false)
        closeIfDrained()
    }

    /// Ends an inbound call with a CallEnd frame relayed from another connection.
    func endInbound(id: UInt32, relaying frame: ByteBuffer) {
        guard removeInbound(id) != nil else { return }
        if let error = relay(frame, callID: id, limit: "response") {
            send(RPCV1.Frame(callID: id, kind: .end(RPCV1.CallEnd(status: error.status))))
        }
        closeIfDrained()
    }

    // MARK: - Deadlines

    /// Makes sure the connection's deadline timer fires no later than `deadline`.
    private func watchDeadline(_ deadline: NIODeadline) {
        guard transport != nil, phase != .closed else { return }
        if let scheduled = deadlineTimerAt, scheduled <= deadline { return }
        deadlineTimer?.cancel()
        deadlineTimerAt = deadline
        deadlineTimer = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            deadlineTimer = nil
            deadlineTimerAt = nil
            expireDeadlines()
        }
    }

    /// Ends every call whose deadline has passed, then waits for the next earliest one. Calls that
    /// ended in time are simply no longer here; nothing was scheduled per call to undo.
    private func expireDeadlines() {
        let now = NIODeadline.now()
        var next: NIODeadline?
        for (id, entry) in inbound {
            if entry.call.deadline <= now {
                let milliseconds = entry.timeout.nanoseconds / 1_000_000
                entry.call.cancel(RPCError(.deadlineExceeded, "deadline of \(milliseconds) ms exceeded"), answer: true)
                // cancel() ends the call through endInbound; make sure it is gone either way.
                removeInbound(id)
            } else {
                next = min(next ?? entry.call.deadline, entry.call.deadline)
            }
        }
        for (id, entry) in outbound {
            if entry.deadline <= now {
                outbound.removeValue(forKey: id)
                send(RPCV1.Frame(callID: id, kind: .cancel(RPCV1.Cancel(reason: "deadline exceeded"))))
                let milliseconds = entry.timeout.nanoseconds / 1_000_000
                entry.observer.ended(
                    CallOutcome(error: RPCError(.deadlineExceeded, "deadline of \(milliseconds) ms exceeded"))
                )
            } else {
                next = min(next ?? entry.deadline, entry.deadline)
            }
        }
        if let next { watchDeadline(next) }
        closeIfDrained()
    }

    // MARK: - Going away and failing

    func beginGoAway(_ status: RPCV1.Status) {
        guard phase == .ready || phase == .handshaking else { return }
        phase = .goingAway
        connection?.stopAcceptingCalls()
        send(RPCV1.Frame(kind: .goAway(RPCV1.GoAway(status: status, lastCallID: highestInboundCallID))))
        flushNow()
        closeIfDrained()
    }

    /// Closes once no call is in flight in either direction, after a GoAway.
    private func closeIfDrained() {
        guard phase == .goingAway, inbound.isEmpty, outbound.isEmpty, let transport else { return }
        flushNow()
        transport.close()
    }

    /// Sends GoAway with `error` and closes: for protocol violations, refused handshakes, hung peers.
    private func fail(_ error: RPCError) {
        guard phase != .closed, let transport else { return }
        send(RPCV1.Frame(kind: .goAway(RPCV1.GoAway(status: error.status, lastCallID: highestInboundCallID))))
        flushNow()
        if phase == .handshaking { completeHandshake(.failure(error)) }
        tearDown(reason: RPCError(.unavailable, error.message))
        transport.close()
    }

    private func tearDown(reason: RPCError) {
        guard phase != .closed else { return }
        phase = .closed
        connection?.stopAcceptingCalls()
        handshakeTimer?.cancel()
        pingTimer?.cancel()
        outputStallTimer?.cancel()
        outputStallTimer = nil
        outstandingPing?.timeout.cancel()
        outstandingPing = nil
        completeHandshake(.failure(reason))
        deadlineTimer?.cancel()
        deadlineTimer = nil
        let calls = outbound
        outbound.removeAll()
        for (_, entry) in calls {
            entry.observer.ended(CallOutcome(error: reason))
        }
        let served = inbound
        inbound.removeAll()
        boundedInbound = 0
        for (_, entry) in served {
            entry.call.cancel(reason, answer: false)
        }
        connection = nil
    }

    private func checkLiveness() {
        // While reads are paused the peer's answers are not read: its silence says nothing.
        guard phase == .ready || phase == .goingAway, outstandingPing == nil, !isReadingPaused, transport != nil else {
            return
        }
        guard NIODeadline.now() - lastRead >= configuration.pingInterval else { return }
        let nonce = nextPingNonce
        nextPingNonce += 1
        let timeout = eventLoop.assumeIsolated().scheduleTask(in: configuration.pingTimeout) { [self] in
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

    // MARK: - Writing

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
    private func appendFrame(_ what: String, _ write: (inout ByteBuffer) throws(WireError) -> Void) -> RPCError? {
        guard transport != nil else { return RPCError(.unavailable, "closed") }
        // Taken out (moved, not copied) while it is written to, so that it is not shared and
        // copied meanwhile, and so that `clear()` finds the spare unshared if the channel is done.
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

    /// Writes one frame at the end of `buffer`.
    /// - Returns: why the frame cannot be sent (then `buffer` is as it was).
    private static func encodeFrame(
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

    /// Room for a few small frames; a large one grows the buffer once.
    private static let outputBufferCapacity = 1024
    /// A buffer grown past this by large frames is not kept as `spareOutput`: an idle connection
    /// should not hold on to it.
    private static let spareOutputCapacity = 16 * 1024

    private func flushNow() {
        guard let output = pendingOutput, let transport else { return }
        pendingOutput = nil
        pendingFrames = 0
        guard output.readableBytes > 0 else { return }
        if output.capacity <= Self.spareOutputCapacity { spareOutput = output }
        transport.write(output)
        // The answers of a read go out together: one look at what the peer left unread per flush.
        if transport.pendingWriteBytes > configuration.outputPauseBytes { checkUnsentOutput() }
    }
}

extension Optional where Wrapped == RPCV1.Frame.Kind {
    fileprivate var isGoAway: Bool {
        if case .goAway? = self { return true }
        return false
    }
}

extension TimeAmount {
    var milliseconds: Int64 { nanoseconds / 1_000_000 }
}
