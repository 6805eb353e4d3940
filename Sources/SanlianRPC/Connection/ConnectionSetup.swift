import Logging
import NIOCore
import SanlianEventLoop
import SanlianWire
import Synchronization

/// Puts a connection handler on a transport and returns its handle.
enum ConnectionSetup {
    private static let connectionIDs = Atomic<UInt64>(1)

    static func nextConnectionID() -> UInt64 {
        connectionIDs.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    /// Starts the connection on `transport`, which must be open. Must run on its event loop.
    /// - Returns: the connection, and the handshake's outcome to come (the peer's identity).
    static func install(
        on transport: any ConnectionTransport,
        role: ConnectionRole,
        configuration: ConnectionConfiguration,
        authenticator: (any Authenticator)?,
        claim: IdentityClaim?,
        dispatcher: (any InboundCallDispatcher)?,
        peerCredentials: PeerCredentials?,
        logger: Logger
    ) -> (RPCConnection, EventLoopFuture<PeerIdentity>) {
        let handler = RPCConnectionHandler(
            role: role,
            configuration: configuration,
            authenticator: authenticator,
            claim: claim,
            dispatcher: dispatcher,
            peerCredentials: peerCredentials,
            connectionID: nextConnectionID(),
            eventLoop: transport.eventLoop,
            logger: logger
        )
        let connection = RPCConnection(transport: transport, role: role, handler: handler, logger: logger)
        handler.connection = connection
        // Attached first, so that a transport that fails to start closes a started handler.
        handler.attach(transport)
        transport.start(delegate: handler)
        return (connection, handler.handshake.futureResult)
    }

    /// The pid, uid and gid of the process at the other end of a Unix socket (SO_PEERCRED).
    static func peerCredentials(of socket: UnixStreamConnection) -> PeerCredentials? {
        socket.peerCredentials().map { PeerCredentials(pid: $0.pid, uid: $0.uid, gid: $0.gid) }
    }
}
