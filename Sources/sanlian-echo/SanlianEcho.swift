import ArgumentParser
import Logging
import SanlianContracts
import SanlianEcho
import SanlianRPC
import ServiceHosting
import ServiceLifecycle
import ServiceSupport
import UnixSignals

/// sanlian-echo: the echo service, either on its own Unix socket (`--socket`) or served through
/// the broker (`--broker`), for tests and benchmarks. SIGTERM drains calls in flight and exits 0.
struct SanlianEchoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sanlian-echo",
        abstract: "Serve the echo service (proto/echo.proto) on a Unix socket or through the broker."
    )

    @Option(name: .long, help: "Unix socket to listen on (at most 107 bytes).")
    var socket: String?

    @Option(name: .long, help: "Serve through the broker listening on this socket instead.")
    var broker: String?

    @Option(name: .long, help: "Department to connect to the broker as.")
    var department: String = "traffic"

    @Option(
        name: .long,
        help:
            "The department's credential file (required with --broker; no default: the broker creates each department's under its --state-dir, as the compose file names it)."
    )
    var credentialFile: String?

    @Option(name: .long, help: "Instance name shown by the broker.")
    var instance: String = "sanlian-echo"

    @Flag(
        name: .long,
        help:
            "Answer Echo and Active on the event loop, without a task per call (the benchmark's path); by default every method runs off the event loop, as a department service's do."
    )
    var onEventLoop = false

    func validate() throws {
        guard (socket == nil) != (broker == nil) else {
            throw ValidationError("give exactly one of --socket and --broker")
        }
        if broker != nil, credentialFile == nil {
            throw ValidationError("--broker needs --credential-file")
        }
    }

    @Option(name: .long, help: "Seconds SIGTERM lets calls in flight finish.")
    var drainSeconds: Int = 10

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    @OptionGroup var lifeline: StandardInputLifeline.Options

    func run() async throws {
        let logger = LoggingSetup.bootstrap(label: "sanlian-echo", level: logLevel)
        var router = RPCRouter(logger: logger)
        let echo = EchoServer(instance: instance)
        if onEventLoop {
            echo.registerOnEventLoop(on: &router)
        } else {
            echo.register(on: &router)
        }
        let service: any Service
        let ready: @Sendable () async throws -> Void
        if let socket {
            var configuration = ServerConfiguration(socketPath: socket)
            configuration.drainTimeout = .seconds(drainSeconds)
            configuration.connection.localName = "sanlian-echo"
            let server = RPCServer(configuration: configuration, router: router, logger: logger)
            service = server
            ready = { try await server.waitUntilListening() }
        } else {
            let identity = try IdentityClaim.load(
                department: department,
                operatorID: "",
                credentialFile: credentialFile!,
                clientName: "sanlian-echo"
            )
            let host = ServiceHost(
                brokerSocket: broker!,
                identity: identity,
                router: router,
                instanceName: instance,
                logger: logger
            )
            service = host
            ready = { try await host.waitUntilRegistered() }
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: service), StartupCodeRelease(after: ready, logger: logger).groupEntry]
                    + lifeline.groupEntries(logger: logger),
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
        logger.info("Exited cleanly")
    }
}
