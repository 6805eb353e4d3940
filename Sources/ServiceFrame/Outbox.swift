import Foundation
package import GRDB
package import Logging
package import SanlianClock
import SanlianContracts
package import SanlianRPC
package import SanlianWire
import ServiceLifecycle
import Synchronization

/// A department service's durable outbox: an alert or a call that a state change raises is
/// written in the same SQLite transaction as the change (`enqueue`), and `OutboxRelay` delivers
/// it to the broker afterwards, in order (alerts among alerts, each method's calls among theirs),
/// until it is taken. A crash of the service or of the broker loses nothing: what was committed
/// is delivered after the restart. Each entry carries an identifier stable for its state change
/// (an alert's `identifier`, a call's request field), which the receiver de-duplicates on (the
/// ledger on sender and identifier), so a delivery repeated after a crash is taken once.
package final class Outbox: Sendable {
    let database: ServiceDatabase
    let clock: any WallClock
    private let doorbell = Doorbell()

    package init(database: ServiceDatabase, clock: any WallClock) {
        self.database = database
        self.clock = clock
    }

    /// Adds `alert` to publish once the transaction of `db` commits. Call it inside the write
    /// transaction that makes the change the alert is about.
    /// - Throws: when the alert cannot be encoded or stored (the transaction then rolls back).
    package func enqueue(alert: AlertV1.Alert, in db: Database) throws {
        try insert(kind: "alert", method: nil, identifier: alert.identifier, payload: alert.serializedBytes(), db)
    }

    /// Adds a unary call of `method` with `request` to make once the transaction of `db`
    /// commits. `identifier` names it for records; the callee must take a repeated request once
    /// (by an identifier in the request).
    package func enqueue<Request, Response>(
        call method: WireMethod<Request, Response>,
        _ request: Request,
        identifier: String,
        in db: Database
    ) throws {
        try insert(kind: "call", method: method.path, identifier: identifier, payload: request.serializedBytes(), db)
    }

    private func insert(kind: String, method: String?, identifier: String, payload: [UInt8], _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO sanlian_outbox (created_ms, kind, method, identifier, payload)
                VALUES (?, ?, ?, ?, ?)
                """,
            arguments: [clock.nowMilliseconds(), kind, method, identifier, Data(payload)]
        )
        // The relay looks once the change is on disk, not before.
        db.afterNextTransaction { _ in self.doorbell.ring() }
    }

    /// How far behind delivery is: what waits, since when, and what was given up on.
    package struct Status: Sendable, Equatable {
        package var backlog: Int
        /// When the oldest waiting entry was committed (0: none waits).
        package var oldestUnixMs: Int64
        package var failed: Int
        package var delivered: Int

        /// As `ReportStatus` detail entries and health detail show it.
        package var detail: [CommonV1.KeyValue] {
            [
                CommonV1.KeyValue(key: "outbox.backlog", value: String(backlog)),
                CommonV1.KeyValue(key: "outbox.oldest_unix_ms", value: String(oldestUnixMs)),
                CommonV1.KeyValue(key: "outbox.failed", value: String(failed)),
                CommonV1.KeyValue(key: "outbox.delivered", value: String(delivered)),
            ]
        }
    }

    package func status() async throws -> Status {
        try await database.pool.read { db in
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT
                        COUNT(*) FILTER (WHERE delivered_ms IS NULL AND failed_ms IS NULL) AS backlog,
                        MIN(created_ms) FILTER (WHERE delivered_ms IS NULL AND failed_ms IS NULL) AS oldest,
                        COUNT(*) FILTER (WHERE failed_ms IS NOT NULL) AS failed,
                        COUNT(*) FILTER (WHERE delivered_ms IS NOT NULL) AS delivered
                    FROM sanlian_outbox
                    """
            )
            return Status(
                backlog: row?["backlog"] ?? 0,
                oldestUnixMs: row?["oldest"] ?? 0,
                failed: row?["failed"] ?? 0,
                delivered: row?["delivered"] ?? 0
            )
        }
    }

    /// An entry waiting for delivery.
    struct Entry: Sendable {
        var id: Int64
        var kind: String
        var method: String?
        var identifier: String
        var payload: [UInt8]
        var attempts: Int

        /// Entries of one lane are delivered in order; a lane waiting for its receiver (a service
        /// that is down) holds up no other.
        var lane: String { method ?? kind }
    }

    /// The oldest entries still to deliver, in order, lane by lane: the alerts are one lane, each
    /// method's calls another (`Entry.lane`).
    func pendingByLane(limit: Int) async throws -> [[Entry]] {
        try await database.pool.read { db in
            let lanes = try Row.fetchAll(
                db,
                sql: """
                    SELECT kind, method, MIN(id) AS first FROM sanlian_outbox
                    WHERE delivered_ms IS NULL AND failed_ms IS NULL GROUP BY kind, method ORDER BY first
                    """
            )
            return try lanes.map { lane in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT id, kind, method, identifier, payload, attempts FROM sanlian_outbox
                        WHERE delivered_ms IS NULL AND failed_ms IS NULL AND kind = ? AND method IS ?
                        ORDER BY id LIMIT ?
                        """,
                    arguments: [lane["kind"] as String, lane["method"] as String?, limit]
                ).map { row in
                    Entry(
                        id: row["id"],
                        kind: row["kind"],
                        method: row["method"],
                        identifier: row["identifier"],
                        payload: [UInt8](row["payload"] as Data),
                        attempts: row["attempts"]
                    )
                }
            }
        }
    }

    func markDelivered(_ id: Int64) async throws {
        let now = clock.nowMilliseconds()
        try await database.pool.write { db in
            try db.execute(
                sql: "UPDATE sanlian_outbox SET delivered_ms = ?, attempts = attempts + 1 WHERE id = ?",
                arguments: [now, id]
            )
        }
    }

    func markAttempt(_ id: Int64, error: String, failed: Bool) async throws {
        let now = clock.nowMilliseconds()
        try await database.pool.write { db in
            try db.execute(
                sql: """
                    UPDATE sanlian_outbox SET attempts = attempts + 1, last_error = ?, failed_ms = ?
                    WHERE id = ?
                    """,
                arguments: [error, failed ? now : nil, id]
            )
        }
    }

    /// Waits for an entry to be committed in this process, or `timeout` (entries committed by
    /// another process, such as an offline import, are seen then).
    func waitForWork(timeout: Duration) async {
        _ = await doorbell.wait(timeout: timeout)
    }
}

/// Delivers the outbox to the broker, one entry at a time, in order within each lane: the alerts
/// in the order they were committed, and each method's calls in theirs. An alert by
/// `PublishAlert`, a call as it was enqueued. While a lane's receiver cannot take its next entry
/// (the broker is down, the called service is not running) that lane backs off (50 ms doubling to
/// 5 s) and tries the same entry again, and the other lanes go on: an alert never waits behind a
/// call to a service that is down. An entry refused for good (an invalid alert, a call it may not
/// make) is set aside as failed, with the reason, and counted in the status.
package struct OutboxRelay: Service {
    let outbox: Outbox
    let caller: any RPCCaller
    let logger: Logger

    package init(outbox: Outbox, caller: any RPCCaller, logger: Logger) {
        self.outbox = outbox
        self.caller = caller
        self.logger = logger
    }

    package func run() async throws {
        await cancelWhenGracefulShutdown {
            await deliverUntilCancelled()
        }
    }

    private func deliverUntilCancelled() async {
        // Per lane: how long it waits after a refusal, and until when.
        var backoff: [String: Duration] = [:]
        var waitUntil: [String: ContinuousClock.Instant] = [:]
        while !Task.isCancelled {
            let lanes: [[Outbox.Entry]]
            do {
                lanes = try await outbox.pendingByLane(limit: 64)
            } catch {
                if Task.isCancelled { return }  // Shutting down: the read was cut short, not failed.
                logger.error("Cannot read the outbox", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            let now = ContinuousClock.now
            let ready = lanes.filter { entries in waitUntil[entries[0].lane].map { $0 <= now } ?? true }
            if ready.isEmpty {
                let next = waitUntil.values.filter { $0 > now }.min()
                await outbox.waitForWork(timeout: next.map { min($0 - now, .seconds(1)) } ?? .seconds(1))
                continue
            }
            for entries in ready {
                let lane = entries[0].lane
                lane: for entry in entries where !Task.isCancelled {
                    switch await deliver(entry) {
                    case .delivered:
                        backoff[lane] = nil
                        waitUntil[lane] = nil
                    case .failed(let reason):
                        logger.error(
                            "Outbox entry refused for good; set aside",
                            metadata: [
                                "outbox.id": "\(entry.id)", "outbox.identifier": "\(entry.identifier)",
                                "error": "\(reason)",
                            ]
                        )
                    case .retry(let reason):
                        // The same entry again after the backoff: nothing later in its lane goes
                        // before it.
                        logger.debug(
                            "Outbox delivery deferred",
                            metadata: ["outbox.lane": "\(lane)", "error": "\(reason)"]
                        )
                        let wait = backoff[lane] ?? .milliseconds(50)
                        waitUntil[lane] = ContinuousClock.now + wait
                        backoff[lane] = min(wait * 2, .seconds(5))
                        break lane
                    }
                }
            }
        }
    }

    private enum Outcome {
        case delivered
        case failed(String)
        case retry(String)
    }

    private func deliver(_ entry: Outbox.Entry) async -> Outcome {
        let options = CallOptions(timeout: .seconds(10))
        do {
            switch entry.kind {
            case "alert":
                let alert = try AlertV1.Alert(serializedBytes: entry.payload)
                _ = try await caller.unary(
                    BrokerV1.Broker.publishAlert,
                    BrokerV1.PublishAlertRequest(alert: alert),
                    options: options
                )
            default:
                guard let method = entry.method else { throw RPCError(.internal, "a call without a method") }
                _ = try await caller.unary(method: method, payload: entry.payload, options: options)
            }
        } catch let error as RPCError {
            switch error.code {
            case .unavailable, .deadlineExceeded, .resourceExhausted, .aborted, .cancelled, .unknown, .internal:
                try? await outbox.markAttempt(entry.id, error: error.message, failed: false)
                return .retry(error.message)
            default:
                try? await outbox.markAttempt(
                    entry.id,
                    error: "\(error.code.protoName): \(error.message)",
                    failed: true
                )
                return .failed(error.message)
            }
        } catch {
            try? await outbox.markAttempt(entry.id, error: "\(error)", failed: true)
            return .failed("\(error)")
        }
        do {
            try await outbox.markDelivered(entry.id)
            return .delivered
        } catch {
            return .retry("\(error)")
        }
    }
}
