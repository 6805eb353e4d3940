import GRDB
import HazardsContract
import Logging
import SanlianClock
import ServiceFrame
import ServiceLifecycle

/// Watches hazards whose current step is past its due time: each such step raises one escalation
/// alert through the outbox (in the same transaction as the record of it), however long it stays
/// overdue. Looks every second, and at once after a restart.
struct OverdueWatch: Service {
    let service: HazardsService

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await service.escalateOverdue(now: service.context.clock.nowMilliseconds())
            } catch {
                service.context.logger.error(
                    "Checking hazards for overdue steps failed",
                    metadata: ["error": "\(error)"]
                )
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}

extension HazardsService {
    /// Raises an escalation for every hazard step overdue by `now` and not yet escalated.
    /// - Returns: how many were raised.
    @discardableResult
    func escalateOverdue(now: Int64) async throws -> Int {
        try await context.database.pool.write { db in
            let due = try Row.fetchAll(
                db,
                sql: """
                    SELECT id, step, body FROM hazards
                    WHERE due_ms IS NOT NULL AND due_ms <= ? AND escalated_step < step
                    ORDER BY due_ms, id
                    """,
                arguments: [now]
            )
            for row in due {
                var hazard = try JointControlRecords.decode(HazardsV1.Hazard.self, row)
                let step: Int = row["step"]
                hazard.overdueEscalations += 1
                try db.execute(
                    sql: "INSERT OR IGNORE INTO hazard_escalations (hazard_id, step, at_ms) VALUES (?, ?, ?)",
                    arguments: [hazard.id, step, now]
                )
                try db.execute(
                    sql: "UPDATE hazards SET escalated_step = ?, body = ? WHERE id = ?",
                    arguments: [step, try JointControlRecords.body(hazard), hazard.id]
                )
                try context.outbox.enqueue(alert: JointControlAlerts.overdue(hazard, step: step, now: now), in: db)
            }
            return due.count
        }
    }
}
