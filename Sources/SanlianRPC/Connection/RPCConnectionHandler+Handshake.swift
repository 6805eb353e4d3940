import Logging
import NIOCore
import SanlianEventLoop
import SanlianWire

/// The handshake: a Hello checked and answered, a Welcome taken.
extension RPCConnectionHandler {
    /// Completes the handshake promise once; later outcomes are ignored.
    func completeHandshake(_ result: Result<PeerIdentity, RPCError>) {
        guard !handshakeCompleted else { return }
        handshakeCompleted = true
        handshake.completeWith(result.mapError { $0 as any Error })
    }

    func handleHello(_ hello: RPCV1.Hello) {
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
        let authenticated: AuthenticatedIdentity
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
            roles: authenticated.roles,
            scope: authenticated.scope,
            grants: authenticated.grants,
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

    func handleWelcome(_ welcome: RPCV1.Welcome) {
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

    func becomeReady(_ identity: PeerIdentity) {
        phase = .ready
        handshakeTimer?.cancel()
        handshakeTimer = nil
        connection?.setPeer(identity)
        completeHandshake(.success(identity))
    }
}
