package import Logging
package import NIOCore
package import SanlianWire
import Synchronization

/// Which end of a connection this process is. The dialling side numbers its calls odd, the
/// accepting side even, so both can start calls on one connection without clashing.
package enum ConnectionRole: Sendable {
    case dialer
    case acceptor
}

/// Decides what to do with the calls a peer starts. Called on the connection's event loop, once
/// per accepted CallStart; must not block.
package protocol InboundCallDispatcher: Sendable {
    /// Whether calls are read without their request payload, which stays in the CallStart frame
    /// (`InboundCall.undecodedStart`) to be forwarded as is: the broker's dispatcher. Default false.
    var readsCallsUndecoded: Bool { get }
    /// Starts serving `call` (or ends it at once), on the connection's event loop.
    /// - Returns: whether it is a stream, which pausing reads must not wait for.
    func dispatch(_ call: InboundCall) -> DispatchedCall
    /// The connection closed: no more calls will be dispatched.
    func finish()
}

extension InboundCallDispatcher {
    package var readsCallsUndecoded: Bool { false }
}

/// What a dispatched call holds of its connection, which decides whether it counts toward pausing
/// the connection's reads (`ConnectionConfiguration.maxBoundedInboundCalls`).
package enum DispatchedCall: Sendable {
    /// Answered without further frames from the caller (a unary call, or one already ended):
    /// counts. Its answer must not wait on the caller's other calls, which a pause holds back.
    case bounded
    /// Open until one side ends it (a stream): does not count, since a pause would also hold back
    /// the frames that move or end it (window updates, Cancel).
    case open
}

/// One RPC connection over a Unix socket, usable from any thread: start calls, send frames,
/// close. The frame-level state machine is `RPCConnectionHandler`, confined to the transport's
/// event loop; this handle hops there.
package final class RPCConnection: Sendable {
    package let transport: any ConnectionTransport
    package let eventLoop: any EventLoop
    package let role: ConnectionRole
    package let logger: Logger
    let handler: NIOLoopBound<RPCConnectionHandler>
    private let nextCallID: Atomic<UInt32>
    private let identity: Mutex<PeerIdentity?>
    private let acceptingCalls = Atomic<Bool>(true)
    /// Work other threads hand the event loop, run in one hop however much piles up: the
    /// ledger's writer answers a whole committed batch of publishes at once, and one `execute`
    /// per answer cost a lock, a task and often a wake-up each.
    private let mailbox = Mutex(Mailbox())

    private struct Mailbox {
        var work: [@Sendable (RPCConnectionHandler) -> Void] = []
        var hopScheduled = false
    }

    init(transport: any ConnectionTransport, role: ConnectionRole, handler: RPCConnectionHandler, logger: Logger) {
        self.transport = transport
        self.eventLoop = transport.eventLoop
        self.role = role
        self.logger = logger
        self.handler = NIOLoopBound(handler, eventLoop: transport.eventLoop)
        self.nextCallID = Atomic(role == .dialer ? 1 : 2)
        self.identity = Mutex(nil)
    }

    /// The peer as the handshake established it (nil before the handshake completes).
    package var peer: PeerIdentity? { identity.withLock { $0 } }

    func setPeer(_ peer: PeerIdentity) { identity.withLock { $0 = peer } }

    /// False once either side has said GoAway or the connection has closed: new calls belong on
    /// another connection.
    package var isAcceptingCalls: Bool { acceptingCalls.load(ordering: .relaxed) && transport.isActive }

    func stopAcceptingCalls() { acceptingCalls.store(false, ordering: .relaxed) }

    /// Completes when the connection has closed.
    package var closeFuture: EventLoopFuture<Void> { transport.closeFuture }

    /// Starts a call; `observer` hears its messages and its end on this connection's event loop.
    /// - Returns: the call's id on this connection, for `cancel` and `grant`.
    @discardableResult
    package func startCall(_ request: CallRequest, observer: any OutboundCallObserver) -> UInt32 {
        let id = nextCallID.wrappingAdd(2, ordering: .relaxed).oldValue
        if let handler = handlerHere {
            handler.startOutbound(id: id, request: request, observer: observer)
        } else {
            onLoop { $0.startOutbound(id: id, request: request, observer: observer) }
        }
        return id
    }

    /// Cancels a call this side started; its observer hears CANCELLED.
    package func cancel(callID: UInt32, reason: String) {
        onLoop { $0.cancelOutbound(id: callID, reason: reason) }
    }

    /// Grants the callee `messages` more response messages of a streaming call.
    package func grant(callID: UInt32, messages: UInt32) {
        onLoop { $0.send(RPCV1.Frame(callID: callID, kind: .windowUpdate(RPCV1.WindowUpdate(messages: messages)))) }
    }

    func sendMessage(callID: UInt32, payload: [UInt8]) {
        onLoop { $0.sendMessage(callID: callID, payload: payload) }
    }

    func endInboundCall(callID: UInt32, outcome: CallOutcome) {
        if let handler = handlerHere {
            handler.endInbound(id: callID, outcome: outcome)
        } else {
            onLoop { $0.endInbound(id: callID, outcome: outcome) }
        }
    }

    /// Ends an inbound call with the CallEnd frame `write` appends (call id and all). Off the event
    /// loop, the frame is written into a buffer of its own here and relayed on the loop.
    func endInboundCall(callID: UInt32, writing write: (inout ByteBuffer) throws(WireError) -> Void) {
        if let handler = handlerHere {
            handler.endInbound(id: callID, writing: write)
            return
        }
        // Sized for a small answer (a publish's acknowledgement); a larger one grows it once.
        var frame = ByteBufferAllocator().buffer(capacity: 64)
        do {
            try write(&frame)
        } catch {
            let refusal = RPCConnectionHandler.encodingRefusal("response", error)
            onLoop { $0.endInbound(id: callID, outcome: CallOutcome(error: refusal)) }
            return
        }
        frame.moveReaderIndex(forwardBy: FrameLimits.prefixBytes)
        let body = frame
        onLoop { $0.endInbound(id: callID, relaying: body) }
    }

    func endInboundCall(callID: UInt32, relaying frame: ByteBuffer) {
        if let handler = handlerHere {
            handler.endInbound(id: callID, relaying: frame)
        } else {
            onLoop { $0.endInbound(id: callID, relaying: frame) }
        }
    }

    func relay(_ frame: ByteBuffer, callID: UInt32) {
        onLoop { $0.relayMessage(frame, callID: callID) }
    }

    /// Tells the peer no new calls are accepted, lets calls in flight finish, then closes.
    /// - Returns: a future that completes when the connection has closed.
    @discardableResult
    package func goAway(_ status: RPCV1.Status) -> EventLoopFuture<Void> {
        onLoop { $0.beginGoAway(status) }
        return transport.closeFuture
    }

    /// Closes at once; calls in flight fail with UNAVAILABLE.
    package func close() {
        transport.closeSoon()
    }

    /// The handler, when called on its event loop; nil elsewhere. The calls made once per call
    /// use it before `onLoop`: the closure `onLoop` takes escapes, and so cost a heap allocation
    /// even when it ran at once.
    private var handlerHere: RPCConnectionHandler? {
        eventLoop.inEventLoop ? handler.value : nil
    }

    /// Runs `body` with the handler on the event loop: now if already there, otherwise in order
    /// with everything else other threads hand over before the loop gets to it.
    func onLoop(_ body: @escaping @Sendable (RPCConnectionHandler) -> Void) {
        if eventLoop.inEventLoop {
            body(handler.value)
            return
        }
        let needsHop = mailbox.withLock { mailbox in
            mailbox.work.append(body)
            defer { mailbox.hopScheduled = true }
            return !mailbox.hopScheduled
        }
        guard needsHop else { return }
        eventLoop.execute { [self] in
            let work = mailbox.withLock { mailbox in
                defer {
                    mailbox.work = []
                    mailbox.hopScheduled = false
                }
                return mailbox.work
            }
            let handler = self.handler.value
            for body in work { body(handler) }
        }
    }
}
