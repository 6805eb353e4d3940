import Foundation
import Logging
package import SanlianContracts
package import SanlianRPC
package import SanlianWire

/// One command's connection to the broker, as a department, with the typed clients of the
/// broker's own services.
package struct BrokerSession: Sendable {
    package let client: RPCClient
    package let settings: ConnectionOptions.Resolved
    /// Each call's options: the command's timeout.
    package var options: CallOptions { CallOptions(timeout: settings.timeout) }
    package var broker: BrokerV1.BrokerClient { BrokerV1.BrokerClient(client, options: options) }
    package var health: HealthV1.HealthClient { HealthV1.HealthClient(client, options: options) }

    /// Connects as `connection` says, runs `body`, disconnects. Fails at once, saying so and how
    /// to start it, when no broker is running (unless `--wait`); the broker's refusals and errors
    /// come out as one line naming the status.
    package static func run<T: Sendable>(
        _ connection: ConnectionOptions,
        _ body: @Sendable (BrokerSession) async throws -> T
    ) async throws -> T {
        let settings = try connection.resolve()
        if !settings.wait, !UnixSocketPath.isListening(settings.socketPath) {
            let what =
                FileManager.default.fileExists(atPath: settings.socketPath)
                ? "nothing answers on \(settings.socketPath)" : "there is no socket at \(settings.socketPath)"
            throw CLIError(
                "the broker is not running: \(what). Start the township with `make run` (or `sanlian-broker --compose FILE --state-dir \(settings.stateDirectory)`), or pass --wait to wait for it."
            )
        }
        let waitUntil = ContinuousClock.now + settings.timeout
        if let credentialPath = settings.credentialPath {
            // A broker starting for the first time creates the secrets first: with --wait, wait for them too.
            while settings.wait, !FileManager.default.fileExists(atPath: credentialPath),
                ContinuousClock.now < waitUntil
            {
                try await Task.sleep(for: .milliseconds(50))
            }
            if settings.wait, !FileManager.default.fileExists(atPath: credentialPath) {
                throw CLIError(
                    "the broker did not come up within \(settings.timeout): no credential file at \(credentialPath) yet"
                )
            }
        }
        let identity: IdentityClaim
        do {
            if let credentialPath = settings.credentialPath {
                identity = try IdentityClaim.load(
                    department: settings.department,
                    operatorID: settings.operatorID,
                    credentialFile: credentialPath,
                    clientName: "sanlian-cli"
                )
            } else {
                // An operator bound to this Unix user: the broker reads the uid from the socket.
                identity = IdentityClaim(
                    department: settings.department,
                    operatorID: settings.operatorID,
                    clientName: "sanlian-cli"
                )
            }
        } catch {
            throw CLIError(
                "\(error) (the broker creates the departments' and operators' secrets under \(settings.stateDirectory)/secrets on its first start; an operator's is theirs alone to read)"
            )
        }
        var configuration = ClientConfiguration(socketPath: settings.socketPath, identity: identity)
        configuration.initialBackoff = .milliseconds(20)
        configuration.maxBackoff = .milliseconds(500)
        let client = RPCClient(
            configuration: configuration,
            logger: Logger(label: "sanlian", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        let session = BrokerSession(client: client, settings: settings)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            defer {
                client.stop()
                group.cancelAll()
            }
            do {
                // A broker that listens answers in milliseconds, a busy machine's in seconds; a
                // refused handshake comes at once. (A broker not listening was caught above.)
                let patience: Duration = max(.milliseconds(100), waitUntil - .now)
                do {
                    _ = try await client.connection(waitForReady: true, deadline: .now + patience)
                } catch let error as RPCError where error.code == .deadlineExceeded {
                    throw CLIError(
                        "the broker did not answer on \(settings.socketPath) within \(patience): \(error.message)"
                    )
                }
                return try await body(session)
            } catch let error as RPCError {
                throw CLIError(Self.describe(error))
            }
        }
    }

    /// One line for an error from the broker or a service: its status and message.
    package static func describe(_ error: RPCError) -> String {
        "\(error.code.protoName): \(error.message)"
    }
}
