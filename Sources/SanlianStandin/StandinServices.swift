package import GRDB
import Logging
import SanlianCompose
import SanlianContracts
package import SanlianRPC
package import SanlianWire
package import ServiceFrame

#if canImport(Glibc)
    import Glibc
#endif

/// `sanlian.standin.v1.Front`: records changes with their alerts through the outbox, says who calls
/// it, and relays to Back. A department service as small as the frame allows, for the tests of
/// the frame itself.
package struct StandinFront: DepartmentService, StandinV1.FrontService {
    package static let name = "sanlian-standin-front"
    package static let abstract = "A stand-in department service for the tests of the service frame (front)."

    package static func migrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("standin v1: records") { db in
            try db.execute(
                sql:
                    "CREATE TABLE records (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, headline TEXT)"
            )
        }
    }

    let context: ServiceContext

    package init(context: ServiceContext) throws {
        self.context = context
    }

    package func register(on router: inout RPCRouter) {
        (self as any StandinV1.FrontService).register(on: &router)
    }

    package func record(_ request: StandinV1.RecordRequest, context call: ServerContext) async throws
        -> StandinV1.RecordResponse
    {
        guard !request.key.isEmpty else { throw RPCError(.invalidArgument, "key: must not be empty") }
        let department = context.settings.department
        let id = try await context.database.pool.write { [context] db in
            try db.execute(
                sql: "INSERT INTO records (key, headline) VALUES (?, ?)",
                arguments: [request.key, request.headline]
            )
            let id = db.lastInsertedRowID
            try context.outbox.enqueue(
                alert: AlertV1.Alert(
                    identifier: "record-\(request.key)",
                    status: .actual,
                    subject: "alert.\(department).standin",
                    category: .other,
                    severity: .minor,
                    headline: request.headline.isEmpty ? "record \(request.key)" : request.headline,
                    fingerprint: "standin:\(request.key)"
                ),
                in: db
            )
            return id
        }
        if request.crashAfterCommit { kill(getpid(), SIGKILL) }
        return StandinV1.RecordResponse(id: id)
    }

    package func whoAmI(_ request: StandinV1.WhoAmIRequest, context call: ServerContext) async throws
        -> StandinV1.Identity
    {
        StandinIdentity.of(call, request)
    }

    package func relay(_ request: StandinV1.RelayRequest, context call: ServerContext) async throws
        -> StandinV1.RelayResponse
    {
        let caller = StandinIdentity.of(call, StandinV1.WhoAmIRequest())
        let back = StandinV1.BackClient(context.broker, options: CallOptions(deadline: call.deadline))
        let seen = try await back.whoAmI(
            StandinV1.WhoAmIRequest(delayMs: request.delayMs, onBehalfOf: call.caller.description)
        )
        return StandinV1.RelayResponse(caller: caller, seenByBack: seen)
    }
}

/// `sanlian.standin.v1.Back`: says who calls it, after a delay.
package struct StandinBack: DepartmentService, StandinV1.BackService {
    package static let name = "sanlian-standin-back"
    package static let abstract = "A stand-in department service for the tests of the service frame (back)."

    package static func migrations(_ migrator: inout DatabaseMigrator) {}

    package init(context: ServiceContext) throws {}

    package func register(on router: inout RPCRouter) {
        (self as any StandinV1.BackService).register(on: &router)
    }

    package func whoAmI(_ request: StandinV1.WhoAmIRequest, context call: ServerContext) async throws
        -> StandinV1.Identity
    {
        let identity = StandinIdentity.of(call, request)
        if request.delayMs > 0 {
            // Tests wait for this line to act while the call is in progress.
            call.logger.info("Answering after a delay", metadata: ["standin.delay_ms": "\(request.delayMs)"])
            try await Task.sleep(for: .milliseconds(Int(request.delayMs)))
        }
        return identity
    }
}

enum StandinIdentity {
    static func of(_ call: ServerContext, _ request: StandinV1.WhoAmIRequest) -> StandinV1.Identity {
        let caller = call.caller
        let (seconds, attoseconds) = call.remaining.components
        return StandinV1.Identity(
            department: caller.department,
            operatorID: caller.operatorID,
            roles: caller.roles.sorted(),
            scope: caller.scope,
            grants: caller.grants.sorted(),
            remainingMicros: UInt64(max(0, seconds * 1_000_000 + attoseconds / 1_000_000_000_000)),
            onBehalfOf: request.onBehalfOf
        )
    }
}
