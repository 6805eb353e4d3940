package import SanlianRPC
import SanlianWire

/// Authenticates a Hello against the departments' secrets and uid bindings.
package struct BrokerAuthenticator: Authenticator {
    let credentials: CredentialStore
    let policy: AccessPolicy

    package init(credentials: CredentialStore, policy: AccessPolicy) {
        self.credentials = credentials
        self.policy = policy
    }

    package func authenticate(claim: IdentityClaim, credentials peer: PeerCredentials?) throws(RPCError) -> (
        department: String, operatorID: String
    ) {
        guard let secret = credentials.secrets[claim.department] else {
            throw RPCError(.unauthenticated, "unknown department \"\(claim.department)\"")
        }
        guard constantTimeEqual(secret, claim.credential) else {
            throw RPCError(.unauthenticated, "wrong credential for department \(claim.department)")
        }
        if let bound = policy.boundUID(of: claim.department) {
            guard let peer, peer.uid == bound else {
                let actual = peer.map { "uid \($0.uid)" } ?? "an unknown uid"
                throw RPCError(
                    .unauthenticated,
                    "the credential of \(claim.department) is bound to uid \(bound); the caller runs as \(actual)"
                )
            }
        }
        guard claim.operatorID.utf8.count <= 64 else {
            throw RPCError(.unauthenticated, "operator_id is longer than 64 bytes")
        }
        return (claim.department, claim.operatorID)
    }
}
