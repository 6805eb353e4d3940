import BrokerAccess
import BrokerPubSub
import Foundation
import SanlianCompose
import SanlianRPC
import SanlianWire
import Testing

@Suite("ACL decisions from the default compose file", .timeLimit(.minutes(1)))
struct AccessPolicyTests {
    static let compose: ComposeFile = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("compose/township.yaml").path
        return try! ComposeFile.load(path: path)
    }()

    static let policy = try! AccessPolicy(compose: compose)

    @Test(
        "method calls",
        arguments: [
            ("station", "/sanlian.residents.v1.Population/GetPerson", true),
            ("station", "/sanlian.broker.v1.Broker/ResolveAggregate", true),
            ("traffic", "/sanlian.hazards.v1.Hazards/Report", true),
            ("traffic", "/sanlian.residents.v1.Population/UpsertPerson", false),
            ("traffic", "/sanlian.residents.v1.Population/ListEnterpriseWorkers", true),
            ("traffic", "/sanlian.broker.v1.Broker/ResolveAggregate", false),
            ("governance", "/sanlian.patrol.v1.Roster/GenerateRoster", true),
            ("village_leader", "/sanlian.residents.v1.Population/ReportMovement", true),
            ("village_leader", "/sanlian.residents.v1.Population/SearchPeople", false),
            ("enterprise_owner", "/sanlian.hazards.v1.Disputes/Intake", false),
            ("nobody", "/sanlian.health.v1.Health/Check", false),
        ]
    )
    func calls(department: String, method: String, allowed: Bool) {
        let granted = (try? Self.policy.authorizeCall(department: department, method: method)) != nil
        #expect(granted == allowed)
    }

    @Test("a refusal is PERMISSION_DENIED naming the department and the method")
    func refusalMessage() {
        #expect {
            try Self.policy.authorizeCall(
                department: "traffic",
                method: "/sanlian.residents.v1.Population/UpsertPerson"
            )
        } throws: { error in
            let error = error as? RPCError
            return error?.code == .permissionDenied && error!.message.contains("traffic")
                && error!.message.contains("/sanlian.residents.v1.Population/UpsertPerson")
        }
    }

    @Test("a * in a method pattern does not cross a path segment")
    func globStaysInSegment() throws {
        let compose = try ComposeFile.parse(
            """
            version: 1
            departments:
              a:
                credential_file: a.secret
                methods: ["/sanlian.patrol.v1.*"]
            """
        )
        let policy = try AccessPolicy(compose: compose)
        #expect((try? policy.authorizeCall(department: "a", method: "/sanlian.patrol.v1.Roster/Get")) == nil)
    }

    @Test("serving, publishing, reading, grants")
    func otherRights() throws {
        let policy = Self.policy
        #expect(policy.mayServe(department: "traffic", service: "sanlian.hazards.v1.Hazards"))
        #expect(!policy.mayServe(department: "traffic", service: "sanlian.residents.v1.Population"))
        #expect(policy.mayServe(department: "station", service: "sanlian.residents.v1.Transfers"))
        #expect(policy.mayPublish(department: "traffic", subject: "alert.hazards.traffic"))
        #expect(!policy.mayPublish(department: "traffic", subject: "alert.patrol.missed"))
        #expect(policy.maySubscribe(department: "station", pattern: .all))
        #expect(!policy.maySubscribe(department: "traffic", pattern: .all))
        #expect(policy.maySubscribe(department: "traffic", pattern: try SubjectPattern("alert.hazards.>")))
        #expect(policy.readPermission(of: "safety").allows("alert.hazards.fire"))
        #expect(!policy.readPermission(of: "safety").allows("alert.patrol.missed"))
        #expect(!policy.readPermission(of: "nobody").allows("alert.hazards.fire"))
        #expect(policy.holds(department: "station", grant: "personal_data"))
        #expect(!policy.holds(department: "traffic", grant: "personal_data"))
    }

    @Test("the authenticator checks the department, the secret and a uid binding")
    func authenticator() throws {
        let compose = try ComposeFile.parse(
            """
            version: 1
            departments:
              station:
                credential_file: s.secret
              safety:
                credential_file: a.secret
                uid: 1234
            """
        )
        let secret = Array("0123456789abcdef0123456789abcdef".utf8)
        let authenticator = BrokerAuthenticator(
            credentials: CredentialStore(secrets: ["station": secret, "safety": secret]),
            policy: try AccessPolicy(compose: compose)
        )
        let peer = PeerCredentials(pid: 1, uid: 1000, gid: 1000)
        #expect(
            try authenticator.authenticate(claim: .init(department: "station", credential: secret), credentials: peer)
                .department == "station"
        )
        #expect(throws: RPCError.self) {
            try authenticator.authenticate(
                claim: .init(department: "station", credential: Array(secret.dropLast())),
                credentials: peer
            )
        }
        #expect(throws: RPCError.self) {
            try authenticator.authenticate(claim: .init(department: "ministry", credential: secret), credentials: peer)
        }
        #expect(throws: RPCError.self) {
            try authenticator.authenticate(claim: .init(department: "safety", credential: secret), credentials: peer)
        }
        let bound = PeerCredentials(pid: 1, uid: 1234, gid: 1000)
        #expect(
            try authenticator.authenticate(claim: .init(department: "safety", credential: secret), credentials: bound)
                .department == "safety"
        )
    }

    @Test("compose errors name the key")
    func composeErrors() {
        #expect { try ComposeFile.parse("version: 2\ndepartments: {}") } throws: { "\($0)".contains("version") }
        #expect {
            try ComposeFile.parse("version: 1\ndepartments:\n  a:\n    name: x")
        } throws: { "\($0)".contains("credential_file") }
        #expect {
            try ComposeFile.parse("version: 1\nescalation:\n  severe: soon\ndepartments:\n  a:\n    credential_file: a")
        } throws: { "\($0)".contains("escalation.severe") }
        #expect {
            try AccessPolicy(
                compose: ComposeFile.parse(
                    "version: 1\ndepartments:\n  a:\n    credential_file: a\n    publish: [\"alert.>.x\"]"
                )
            )
        } throws: { "\($0)".contains("departments.a.publish") }
    }

    @Test("secret files readable by others are refused; missing ones are created 0600")
    func secretFiles() throws {
        let directory = NSTemporaryDirectory() + "sl-secrets-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let compose = try ComposeFile.parse(
            "version: 1\ndepartments:\n  station:\n    credential_file: secrets/station.secret"
        )
        let store = try CredentialStore.load(compose: compose, stateDirectory: directory)
        #expect(store.secrets["station"]?.count == 64)
        let path = directory + "/secrets/station.secret"
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)
        // Created once: a second load reads the same secret.
        #expect(try CredentialStore.load(compose: compose, stateDirectory: directory).secrets == store.secrets)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: path)
        #expect {
            try CredentialStore.load(compose: compose, stateDirectory: directory)
        } throws: { "\($0)".contains("chmod 600") }
    }
}
