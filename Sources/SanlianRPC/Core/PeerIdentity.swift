import SanlianCredentials

/// The kernel's word on who is at the other end of a Unix socket (SO_PEERCRED), read on accept.
package struct PeerCredentials: Sendable, Hashable, CustomStringConvertible {
    package var pid: Int32
    package var uid: UInt32
    package var gid: UInt32

    package init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    package var description: String { "pid=\(pid) uid=\(uid) gid=\(gid)" }
}

/// What a caller claims in its Hello: a department, an operator and the department's secret.
package struct IdentityClaim: Sendable, Hashable {
    package var department: String
    package var operatorID: String
    package var credential: [UInt8]
    package var clientName: String

    package init(department: String, operatorID: String = "", credential: [UInt8] = [], clientName: String = "") {
        self.department = department
        self.operatorID = operatorID
        self.credential = credential
        self.clientName = clientName
    }
}

extension IdentityClaim {
    /// The claim of a process acting for `department`, with the secret in `credentialFile`.
    /// - Throws: `CredentialError` when the file is missing, unreadable, too short, or readable
    ///   by others.
    package static func load(department: String, operatorID: String, credentialFile: String, clientName: String)
        throws -> IdentityClaim
    {
        let secret = try CredentialFile.read(credentialFile, owner: "this client")
        return IdentityClaim(department: department, operatorID: operatorID, credential: secret, clientName: clientName)
    }
}

/// Who a connection acts for, as an authenticator established it: a department, and a person of
/// it when the connection authenticated one, with what the compose file gives that person.
package struct AuthenticatedIdentity: Sendable, Hashable {
    package var department: String
    /// "" for a process acting for its department alone (a service, a script).
    package var operatorID: String
    /// The operator's roles, e.g. "duty_officer", "station_leader", "village_leader".
    package var roles: [String]
    /// Where the operator's roles apply, each "kind=value": "village=511681104203", "enterprise=E001".
    package var scope: [String]
    /// The department's extra rights, e.g. "personal_data".
    package var grants: [String]

    package init(
        department: String,
        operatorID: String = "",
        roles: [String] = [],
        scope: [String] = [],
        grants: [String] = []
    ) {
        self.department = department
        self.operatorID = operatorID
        self.roles = roles
        self.scope = scope
        self.grants = grants
    }
}

/// Who the peer of a connection is, as the accepting side established it.
package struct PeerIdentity: Sendable, Hashable {
    /// nil when the transport could not report credentials.
    package var credentials: PeerCredentials?
    /// The department the peer was authenticated as (the claim's, unless an authenticator changed it).
    package var department: String
    package var operatorID: String
    /// The operator's roles, scope and the department's grants (`AuthenticatedIdentity`).
    package var roles: [String]
    package var scope: [String]
    package var grants: [String]
    package var clientName: String
    package var connectionID: UInt64
    /// The largest frame the peer accepts (its handshake said so): what an answer to it must fit.
    package var maxFrameBytes: Int

    package init(
        credentials: PeerCredentials?,
        department: String,
        operatorID: String,
        roles: [String] = [],
        scope: [String] = [],
        grants: [String] = [],
        clientName: String = "",
        connectionID: UInt64 = 0,
        maxFrameBytes: Int = RPCDefaults.maxFrameBytes
    ) {
        self.credentials = credentials
        self.department = department
        self.operatorID = operatorID
        self.roles = roles
        self.scope = scope
        self.grants = grants
        self.clientName = clientName
        self.connectionID = connectionID
        self.maxFrameBytes = maxFrameBytes
    }
}

/// Decides whether a Hello is accepted. The broker's implementation checks credentials and uid
/// bindings; a plain server may accept everyone.
package protocol Authenticator: Sendable {
    /// - Returns: who the connection acts for.
    /// - Throws: `RPCError` (UNAUTHENTICATED) naming what is wrong.
    func authenticate(claim: IdentityClaim, credentials: PeerCredentials?) throws(RPCError) -> AuthenticatedIdentity
}

/// Accepts every claim as it is. For tests and for processes that sit behind the broker.
package struct AcceptAllAuthenticator: Authenticator {
    package init() {}

    package func authenticate(claim: IdentityClaim, credentials: PeerCredentials?) throws(RPCError)
        -> AuthenticatedIdentity
    {
        AuthenticatedIdentity(department: claim.department, operatorID: claim.operatorID)
    }
}
