import Foundation
import GRDB
import HazardsContract
package import PatrolContract
import PatrolRules
import SanlianClock
import SanlianCompose
package import SanlianRPC
import SanlianWire
import ServiceFrame

// Check-ins on a cadence, and findings.
extension PatrolService: PatrolV1.PatrolsService {
    package func checkIn(_ request: PatrolV1.CheckInRequest, context call: ServerContext) async throws
        -> PatrolV1.CheckInResponse
    {
        try await checkIn(request, now: context.clock.nowMilliseconds())
    }

    /// A check-in at `now`: starts the patrol, or keeps it on cadence and answers an open miss.
    func checkIn(_ request: PatrolV1.CheckInRequest, now: Int64) async throws -> PatrolV1.CheckInResponse {
        try PatrolChecks.identifier(request.assignmentID, "assignment_id")
        try PatrolChecks.place(request.place, "place")
        return try await context.database.pool.write { db in
            let assignment = try self.patrolledAssignment(request.assignmentID, db)
            // From half an hour before the shift to its end.
            guard now >= assignment.startsUnixMs - 30 * 60_000, now <= assignment.endsUnixMs else {
                throw RPCError(
                    .failedPrecondition,
                    "assignment \(assignment.id): check-ins are taken from 30 minutes before its shift to its end"
                )
            }
            let cadence = settings.cadence(forTemplate: assignment.shiftTemplateID)
            let stored = try PatrolProgressRow.fetch(assignment.id, db)
            if let stored, stored.progress.closedMs != nil {
                throw RPCError(.failedPrecondition, "assignment \(assignment.id): the patrol has ended")
            }
            let (progress, answered) = CheckInRules.checkIn(
                stored?.progress,
                at: now,
                shiftEndsMs: assignment.endsUnixMs,
                cadence: cadence
            )
            try PatrolProgressRow(assignmentID: assignment.id, volunteerID: assignment.volunteerID, progress: progress)
                .save(cadence: cadence, db)
            try Self.record(
                assignment,
                kind: stored == nil ? .start : .checkIn,
                at: now,
                place: request.place,
                missNumber: 0,
                db
            )
            if case .missResolved(let number) = answered {
                try context.outbox.enqueue(
                    alert: PatrolAlerts.missResolved(assignment, number: number, now: now),
                    in: db
                )
            }
            return PatrolV1.CheckInResponse(
                nextDueUnixMs: progress.nextDueMs,
                started: stored == nil,
                resolvedMissed: answered != nil
            )
        }
    }

    package func checkOut(_ request: PatrolV1.CheckOutRequest, context call: ServerContext) async throws
        -> PatrolV1.CheckOutResponse
    {
        try await checkOut(request, now: context.clock.nowMilliseconds())
    }

    func checkOut(_ request: PatrolV1.CheckOutRequest, now: Int64) async throws -> PatrolV1.CheckOutResponse {
        try PatrolChecks.identifier(request.assignmentID, "assignment_id")
        return try await context.database.pool.write { db in
            let assignment = try self.patrolledAssignment(request.assignmentID, db)
            guard var stored = try PatrolProgressRow.fetch(assignment.id, db) else {
                throw RPCError(
                    .failedPrecondition,
                    "assignment \(assignment.id): the patrol has not started (check in first)"
                )
            }
            guard stored.progress.closedMs == nil else {
                throw RPCError(.failedPrecondition, "assignment \(assignment.id): the patrol has ended")
            }
            let answered = stored.progress.missOpen ? stored.progress.misses : nil
            stored.progress.closedMs = now
            stored.progress.missOpen = false
            try stored.save(cadence: settings.cadence(forTemplate: assignment.shiftTemplateID), checkedOutMs: now, db)
            try Self.record(assignment, kind: .checkOut, at: now, place: nil, missNumber: 0, db)
            if let answered {
                try context.outbox.enqueue(
                    alert: PatrolAlerts.missResolved(assignment, number: answered, now: now),
                    in: db
                )
            }
            try db.execute(
                sql: "UPDATE assignments SET state = ?, updated_ms = ? WHERE id = ? AND state IN (1, 2)",
                arguments: [PatrolV1.AssignmentState.completed.rawValue, now, assignment.id]
            )
            return PatrolV1.CheckOutResponse(minutesOnPatrol: UInt32(max(0, now - stored.progress.startedMs) / 60_000))
        }
    }

    package func listCheckIns(_ request: PatrolV1.ListCheckInsRequest, context call: ServerContext) async throws
        -> PatrolV1.ListCheckInsResponse
    {
        var pager = try ListPager(tag: "chk1", request: request.page, frameBytes: call.peerMaxFrameBytes, fields: 1)
        let range = try PatrolChecks.range(request.range, "range")
        var filters = ["at_ms >= ?", "at_ms < ?"]
        var arguments: [DatabaseValue] = [range.from.databaseValue, range.to.databaseValue]
        if !request.assignmentID.isEmpty {
            filters.append("assignment_id = ?")
            arguments.append(request.assignmentID.databaseValue)
        }
        if !request.kinds.isEmpty {
            filters.append("kind IN (\(request.kinds.map { String($0.rawValue) }.joined(separator: ",")))")
        }
        let condition = filters.joined(separator: " AND ")
        let (rows, total) = try await context.database.pool.read { [pager, arguments] db in
            let total =
                try Int.fetchOne(
                    db,
                    sql: "SELECT COUNT(*) FROM check_ins WHERE \(condition)",
                    arguments: StatementArguments(arguments)
                )
                ?? 0
            let rows = try Row.fetchAll(
                db,
                sql:
                    "SELECT position, body FROM check_ins WHERE \(condition) AND position > ? ORDER BY position LIMIT \(pager.fetchLimit)",
                arguments: StatementArguments(arguments + [(Int64(pager.after?[0] ?? "0") ?? 0).databaseValue])
            ).map { row in
                (
                    cursor: [String(row["position"] as Int64)],
                    item: try PatrolRecords.decode(PatrolV1.CheckInRecord.self, row)
                )
            }
            return (rows, total)
        }
        let (records, page) = try pager.page(rows, total: total)
        return PatrolV1.ListCheckInsResponse(records: records, page: page)
    }

    package func reportFinding(_ request: PatrolV1.ReportFindingRequest, context call: ServerContext) async throws
        -> PatrolV1.Finding
    {
        try PatrolChecks.identifier(request.assignmentID, "assignment_id")
        if case .unrecognized = request.kind { throw RPCError(.invalidArgument, "kind: not a kind of finding") }
        guard request.kind != .unspecified else { throw RPCError(.invalidArgument, "kind: must be given") }
        try PatrolChecks.place(request.place, "place")
        try PatrolChecks.name(request.description, "description", limit: PatrolLimits.descriptionCharacters)
        let now = context.clock.nowMilliseconds()
        let caller = call.caller
        let hazardsServed = context.compose.services["sanlian-hazards"] != nil
        return try await context.database.pool.write { db in
            guard let assignment = try PatrolRecords.assignment(request.assignmentID, db) else {
                throw RPCError(.notFound, "no assignment \(request.assignmentID)")
            }
            let id = PatrolRecords.newID("fd-")
            let isHazard = request.raiseHazard || request.kind == .roadHazard || request.kind == .fireRisk
            var finding = PatrolV1.Finding(
                id: id,
                assignmentID: assignment.id,
                kind: request.kind,
                place: request.place,
                description: request.description,
                foundUnixMs: now,
                alertIdentifier: "patrol-finding-\(id)",
                volunteerID: assignment.volunteerID,
                drill: request.drill,
                hazardReported: isHazard && hazardsServed,
                recordedBy: caller.description
            )
            try context.outbox.enqueue(
                alert: PatrolAlerts.finding(finding, areaID: assignment.areaID, now: now),
                in: db
            )
            if finding.hazardReported {
                try context.outbox.enqueue(
                    call: HazardsV1.Hazards.report,
                    PatrolAlerts.hazardReport(finding),
                    identifier: "patrol-finding-\(id)",
                    in: db
                )
            }
            finding.recordedBy = caller.description
            try db.execute(
                sql: "INSERT INTO findings (id, found_ms, body) VALUES (?, ?, ?)",
                arguments: [id, now, try PatrolRecords.body(finding)]
            )
            return finding
        }
    }

    package func listFindings(_ request: PatrolV1.ListFindingsRequest, context call: ServerContext) async throws
        -> PatrolV1.ListFindingsResponse
    {
        let (findings, page) = try await listByTime(
            table: "findings",
            timeColumn: "found_ms",
            tag: "find1",
            range: request.range,
            request.page,
            call,
            as: PatrolV1.Finding.self
        )
        return PatrolV1.ListFindingsResponse(findings: findings, page: page)
    }

    /// A list of records of `table` whose `timeColumn` falls in `range`, oldest first, paged.
    func listByTime<Item: WireMessage>(
        table: String,
        timeColumn: String,
        tag: String,
        range: CommonV1.TimeRange?,
        _ request: CommonV1.PageRequest?,
        _ call: ServerContext,
        as type: Item.Type
    ) async throws -> ([Item], CommonV1.PageResponse) {
        var pager = try ListPager(tag: tag, request: request, frameBytes: call.peerMaxFrameBytes, fields: 2)
        let (from, to) = try PatrolChecks.range(range, "range")
        let (rows, total) = try await context.database.pool.read { [pager] db in
            let condition = "\(timeColumn) >= ? AND \(timeColumn) < ?"
            let total =
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table) WHERE \(condition)", arguments: [from, to])
                ?? 0
            var sql = "SELECT id, \(timeColumn) AS time, body FROM \(table) WHERE \(condition)"
            var arguments: [DatabaseValue] = [from.databaseValue, to.databaseValue]
            if let after = pager.after, let time = Int64(after[0]) {
                sql += " AND (\(timeColumn) > ? OR (\(timeColumn) = ? AND id > ?))"
                arguments += [time.databaseValue, time.databaseValue, after[1].databaseValue]
            }
            sql += " ORDER BY \(timeColumn), id LIMIT \(pager.fetchLimit)"
            let rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { row in
                (
                    cursor: [String(row["time"] as Int64), row["id"] as String],
                    item: try PatrolRecords.decode(Item.self, row)
                )
            }
            return (rows, total)
        }
        return try pager.page(rows, total: total)
    }

    /// The assignment `id`, if a patrol can be made on it (standing, not cancelled).
    private func patrolledAssignment(_ id: String, _ db: Database) throws -> PatrolV1.Assignment {
        guard let assignment = try PatrolRecords.assignment(id, db) else {
            throw RPCError(.notFound, "no assignment \(id)")
        }
        guard [.assigned, .confirmed, .completed].contains(assignment.state) else {
            throw RPCError(.failedPrecondition, "assignment \(id) is \(assignment.state.shortName): no patrol on it")
        }
        return assignment
    }

    static func record(
        _ assignment: PatrolV1.Assignment,
        kind: PatrolV1.CheckInKind,
        at: Int64,
        place: CommonV1.Place?,
        missNumber: Int,
        _ db: Database
    ) throws {
        let record = PatrolV1.CheckInRecord(
            assignmentID: assignment.id,
            volunteerID: assignment.volunteerID,
            kind: kind,
            atUnixMs: at,
            place: place,
            missNumber: UInt32(missNumber)
        )
        try db.execute(
            sql: """
                INSERT INTO check_ins (assignment_id, volunteer_id, kind, at_ms, miss_number, body)
                VALUES (?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                assignment.id, assignment.volunteerID, kind.rawValue, at, missNumber, try PatrolRecords.body(record),
            ]
        )
    }
}

/// A patrol's progress as the `patrols` table keeps it.
struct PatrolProgressRow {
    var assignmentID: String
    var volunteerID: String
    var progress: PatrolProgress

    static func fetch(_ assignmentID: String, _ db: Database) throws -> PatrolProgressRow? {
        try Row.fetchOne(db, sql: "SELECT * FROM patrols WHERE assignment_id = ?", arguments: [assignmentID]).map(
            Self.init(row:)
        )
    }

    init(assignmentID: String, volunteerID: String, progress: PatrolProgress) {
        self.assignmentID = assignmentID
        self.volunteerID = volunteerID
        self.progress = progress
    }

    init(row: Row) {
        assignmentID = row["assignment_id"]
        volunteerID = row["volunteer_id"]
        progress = PatrolProgress(
            startedMs: row["started_ms"],
            lastCheckInMs: row["last_check_in_ms"],
            nextDueMs: row["next_due_ms"],
            misses: row["misses"],
            missOpen: row["miss_open"],
            shiftEndsMs: row["shift_ends_ms"],
            closedMs: row["closed_ms"]
        )
    }

    func save(cadence: CheckInCadence, checkedOutMs: Int64? = nil, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO patrols (assignment_id, volunteer_id, started_ms, last_check_in_ms, next_due_ms, misses,
                    miss_open, shift_ends_ms, closed_ms, checked_out_ms, deadline_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(assignment_id) DO UPDATE SET last_check_in_ms = excluded.last_check_in_ms,
                    next_due_ms = excluded.next_due_ms, misses = excluded.misses, miss_open = excluded.miss_open,
                    closed_ms = excluded.closed_ms, checked_out_ms = COALESCE(excluded.checked_out_ms, checked_out_ms),
                    deadline_ms = excluded.deadline_ms
                """,
            arguments: [
                assignmentID, volunteerID, progress.startedMs, progress.lastCheckInMs, progress.nextDueMs,
                progress.misses,
                progress.missOpen, progress.shiftEndsMs, progress.closedMs, checkedOutMs,
                CheckInRules.nextDeadline(progress, cadence: cadence),
            ]
        )
    }
}
