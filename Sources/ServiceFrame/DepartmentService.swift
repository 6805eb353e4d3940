package import GRDB
package import Logging
package import SanlianClock
package import SanlianCompose
package import SanlianRPC
package import ServiceLifecycle

/// A department service (sanlian-patrol, sanlian-hazards, sanlian-residents, …) as the frame runs
/// it: its executable is one line, `await ServiceMain.run(PatrolService.self)`.
///
/// The frame reads the service's entry under the compose file's `services` (its department and
/// database), opens its database (the frame's migrations, then the service's), gives it a clock,
/// an outbox and a caller for other services, serves what it registers through the broker as its
/// department, delivers its outbox, reports its status to the broker, and drains on SIGTERM.
package protocol DepartmentService: Sendable {
    /// The executable's name, which is also its key under the compose file's `services`.
    static var name: String { get }
    /// One line for `--help`.
    static var abstract: String { get }
    /// Registers the service's named, append-only migrations (after the frame's own).
    static func migrations(_ migrator: inout DatabaseMigrator)

    /// - Throws: what is wrong with its settings (`context.section`), for the operator to fix.
    init(context: ServiceContext) throws
    /// Serves its contracts: usually each generated service protocol's `register(on:)`.
    func register(on router: inout RPCRouter)
    /// Work of its own besides serving calls (timers that raise alerts), run beside it.
    var background: [any Service] { get }
}

extension DepartmentService {
    package var background: [any Service] { [] }
}

/// What the frame gives a department service.
package struct ServiceContext: Sendable {
    /// e.g. "sanlian-patrol".
    package let name: String
    package let compose: ComposeFile
    /// Its entry under the compose file's `services`: department and database.
    package let settings: ComposeFile.ServiceSettings
    package let stateDirectory: String
    package let database: ServiceDatabase
    package let outbox: Outbox
    package let clock: any WallClock
    package let logger: Logger
    /// Calls to other departments' services through the broker, as this service's department.
    /// Pass the deadline of the call being served on (`CallOptions(deadline: context.deadline)`).
    package let broker: any RPCCaller

    package init(
        name: String,
        compose: ComposeFile,
        settings: ComposeFile.ServiceSettings,
        stateDirectory: String,
        database: ServiceDatabase,
        outbox: Outbox,
        clock: any WallClock,
        logger: Logger,
        broker: any RPCCaller
    ) {
        self.name = name
        self.compose = compose
        self.settings = settings
        self.stateDirectory = stateDirectory
        self.database = database
        self.outbox = outbox
        self.clock = clock
        self.logger = logger
        self.broker = broker
    }

    /// The compose file's top-level section `key` (e.g. "patrol"), decoded as `T`.
    /// - Throws: `ServiceStartError` naming the key at fault.
    package func section<T: Decodable>(_ key: String, as type: T.Type) throws -> T? {
        do {
            return try compose.section(key, as: type)
        } catch {
            throw ServiceStartError("\(key): \(error.description)")
        }
    }
}
