import Logging
import NIOCore
import SanlianWire
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Installs the connection handler on a channel and returns its handle.
enum ConnectionPipeline {
    private static let connectionIDs = Atomic<UInt64>(1)

    static func nextConnectionID() -> UInt64 {
        connectionIDs.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    /// Must run on the channel's event loop.
    static func install(
        on channel: any Channel,
        role: ConnectionRole,
        configuration: ConnectionConfiguration,
        authenticator: (any Authenticator)?,
        claim: IdentityClaim?,
        dispatcher: (any InboundCallDispatcher)?,
        peerCredentials: PeerCredentials?,
        logger: Logger
    ) throws -> (RPCConnection, EventLoopFuture<PeerIdentity>) {
        let handler = RPCConnectionHandler(
            role: role,
            configuration: configuration,
            authenticator: authenticator,
            claim: claim,
            dispatcher: dispatcher,
            peerCredentials: peerCredentials,
            connectionID: nextConnectionID(),
            eventLoop: channel.eventLoop,
            logger: logger
        )
        let connection = RPCConnection(channel: channel, role: role, handler: handler, logger: logger)
        handler.connection = connection
        let sync = channel.pipeline.syncOperations
        // The handler splits frames itself (see RPCConnectionHandler.channelRead).
        try sync.addHandler(handler)
        return (connection, handler.handshake.futureResult)
    }

    /// Reads SO_PEERCRED: the pid, uid and gid of the process at the other end of a Unix socket.
    static func peerCredentials(of channel: any Channel) -> EventLoopFuture<PeerCredentials?> {
        #if os(Linux)
            guard let provider = channel as? any SocketOptionProvider else {
                return channel.eventLoop.makeSucceededFuture(nil)
            }
            // struct ucred from <sys/socket.h>, which Glibc's module only exposes under _GNU_SOURCE.
            struct UnixCredentials: Sendable {
                var pid: Int32
                var uid: UInt32
                var gid: UInt32
            }
            let peerCredentialsOption: Int32 = 17  // SO_PEERCRED on Linux
            return provider.unsafeGetSocketOption(
                level: SocketOptionLevel(SOL_SOCKET),
                name: SocketOptionName(peerCredentialsOption)
            )
            .map { (credentials: UnixCredentials) -> PeerCredentials? in
                PeerCredentials(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid)
            }
            .flatMapError { _ in channel.eventLoop.makeSucceededFuture(nil) }
        #else
            return channel.eventLoop.makeSucceededFuture(nil)
        #endif
    }
}
