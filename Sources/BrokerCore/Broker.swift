package import AlertLedger
import BrokerAccess
import BrokerPubSub
import BrokerRouting
import Foundation
package import Logging
import NIOCore
package import SanlianClock
package import SanlianCompose
package import SanlianRPC
import SanlianWire
package import ServiceLifecycle

/// Everything the broker runs, assembled from a compose file: the RPC server, the ledger's
/// group-commit writer and the escalation timer. `services` go into a `ServiceGroup` in this
/// order (shutdown runs in reverse: the server drains first, then the timer, then the writer).
package struct Broker: Sendable {
    package let server: RPCServer
    package let ledger: AlertLedger
    package let socketPath: String
    private let escalationInterval: Duration
    private let logger: Logger

    /// - Throws: a description of what is wrong (compose file, credentials, ledger), for the
    ///   operator to fix before the broker can start.
    package init(
        compose: ComposeFile,
        stateDirectory: String,
        socketOverride: String? = nil,
        clock: any WallClock = SystemClock(),
        logger: Logger
    ) throws {
        // The state directory is the township's: its processes' group may enter it (to reach the
        // socket, 0660 in a 0750 directory); the secrets within are their owner's alone (0700).
        if !FileManager.default.fileExists(atPath: stateDirectory) {
            try FileManager.default.createDirectory(
                atPath: stateDirectory,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o750]
            )
        }
        let credentials = try CredentialStore.load(compose: compose, stateDirectory: stateDirectory)
        let policy = try AccessPolicy(compose: compose)
        let escalation = compose.escalation
        ledger = try AlertLedger(
            path: ComposeFile.resolve(compose.broker.ledger, stateDirectory: stateDirectory),
            clock: clock,
            escalation: EscalationPolicy(
                extreme: Int64(escalation.extreme),
                severe: Int64(escalation.severe),
                moderate: Int64(escalation.moderate),
                minor: Int64(escalation.minor),
                unknown: Int64(escalation.unknown)
            ),
            logger: logger
        )
        let routes = RouteTable()
        let handlers = BrokerHandlers(
            policy: policy,
            routes: routes,
            topics: SubscriptionTable(),
            ledger: ledger,
            subscriptions: LedgerSubscriptions(ledger: ledger),
            delivery: DeliverySettings(
                ackTimeout: .seconds(compose.broker.ackTimeoutSeconds),
                maxDeliveries: UInt32(compose.broker.maxDeliveries),
                maxInFlight: compose.broker.maxInFlight
            ),
            clock: clock,
            logger: logger
        )
        // The broker's handlers only wait on its ledger and subscriptions: the global executor.
        var router = RPCRouter(logger: logger, handlerExecutor: nil)
        handlers.register(on: &router)

        socketPath = socketOverride ?? ComposeFile.resolve(compose.broker.socket, stateDirectory: stateDirectory)
        var configuration = ServerConfiguration(socketPath: socketPath)
        configuration.authenticator = BrokerAuthenticator(
            credentials: credentials,
            policy: policy,
            operators: compose.operators
        )
        configuration.connection.maxFrameBytes = compose.broker.maxFrameBytes
        configuration.connection.outputPauseBytes = compose.broker.outputPauseBytes
        configuration.connection.outputCloseBytes = compose.broker.outputCloseBytes
        configuration.connection.outputStallTimeout = .seconds(compose.broker.outputStallSeconds)
        configuration.connection.localName = "sanlian-broker"
        let dispatcherLogger = logger
        server = RPCServer(
            configuration: configuration,
            router: router,
            logger: logger,
            dispatcherFactory: { router in
                let (inbox, calls) = CallInbox.make(router: router)
                let dispatcher = BrokerDispatcher(
                    inbox: inbox,
                    policy: policy,
                    routes: routes,
                    localServices: BrokerHandlers.localServices,
                    logger: dispatcherLogger
                )
                return (dispatcher, calls)
            }
        )
        escalationInterval = .seconds(compose.broker.escalationCheckSeconds)
        self.logger = logger
    }

    /// In start order.
    package var services: [any Service] {
        [
            LedgerWriterService(ledger: ledger),
            EscalationService(ledger: ledger, interval: escalationInterval, logger: logger), server,
        ]
    }
}

/// Runs the ledger's group-commit writer; stops it (after what is queued) on shutdown.
struct LedgerWriterService: Service {
    let ledger: AlertLedger

    func run() async throws {
        await withGracefulShutdownHandler {
            await ledger.runWriter()
        } onGracefulShutdown: {
            ledger.stopWriter()
        }
    }
}

/// Checks escalation deadlines at a fixed interval.
struct EscalationService: Service {
    let ledger: AlertLedger
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                let events = try await ledger.checkEscalations()
                if !events.isEmpty { logger.info("Escalated", metadata: ["broker.escalations": "\(events.count)"]) }
            } catch {
                logger.error("Escalation check failed", metadata: ["broker.error": "\(error)"])
            }
            do {
                // Sleep, but wake for graceful shutdown rather than wait out the interval.
                try await cancelWhenGracefulShutdown {
                    try await Task.sleep(for: interval)
                }
            } catch {
                return
            }
        }
    }
}
