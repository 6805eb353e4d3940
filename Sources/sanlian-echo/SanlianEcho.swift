import ArgumentParser
import Logging
import SanlianEcho
import SanlianRPC
import ServiceLifecycle
import ServiceSupport
import NIOCore
import UnixSignals

/// sanlian-echo: the echo service on its own Unix socket, for tests and benchmarks of the RPC
/// runtime. SIGTERM drains calls in flight and exits 0.
@main
struct SanlianEchoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sanlian-echo",
        abstract: "Serve the echo service (proto/echo.proto) on a Unix socket."
    )

    @Option(name: .long, help: "Unix socket to listen on (at most 107 bytes).")
    var socket: String

    @Option(name: .long, help: "Seconds SIGTERM lets calls in flight finish.")
    var drainSeconds: Int = 10

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    func run() async throws {
        let logger = LoggingSetup.bootstrap(label: "sanlian-echo", level: logLevel)
        var router = RPCRouter(logger: logger)
        EchoService.register(on: &router)
        var configuration = ServerConfiguration(socketPath: socket)
        configuration.drainTimeout = .seconds(Int64(drainSeconds))
        configuration.connection.localName = "sanlian-echo"
        let server = RPCServer(configuration: configuration, router: router, logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: server)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
        logger.info("Exited cleanly")
    }
}
