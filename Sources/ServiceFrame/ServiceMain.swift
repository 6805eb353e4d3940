package import ArgumentParser
import GRDB
import Logging
import SanlianClock
import SanlianCompose
import SanlianRPC
import ServiceHosting
import ServiceLifecycle
import ServiceSupport
import UnixSignals

/// The entry point of a department service's executable: `await ServiceMain.run(PatrolService.self)`.
package enum ServiceMain {
    /// Sets the process up (`DaemonMain`: handlers off the event loop, on the tasks' pool),
    /// parses the command line as `ServiceCommand<Service>`, runs it, and exits with its status.
    package static func run<Service: DepartmentService>(_ service: Service.Type) async -> Never {
        await DaemonMain.run(ServiceCommand<Service>.self, tasksOn: .pool)
    }
}

/// The command line every department service takes, and what it does with it.
package struct ServiceCommand<Department: DepartmentService>: AsyncParsableCommand {
    package static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: Department.name,
            abstract: Department.abstract,
            discussion: """
                Reads its entry under the compose file's `services` (its department and database) \
                and its department's credential file, opens its database under --state-dir, and \
                serves through the township's broker. SIGTERM drains calls in flight and exits 0.
                """
        )
    }

    @Option(help: "The township's compose file.")
    var compose: String = "compose/township.yaml"

    @Option(help: "The township's state directory (sockets, databases, secrets).")
    var stateDir: String = "var"

    @Option(help: "Instance name shown by the broker (default: the service's name).")
    var instance: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    @OptionGroup var lifeline: StandardInputLifeline.Options

    package init() {}

    package func run() async throws {
        let logger = LoggingSetup.bootstrap(label: Department.name, level: logLevel)
        let parts: Parts
        do {
            parts = try Parts(compose: compose, stateDirectory: stateDir, instance: instance, logger: logger)
        } catch {
            logger.error("Cannot start", metadata: ["error": "\(error)"])
            FileHandleWriter.standardError("\(Department.name): \(error)\n")
            throw ExitCode(1)
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: parts.services.map { .init(service: $0) }
                    + [
                        StartupCodeRelease(
                            after: { [host = parts.host] in try await host.waitUntilRegistered() },
                            logger: logger
                        )
                        .groupEntry
                    ] + lifeline.groupEntries(logger: logger),
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
        logger.info("Exited cleanly")
    }

    /// The service and everything the frame runs beside it.
    struct Parts {
        let host: ServiceHost
        let services: [any Service]

        init(compose path: String, stateDirectory: String, instance: String?, logger: Logger) throws {
            let compose = try ComposeFile.load(path: path)
            guard let settings = compose.services[Department.name] else {
                throw ServiceStartError(
                    "\(path): services.\(Department.name) is missing: which department runs it, and its database"
                )
            }
            guard let department = compose.departments[settings.department] else {
                throw ServiceStartError(
                    "services.\(Department.name).department: unknown department \(settings.department)"
                )
            }
            let databasePath = ComposeFile.resolve(
                settings.database.isEmpty ? "data/\(Department.name).sqlite" : settings.database,
                stateDirectory: stateDirectory
            )
            let database = try ServiceDatabase(path: databasePath, migrations: Department.migrations)
            let clock = SystemClock()
            let outbox = Outbox(database: database, clock: clock)
            let caller = DeferredCaller()
            let context = ServiceContext(
                name: Department.name,
                compose: compose,
                settings: settings,
                stateDirectory: stateDirectory,
                database: database,
                outbox: outbox,
                clock: clock,
                logger: logger,
                broker: caller
            )
            let service = try Department(context: context)
            var router = RPCRouter(logger: logger)
            service.register(on: &router)
            let identity = try IdentityClaim.load(
                department: settings.department,
                operatorID: "",
                credentialFile: ComposeFile.resolve(department.credentialFile, stateDirectory: stateDirectory),
                clientName: Department.name
            )
            host = ServiceHost(
                brokerSocket: ComposeFile.resolve(compose.broker.socket, stateDirectory: stateDirectory),
                identity: identity,
                router: router,
                instanceName: instance ?? Department.name,
                logger: logger
            )
            caller.bind(host.client)
            services =
                [
                    host as any Service,
                    OutboxRelay(outbox: outbox, caller: caller, logger: logger),
                    StatusReporter(caller: caller, logger: logger) { (try? await outbox.status().detail) ?? [] },
                ] + service.background
        }
    }
}

/// Writes to standard error without Foundation's FileHandle.
enum FileHandleWriter {
    static func standardError(_ text: String) {
        var text = text
        text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }
}

#if canImport(Glibc)
    import Glibc
#endif
