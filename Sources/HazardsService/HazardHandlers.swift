import Foundation
import GRDB
package import HazardsContract
import HazardsRules
import SanlianClock
import SanlianCompose
package import SanlianRPC
import SanlianWire
import ServiceFrame

// Hazards: reported, graded, routed, alerted; moved along their lifecycle by the authenticated
// caller; overdue steps escalated (OverdueWatch).
extension HazardsService: HazardsV1.HazardsService {
    package func report(_ request: HazardsV1.ReportHazardRequest, context call: ServerContext) async throws
        -> HazardsV1.Hazard
    {
        try await report(request, caller: call.caller, now: context.clock.nowMilliseconds())
    }

    func report(_ request: HazardsV1.ReportHazardRequest, caller: Caller, now: Int64) async throws -> HazardsV1.Hazard {
        let kind = try Vocabulary.kind(request.kind)
        try JointControlChecks.place(request.place, "place")
        try JointControlChecks.text(request.description, "description")
        guard request.identifier.utf8.count <= 128 else {
            throw RPCError(.invalidArgument, "identifier: at most 128 bytes")
        }
        var suggested: HazardGrade?
        if let grade = request.suggestedGrade {
            guard let known = Vocabulary.grade(grade) else {
                throw RPCError(.invalidArgument, "suggested_grade: must be one of major, serious, general, minor")
            }
            suggested = known
        }
        let settings = settings
        let suggestedGrade = suggested
        let reporterKey = request.identifier.isEmpty ? nil : "\(caller.department)/\(request.identifier)"
        return try await context.database.pool.write { db in
            if let reporterKey,
                let existing = try Row.fetchOne(
                    db,
                    sql: "SELECT body FROM hazards WHERE reporter_key = ?",
                    arguments: [reporterKey]
                )
            {
                // The same report again (a retry): the first one's answer.
                return try JointControlRecords.decode(HazardsV1.Hazard.self, existing)
            }
            let (grade, gradeReason) = HazardRules.grade(
                kind: kind,
                description: request.description,
                suggested: suggestedGrade,
                policy: settings.hazards
            )
            let (department, routingReason) = HazardRules.route(kind, policy: settings.hazards)
            let id = try RecordNumbers.next(
                "H",
                table: "hazards",
                timeColumn: "reported_ms",
                now: now,
                time: settings.time,
                db
            )
            let hazard = HazardsV1.Hazard(
                id: id,
                kind: request.kind,
                grade: HazardsV1.HazardGrade(rawValue: grade.rawValue),
                state: .reported,
                place: request.place,
                description: request.description,
                reportingDepartment: caller.department,
                responsibleDepartment: department,
                dueUnixMs: HazardRules.due(entering: .reported, at: now, grade: grade, policy: settings.hazards) ?? 0,
                alertIdentifier: "hazard-\(id)",
                history: [
                    HazardsV1.HazardEvent(
                        from: .unspecified,
                        to: .reported,
                        byDepartment: caller.department,
                        byOperator: caller.operatorID,
                        atUnixMs: now
                    )
                ],
                drill: request.drill,
                reportedUnixMs: now,
                reportingOperator: caller.operatorID,
                gradeReason: gradeReason,
                routingReason: routingReason,
                identifier: request.identifier
            )
            try JointControlRecords.save(hazard, reporterKey: reporterKey, step: 1, db)
            try context.outbox.enqueue(alert: JointControlAlerts.reported(hazard, now: now), in: db)
            return hazard
        }
    }

    package func get(_ request: HazardsV1.GetHazardRequest, context call: ServerContext) async throws
        -> HazardsV1.Hazard
    {
        try JointControlChecks.identifier(request.id, "id")
        guard
            let hazard = try await context.database.pool.read({ db in try JointControlRecords.hazard(request.id, db) })
        else {
            throw RPCError(.notFound, "no hazard \(request.id)")
        }
        return hazard
    }

    package func list(_ request: HazardsV1.ListHazardsRequest, context call: ServerContext) async throws
        -> HazardsV1.ListHazardsResponse
    {
        var pager = try ListPager(tag: "hz1", request: request.page, frameBytes: call.peerMaxFrameBytes, fields: 2)
        let (from, to) = try JointControlChecks.range(request.range, "range")
        var filters = ["reported_ms >= ?", "reported_ms < ?"]
        var arguments: [DatabaseValue] = [from.databaseValue, to.databaseValue]
        if !request.states.isEmpty {
            filters.append("state IN (\(request.states.map { String($0.rawValue) }.joined(separator: ",")))")
        }
        if !request.kinds.isEmpty {
            filters.append("kind IN (\(request.kinds.map { String($0.rawValue) }.joined(separator: ",")))")
        }
        if !request.responsibleDepartment.isEmpty {
            filters.append("department = ?")
            arguments.append(request.responsibleDepartment.databaseValue)
        }
        if !request.villageCode.isEmpty {
            filters.append("village = ?")
            arguments.append(request.villageCode.databaseValue)
        }
        if request.overdue {
            filters.append("due_ms IS NOT NULL AND due_ms < ?")
            arguments.append(context.clock.nowMilliseconds().databaseValue)
        }
        let condition = filters.joined(separator: " AND ")
        let (rows, total) = try await context.database.pool.read { [pager, arguments] db in
            let total =
                try Int.fetchOne(
                    db,
                    sql: "SELECT COUNT(*) FROM hazards WHERE \(condition)",
                    arguments: StatementArguments(arguments)
                )
                ?? 0
            var sql = "SELECT id, reported_ms, body FROM hazards WHERE \(condition)"
            var pageArguments = arguments
            if let after = pager.after, let time = Int64(after[0]) {
                sql += " AND (reported_ms > ? OR (reported_ms = ? AND id > ?))"
                pageArguments += [time.databaseValue, time.databaseValue, after[1].databaseValue]
            }
            sql += " ORDER BY reported_ms, id LIMIT \(pager.fetchLimit)"
            let rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(pageArguments)).map { row in
                (
                    cursor: [String(row["reported_ms"] as Int64), row["id"] as String],
                    item: try JointControlRecords.decode(HazardsV1.Hazard.self, row)
                )
            }
            return (rows, total)
        }
        let (hazards, page) = try pager.page(rows, total: total)
        return HazardsV1.ListHazardsResponse(hazards: hazards, page: page)
    }

    package func transition(_ request: HazardsV1.HazardTransitionRequest, context call: ServerContext) async throws
        -> HazardsV1.Hazard
    {
        try await transition(request, caller: call.caller, now: context.clock.nowMilliseconds())
    }

    func transition(_ request: HazardsV1.HazardTransitionRequest, caller: Caller, now: Int64) async throws
        -> HazardsV1.Hazard
    {
        try JointControlChecks.identifier(request.id, "id")
        guard let target = Vocabulary.state(request.to) else {
            throw RPCError(.invalidArgument, "to: must be one of acknowledged, assigned, handled, closed, reopened")
        }
        try JointControlChecks.text(request.note, "note", required: target == .handled || target == .reopened)
        if target == .assigned { try JointControlChecks.text(request.assignee, "assignee", limit: 64) }
        if target == .closed { try JointControlChecks.text(request.evidence, "evidence") }
        let settings = settings
        return try await context.database.pool.write { db in
            guard var hazard = try JointControlRecords.hazard(request.id, db) else {
                throw RPCError(.notFound, "no hazard \(request.id)")
            }
            // The responsible department moves it along; so may the station's command room and
            // the department running joint control.
            guard [hazard.responsibleDepartment, "station", context.settings.department].contains(caller.department)
            else {
                throw RPCError(
                    .permissionDenied,
                    "hazard \(hazard.id) is \(hazard.responsibleDepartment)'s to handle, not \(caller.department)'s"
                )
            }
            let current = Vocabulary.state(hazard.state) ?? .reported
            do {
                try HazardRules.checkTransition(from: current, to: target)
            } catch let error as RuleError {
                throw Vocabulary.rpc(error)
            }
            hazard.history.append(
                HazardsV1.HazardEvent(
                    from: hazard.state,
                    to: request.to,
                    byDepartment: caller.department,
                    byOperator: caller.operatorID,
                    atUnixMs: now,
                    note: request.note
                )
            )
            hazard.state = request.to
            let grade = Vocabulary.grade(hazard.grade) ?? .general
            hazard.dueUnixMs = HazardRules.due(entering: target, at: now, grade: grade, policy: settings.hazards) ?? 0
            switch target {
            case .assigned: hazard.assignedTo = request.assignee
            case .handled: hazard.handling = request.note
            case .closed:
                hazard.evidence = request.evidence
                hazard.closedUnixMs = now
                try context.outbox.enqueue(
                    alert: JointControlAlerts.closed(hazard, reopenings: hazard.reopened, now: now),
                    in: db
                )
            case .reopened:
                hazard.reopened += 1
                hazard.closedUnixMs = 0
                hazard.evidence = ""
                try context.outbox.enqueue(alert: JointControlAlerts.reopened(hazard, now: now), in: db)
            default: break
            }
            try JointControlRecords.save(hazard, reporterKey: nil, step: hazard.history.count, db)
            return hazard
        }
    }
}
