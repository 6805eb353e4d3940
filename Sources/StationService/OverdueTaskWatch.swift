import GRDB
import Logging
import SanlianClock
import SanlianCompose
import ServiceFrame
import ServiceLifecycle
import StationContract

/// Watches tasks past their due time and not completed: each raises one escalation alert through
/// the outbox, in the same transaction as the record of it, however long it stays overdue.
/// Looks every second, and at once after a restart.
struct OverdueTaskWatch: Service {
    let service: StationService

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await service.escalateOverdueTasks(now: service.context.clock.nowMilliseconds())
            } catch {
                service.context.logger.error("Checking tasks for overdue ones failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}

extension StationService {
    /// Raises an escalation for every task overdue by `now` and not yet escalated.
    /// - Returns: how many were raised.
    @discardableResult
    func escalateOverdueTasks(now: Int64) async throws -> Int {
        try await context.database.pool.write { db in
            let due = try Row.fetchAll(
                db,
                sql: """
                    SELECT assignee, body FROM tasks
                    WHERE completed_ms IS NULL AND due_ms < ? AND escalated_ms IS NULL
                    ORDER BY due_ms, id
                    """,
                arguments: [now]
            )
            for row in due {
                var task = try StationRecords.decode(StationV1.Task.self, row)
                task.escalatedUnixMs = now
                try db.execute(
                    sql: "UPDATE tasks SET escalated_ms = ?, body = ? WHERE id = ?",
                    arguments: [now, try StationRecords.body(task), task.id]
                )
                try context.outbox.enqueue(
                    alert: StationAlerts.overdue(task, assignee: row["assignee"], now: now),
                    in: db
                )
            }
            return due.count
        }
    }
}
