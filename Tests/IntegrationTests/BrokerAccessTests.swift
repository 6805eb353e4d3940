import Foundation
import HazardsContract
import NIOCore
import ResidentsContract
import SanlianRPC
import SanlianTestHarness
import SanlianWire
import Subprocess
import Testing

@Suite("Broker authentication and access control over real processes", .timeLimit(.minutes(2)))
struct BrokerAccessTests {
    /// What a client sees when it connects with `identity`.
    static func handshakeError(_ township: Township, _ identity: IdentityClaim) async throws -> RPCError? {
        var configuration = ClientConfiguration(socketPath: township.brokerSocket, identity: identity)
        configuration.initialBackoff = .seconds(60)
        let client = RPCClient(configuration: configuration, logger: harnessLogger("client"))
        return await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await client.run() }
            defer {
                client.stop()
                tasks.cancelAll()
            }
            let failure: RPCError?
            do {
                _ = try await client.unary(
                    HealthV1.Health.check,
                    HealthV1.HealthCheckRequest(),
                    options: CallOptions(timeout: .seconds(2), waitForReady: true)
                )
                failure = nil
            } catch {
                failure = error as? RPCError ?? RPCError(.unknown, "\(error)")
            }
            return failure
        }
    }

    @Test("unknown department, wrong credential and a uid mismatch are UNAUTHENTICATED and logged")
    func authenticationFailures() async throws {
        // The safety office's credential is bound to a uid this test does not run as.
        let otherUID = getuid() == 4242 ? 4243 : 4242
        let township = try Township(compose: {
            $0.replacingOccurrences(
                of: "    credential_file: secrets/safety.secret\n",
                with: "    credential_file: secrets/safety.secret\n    uid: \(otherUID)\n"
            )
        })
        let outcome = try await Harness.withBroker(township) { _ in
            let unknown = try await Self.handshakeError(
                township,
                IdentityClaim(department: "ministry", credential: Array("0123456789abcdef0123".utf8))
            )
            #expect(unknown?.message.contains("ministry") == true, "\(String(describing: unknown))")

            var wrong = try township.identity("traffic")
            wrong.credential = Array("not-the-secret-at-all".utf8)
            let wrongError = try await Self.handshakeError(township, wrong)
            #expect(wrongError?.message.contains("wrong credential for department traffic") == true)

            let bound = try await Self.handshakeError(township, try township.identity("safety"))
            #expect(bound?.message.contains("bound to uid \(otherUID)") == true, "\(String(describing: bound))")

            #expect(try await Self.handshakeError(township, try township.identity("traffic")) == nil)
        }
        #expect(outcome.standardError.contains("Handshake refused"))
        #expect(outcome.standardError.contains("ministry"))
    }

    @Test("calls, registrations, publishes and subscriptions outside the ACL are PERMISSION_DENIED and logged")
    func permissionDenied() async throws {
        let township = try Township()
        let outcome = try await Harness.withBroker(township) { _ in
            try await township.withClient("village_leader") { client in
                await #expect {
                    try await client.unary(EchoV1.Echo.echo, EchoV1.EchoRequest())
                } throws: { error in
                    let error = error as? RPCError
                    return error?.code == .permissionDenied && error!.message.contains("village_leader")
                        && error!.message.contains("/sanlian.echo.v1.Echo/Echo")
                }
                await #expect {
                    try await client.unary(
                        BrokerV1.Broker.publishAlert,
                        BrokerV1.PublishAlertRequest(
                            alert: AlertV1.Alert(identifier: "x", status: .actual, subject: "alert.x")
                        )
                    )
                } throws: { error in
                    (error as? RPCError)?.code == .permissionDenied
                }
            }
            try await township.withClient("safety") { client in
                // Safety may publish alerts only under alert.safety.
                await #expect {
                    try await client.unary(
                        BrokerV1.Broker.publishAlert,
                        BrokerV1.PublishAlertRequest(
                            alert: AlertV1.Alert(identifier: "s-1", status: .actual, subject: "alert.hazards.fire")
                        )
                    )
                } throws: { error in
                    let error = error as? RPCError
                    return error?.code == .permissionDenied && error!.message.contains("alert.hazards.fire")
                }
                // …and may not read the whole ledger.
                let stream = try await client.serverStream(
                    BrokerV1.Broker.subscribeLedger,
                    BrokerV1.SubscribeLedgerRequest(name: "all", subjectPattern: ">")
                )
                await #expect {
                    for try await _ in stream {}
                } throws: { error in
                    (error as? RPCError)?.code == .permissionDenied
                }
            }
            _ = try await township.withClient("traffic") { client in
                await #expect {
                    try await client.unary(
                        BrokerV1.Broker.registerServices,
                        BrokerV1.RegisterRequest(services: [
                            BrokerV1.ServiceDescriptor(name: ResidentsV1.Population.name)
                        ])
                    )
                } throws: { error in
                    let error = error as? RPCError
                    return error?.code == .permissionDenied
                        && error!.message.contains("sanlian.residents.v1.Population")
                }
            }
        }
        #expect(outcome.standardError.contains("Call refused"))
        #expect(outcome.standardError.contains("Registration refused"))
    }

    @Test("the broker refuses to start when a secret file is readable by others")
    func looseSecretStopsStartup() async throws {
        let township = try Township()
        try FileManager.default.createDirectory(
            atPath: township.stateDirectory + "/secrets",
            withIntermediateDirectories: true
        )
        _ = FileManager.default.createFile(
            atPath: township.credentialFile("traffic"),
            contents: Data("0123456789abcdef0123456789".utf8),
            attributes: [.posixPermissions: 0o644]
        )
        let outcome = try await Harness.runToExit(
            "sanlian-broker",
            arguments: ["--compose", township.composePath, "--state-dir", township.stateDirectory]
        )
        #expect(outcome.status == .exited(1))
        #expect(outcome.standardError.contains("traffic.secret"))
        #expect(outcome.standardError.contains("chmod 600"))
    }
}
