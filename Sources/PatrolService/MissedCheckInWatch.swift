import GRDB
import Logging
import PatrolContract
import PatrolRules
import SanlianClock
import ServiceFrame
import ServiceLifecycle

/// Watches patrols in progress: a check-in not made by its due time and grace is recorded as
/// missed and raises an alert through the outbox (in the same transaction); a shift that ended
/// without a check-out closes its patrol. Looks every second, and at once after a restart (a
/// miss that fell due while the service was down is raised then).
struct MissedCheckInWatch: Service {
    let service: PatrolService

    func run() async throws {
        let logger = service.context.logger
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await service.recordMissedCheckIns(now: service.context.clock.nowMilliseconds())
            } catch {
                logger.error("Checking patrols for missed check-ins failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}

extension PatrolService {
    /// Records what has happened to patrols by `now` that nobody did: missed check-ins, each
    /// with its alert, and shifts that ended without a check-out.
    /// - Returns: how many misses were recorded.
    @discardableResult
    func recordMissedCheckIns(now: Int64) async throws -> Int {
        try await context.database.pool.write { db in
            var misses = 0
            let due = try Row.fetchAll(
                db,
                sql:
                    "SELECT * FROM patrols WHERE deadline_ms IS NOT NULL AND deadline_ms <= ? ORDER BY deadline_ms, assignment_id",
                arguments: [now]
            ).map(PatrolProgressRow.init(row:))
            for var patrol in due {
                guard let assignment = try PatrolRecords.assignment(patrol.assignmentID, db) else { continue }
                let template = try PatrolRecords.template(assignment.shiftTemplateID, db)
                let cadence = settings.cadence(forTemplate: assignment.shiftTemplateID)
                let (progress, events) = CheckInRules.elapse(patrol.progress, to: now, cadence: cadence)
                patrol.progress = progress
                try patrol.save(cadence: cadence, db)
                for event in events {
                    switch event {
                    case .missed(let number, let dueMs):
                        misses += 1
                        try Self.record(
                            assignment,
                            kind: .missed,
                            at: dueMs + cadence.graceMilliseconds,
                            place: nil,
                            missNumber: number,
                            db
                        )
                        try context.outbox.enqueue(
                            alert: PatrolAlerts.missed(
                                assignment,
                                number: number,
                                dueMs: dueMs,
                                night: template?.night ?? false,
                                now: now
                            ),
                            in: db
                        )
                    case .closed(let at):
                        try Self.record(assignment, kind: .closed, at: at, place: nil, missNumber: 0, db)
                    case .missResolved:
                        break
                    }
                }
            }
            return misses
        }
    }
}
