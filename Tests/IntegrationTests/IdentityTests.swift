import Foundation
import SanlianContracts
import SanlianRPC
import SanlianTestHarness
import SanlianWire
import Subprocess
import Testing

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// People are authenticated, not claimed: the broker binds an operator to a connection by the
/// operator's own credential or Unix uid, and stamps who they are into every call it forwards.
@Suite("Authenticated operators over real processes", .timeLimit(.minutes(2)))
struct IdentityTests {
    /// What a client with `identity` hears when it connects.
    static func handshakeError(_ township: Township, _ identity: IdentityClaim) async -> RPCError? {
        do {
            _ = try await township.withClient(identity.department, identity: identity) { client in
                try await client.unary(HealthV1.Health.check, HealthV1.HealthCheckRequest())
            }
            return nil
        } catch {
            return error as? RPCError ?? RPCError(.unknown, "\(error)")
        }
    }

    @Test("an operator the compose file does not bind to the connection is refused at the handshake")
    func claimedOperatorsRefused() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            let departmentSecret = try township.identity("station").credential
            // A name the compose file does not have, with the department's secret.
            let unknown = await Self.handshakeError(
                township,
                IdentityClaim(department: "station", operatorID: "impostor", credential: departmentSecret)
            )
            #expect(unknown?.code == .unauthenticated)
            #expect(unknown?.message.contains("operator impostor is not in the compose file") == true)
            // A real operator, claimed with the department's secret rather than their own.
            let claimed = await Self.handshakeError(
                township,
                IdentityClaim(department: "station", operatorID: "leader-01", credential: departmentSecret)
            )
            #expect(claimed?.message.contains("wrong credential for operator leader-01") == true)
            // Another department's operator.
            var borrowed = try township.identity("station", operatorID: "leader-01")
            borrowed.department = "traffic"
            let other = await Self.handshakeError(township, borrowed)
            #expect(other?.message.contains("belongs to department station, not traffic") == true)
            // With their own credential, they are who they say.
            #expect(
                await Self.handshakeError(township, try township.identity("station", operatorID: "leader-01")) == nil
            )
        }
    }

    @Test("roles, scope and grants reach the handler as configured; forged stamps never do")
    func stampsReachHandlers() async throws {
        // Village leaders may call the echo service here, to show what it sees of them.
        let township = try Township(compose: {
            $0.replacingOccurrences(
                of:
                    "methods: [\"/sanlian.health.v1.Health/Check\", \"/sanlian.residents.v1.Population/ReportMovement\",\n",
                with:
                    "methods: [\"/sanlian.health.v1.Health/Check\", \"/sanlian.echo.v1.Echo/*\", \"/sanlian.residents.v1.Population/ReportMovement\",\n"
            )
        })
        _ = try await Harness.withBroker(township) { _ in
            try await Harness.withEchoService(township, instance: "stamps") { _ in
                let forged: Metadata = [
                    "sanlian-roles": "station_leader", "sanlian-scope": "village=511681104299",
                    "sanlian-grants": "personal_data", "sanlian-operator": "leader-01",
                ]
                try await township.withClient("village_leader", operatorID: "vl-201") { client in
                    let seen = try await EchoV1.EchoClient(client).echo(
                        EchoV1.EchoRequest(includeMetadata: true),
                        options: CallOptions(metadata: forged)
                    )
                    let caller = Caller(
                        stamps: Metadata(
                            seen.metadata.map { line in
                                let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
                                return RPCV1.MetadataEntry(key: parts[0], value: parts.count > 1 ? parts[1] : "")
                            }
                        )
                    )
                    #expect(caller.department == "village_leader" && caller.operatorID == "vl-201")
                    #expect(caller.roles == ["village_leader"])
                    #expect(caller.scoped("village") == ["511681104201"])
                    #expect(caller.grants.isEmpty, "the village leaders hold no grant")
                    #expect(!seen.metadata.contains("sanlian-roles=station_leader"))
                    #expect(!seen.metadata.contains { $0.contains("511681104299") })
                }
                try await township.withClient("station", operatorID: "leader-01") { client in
                    let seen = try await EchoV1.EchoClient(client).echo(EchoV1.EchoRequest(includeMetadata: true))
                    #expect(seen.metadata.contains("sanlian-roles=station_leader,duty_officer"))
                    #expect(seen.metadata.contains("sanlian-grants=personal_data"))
                }
                // A department's own process acts with no operator and no roles, its grants still.
                try await township.withClient("traffic") { client in
                    let seen = try await EchoV1.EchoClient(client).echo(EchoV1.EchoRequest(includeMetadata: true))
                    #expect(seen.metadata.contains("sanlian-operator="))
                    #expect(!seen.metadata.contains { $0.hasPrefix("sanlian-roles=") })
                }
            }
        }
    }

    @Test("an operator bound to a Unix user is that user's, checked with SO_PEERCRED (as root: a second uid)")
    func uidBinding() async throws {
        guard getuid() == 0 else {
            print("IdentityTests.uidBinding skipped: it runs a client as another Unix user, which only root can")
            return
        }
        let township = try Township(compose: {
            $0.replacingOccurrences(
                of: "operators:\n",
                with: "operators:\n  night-duty:\n    department: station\n    roles: [duty_officer]\n    uid: 4242\n"
            )
        })
        // The other user reaches the township's files through the group (the socket is 0660).
        chmod(township.root, 0o750)
        _ = try await Harness.withBroker(township) { _ in
            func health(asUID uid: uid_t) async throws -> (status: TerminationStatus, output: String, error: String) {
                var options = PlatformOptions()
                options.userID = uid
                options.groupID = 0
                let result = try await Subprocess.run(
                    .path(FilePath(try Harness.executable("sanlian"))),
                    arguments: ["health", "--operator", "night-duty", "--dir", township.stateDirectory],
                    environment: Harness.processEnvironment.updating(["HOME": "/tmp"]),
                    platformOptions: options,
                    output: .string(limit: 1 << 16),
                    error: .string(limit: 1 << 16)
                )
                return (result.terminationStatus, result.standardOutput, result.standardError)
            }
            let bound = try await health(asUID: 4242)
            #expect(bound.status == .exited(0), "\(bound.error)")
            #expect(bound.output.contains("serving"))
            let other = try await health(asUID: 4243)
            #expect(other.status == .exited(1))
            #expect(other.error.contains("bound to uid 4242; the caller runs as uid 4243"), "\(other.error)")
        }
    }
}
