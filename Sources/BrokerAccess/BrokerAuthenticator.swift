package import SanlianCompose
package import SanlianRPC
import SanlianWire

/// Authenticates a Hello. A connection acts for a department, authenticated by the
/// department's secret (and the Unix uid it is bound to, where the compose file binds one); or
/// for a person of a department, an operator the compose file names, authenticated by the Unix
/// uid the operator is bound to (SO_PEERCRED) or by the operator's own secret. An operator id the
/// compose file does not bind to the connection is refused: a claimed person is never believed.
package struct BrokerAuthenticator: Authenticator {
    let credentials: CredentialStore
    let policy: AccessPolicy
    let operators: [String: ComposeFile.Operator]

    package init(credentials: CredentialStore, policy: AccessPolicy, operators: [String: ComposeFile.Operator] = [:]) {
        self.credentials = credentials
        self.policy = policy
        self.operators = operators
    }

    package func authenticate(claim: IdentityClaim, credentials peer: PeerCredentials?) throws(RPCError)
        -> AuthenticatedIdentity
    {
        guard credentials.secrets[claim.department] != nil else {
            throw RPCError(.unauthenticated, "unknown department \"\(claim.department)\"")
        }
        guard claim.operatorID.utf8.count <= 64 else {
            throw RPCError(.unauthenticated, "operator_id is longer than 64 bytes")
        }
        let grants = policy.grants(of: claim.department)
        guard !claim.operatorID.isEmpty else {
            try authenticateDepartment(claim, peer)
            return AuthenticatedIdentity(department: claim.department, grants: grants)
        }
        guard let person = operators[claim.operatorID] else {
            throw RPCError(
                .unauthenticated,
                "operator \(claim.operatorID) is not in the compose file: connect as one it names, or as the department alone (no operator)"
            )
        }
        guard person.department == claim.department else {
            throw RPCError(
                .unauthenticated,
                "operator \(claim.operatorID) belongs to department \(person.department), not \(claim.department)"
            )
        }
        if let bound = person.uid {
            guard let peer, peer.uid == bound else {
                let actual = peer.map { "uid \($0.uid)" } ?? "an unknown uid"
                throw RPCError(
                    .unauthenticated,
                    "operator \(claim.operatorID) is bound to uid \(bound); the caller runs as \(actual)"
                )
            }
        } else {
            guard let secret = credentials.operatorSecrets[claim.operatorID],
                constantTimeEqual(secret, claim.credential)
            else {
                throw RPCError(.unauthenticated, "wrong credential for operator \(claim.operatorID)")
            }
        }
        return AuthenticatedIdentity(
            department: claim.department,
            operatorID: claim.operatorID,
            roles: person.roles,
            scope: person.scope,
            grants: grants
        )
    }

    /// A department's own process: its secret, and its uid where the compose file binds one.
    private func authenticateDepartment(_ claim: IdentityClaim, _ peer: PeerCredentials?) throws(RPCError) {
        guard let secret = credentials.secrets[claim.department], constantTimeEqual(secret, claim.credential) else {
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
    }
}
