import Foundation
import GRDB
package import PatrolContract
import PatrolRules
import SanlianClock
package import SanlianRPC
import SanlianWire
import ServiceFrame

// The roster: generating it, reading it, changing it by hand, and swaps.
extension PatrolService {
    package func generateRoster(_ request: PatrolV1.GenerateRosterRequest, context call: ServerContext) async throws
        -> PatrolV1.GenerateRosterResponse
    {
        var response = try await generateRoster(request, now: context.clock.nowMilliseconds())
        // The unfilled shifts that fit the caller's frame; the score counts them all.
        var budget = FrameBudget(frameBytes: call.peerMaxFrameBytes)
        response.unfilled = try response.unfilled.prefix { shift in budget.take(try shift.serializedBytes().count) }
        return response
    }

    /// Solves and (unless a dry run) stores the roster of the request's period as of `now`.
    func generateRoster(_ request: PatrolV1.GenerateRosterRequest, now: Int64) async throws
        -> PatrolV1.GenerateRosterResponse
    {
        let firstDay = try PatrolChecks.day(request.firstDay, "first_day")
        let lastDay = try PatrolChecks.day(request.lastDay, "last_day")
        guard firstDay <= lastDay else { throw RPCError(.invalidArgument, "last_day: must not come before first_day") }
        guard lastDay.ordinal - firstDay.ordinal < PatrolLimits.rosterDays else {
            throw RPCError(.invalidArgument, "last_day: a roster covers at most \(PatrolLimits.rosterDays) days")
        }
        var limits = settings.limits
        if let rules = request.rules {
            if rules.minRestMinutes > 0 { limits.minRestMinutes = Int(min(rules.minRestMinutes, 7 * 24 * 60)) }
            if rules.maxShiftsPerWeek > 0 { limits.maxShiftsPerWeek = Int(min(rules.maxShiftsPerWeek, 21)) }
        }
        let time = settings.time
        let seed = request.rules?.seed ?? 0
        let dryRun = request.dryRun
        return try await context.database.pool.write { [limits] db in
            let started = ContinuousClock.now
            let templates = try PatrolRecords.templates(db)
            let from = time.unixMilliseconds(firstDay, minute: 0)
            let to = time.unixMilliseconds(lastDay.adding(days: 1), minute: 0)
            let existing = try PatrolRecords.standingAssignments(from: from, to: to, db)
            let problem = RosterProblem(
                firstDay: firstDay,
                lastDay: lastDay,
                time: time,
                volunteers: try PatrolRecords.rosterVolunteers(db),
                templates: templates.filter { !$0.retired }.map(PatrolRecords.rosterTemplate),
                limits: limits,
                existing: existing.map { assignment in
                    let fixed = assignment.locked || assignment.state != .assigned || assignment.startsUnixMs < now
                    return ExistingAssignment(
                        RosterAssignment(
                            shift: ShiftKey(
                                templateID: assignment.shiftTemplateID,
                                day: LocalDay(assignment.day) ?? firstDay
                            ),
                            volunteerID: assignment.volunteerID
                        ),
                        standing: fixed ? .fixed : .movable
                    )
                },
                seed: seed
            )
            let solution: RosterSolution
            do {
                solution = try RosterSolver.solve(problem)
            } catch let conflict as RosterConflict {
                throw RPCError(
                    .failedPrecondition,
                    "the roster cannot keep its locked, confirmed or past assignments: \(conflict); unlock or change them first"
                )
            }
            if !dryRun {
                try store(solution, replacing: existing, templates: templates, now: now, db)
            }
            let elapsed = ContinuousClock.now - started
            let score = solution.score
            return PatrolV1.GenerateRosterResponse(
                unfilled: solution.unfilled.map { shift in
                    PatrolV1.UnfilledShift(
                        shiftTemplateID: shift.shift.templateID,
                        day: shift.shift.day.description,
                        missing: UInt32(shift.missing),
                        reason: shift.reason,
                        areaID: shift.areaID
                    )
                },
                fairnessSpread: UInt32(score.fairnessSpread),
                score: PatrolV1.RosterScore(
                    hardViolations: UInt32(score.hardViolations),
                    unfilledShifts: UInt32(score.unfilledShifts),
                    unfilledPlaces: UInt32(score.unfilledPlaces),
                    fairnessSpread: UInt32(score.fairnessSpread),
                    preferencesMet: UInt32(score.preferencesMet),
                    preferencesStated: UInt32(score.preferencesStated),
                    assignments: UInt32(score.assignments),
                    kept: UInt32(score.kept),
                    changed: UInt32(score.changed),
                    added: UInt32(score.added),
                    areaCoverageMinPercent: UInt32(score.areaCoverageMinPercent),
                    areaCoverageMaxPercent: UInt32(score.areaCoverageMaxPercent)
                ),
                dryRun: dryRun,
                solveMilliseconds: UInt32(
                    clamping: elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
                )
            )
        }
    }

    /// Replaces the period's movable assignments with the solution's: those kept stay as they
    /// are, those the solution dropped are deleted (never confirmed, so nobody counted on them),
    /// and new ones are added.
    private func store(
        _ solution: RosterSolution,
        replacing existing: [PatrolV1.Assignment],
        templates: [PatrolV1.ShiftTemplate],
        now: Int64,
        _ db: Database
    ) throws {
        let solved = Set(solution.assignments.filter { $0.origin != .added }.map(\.assignment))
        for assignment in existing
        where assignment.state == .assigned && !assignment.locked && assignment.startsUnixMs >= now {
            let key = RosterAssignment(
                shift: ShiftKey(templateID: assignment.shiftTemplateID, day: LocalDay(assignment.day)!),
                volunteerID: assignment.volunteerID
            )
            if !solved.contains(key) {
                try db.execute(sql: "DELETE FROM assignments WHERE id = ?", arguments: [assignment.id])
            }
        }
        let byID = Dictionary(templates.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for added in solution.assignments where added.origin == .added {
            guard let template = byID[added.assignment.shift.templateID] else { continue }
            let shift = PatrolRecords.rosterTemplate(template).shift(
                on: added.assignment.shift.day,
                time: settings.time
            )
            try PatrolRecords.insert(
                PatrolV1.Assignment(
                    id: PatrolRecords.newID("as-"),
                    shiftTemplateID: template.id,
                    day: shift.day.description,
                    volunteerID: added.assignment.volunteerID,
                    state: .assigned,
                    locked: false,
                    startsUnixMs: shift.startMs,
                    endsUnixMs: shift.endMs,
                    areaID: template.areaID,
                    shiftName: template.name
                ),
                now: now,
                db
            )
        }
    }

    package func listAssignments(_ request: PatrolV1.ListAssignmentsRequest, context call: ServerContext) async throws
        -> PatrolV1.ListAssignmentsResponse
    {
        var pager = try ListPager(tag: "asg1", request: request.page, frameBytes: call.peerMaxFrameBytes, fields: 2)
        let range = try PatrolChecks.range(request.range, "range")
        var filters = ["starts_ms >= ?", "starts_ms < ?"]
        var arguments: [DatabaseValue] = [range.from.databaseValue, range.to.databaseValue]
        if !request.volunteerID.isEmpty {
            filters.append("volunteer_id = ?")
            arguments.append(request.volunteerID.databaseValue)
        }
        if !request.areaID.isEmpty {
            filters.append("area_id = ?")
            arguments.append(request.areaID.databaseValue)
        }
        if request.states.isEmpty {
            filters.append("state NOT IN (3, 6)")
        } else {
            filters.append("state IN (\(request.states.map { String($0.rawValue) }.joined(separator: ",")))")
        }
        let condition = filters.joined(separator: " AND ")
        let (rows, total) = try await context.database.pool.read { [pager, arguments] db in
            let total =
                try Int.fetchOne(
                    db,
                    sql: "SELECT COUNT(*) FROM assignments WHERE \(condition)",
                    arguments: StatementArguments(arguments)
                )
                ?? 0
            var sql = "SELECT * FROM assignments WHERE \(condition)"
            var pageArguments = arguments
            if let after = pager.after, let start = Int64(after[0]) {
                sql += " AND (starts_ms > ? OR (starts_ms = ? AND id > ?))"
                pageArguments += [start.databaseValue, start.databaseValue, after[1].databaseValue]
            }
            sql += " ORDER BY starts_ms, id LIMIT \(pager.fetchLimit)"
            let rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(pageArguments)).map { row in
                let assignment = PatrolRecords.assignment(from: row)
                return (cursor: [String(assignment.startsUnixMs), assignment.id], item: assignment)
            }
            return (rows, total)
        }
        let (assignments, page) = try pager.page(rows, total: total)
        return PatrolV1.ListAssignmentsResponse(assignments: assignments, page: page)
    }

    package func assignByHand(_ request: PatrolV1.AssignByHandRequest, context call: ServerContext) async throws
        -> PatrolV1.Assignment
    {
        try PatrolChecks.identifier(request.shiftTemplateID, "shift_template_id")
        try PatrolChecks.identifier(request.volunteerID, "volunteer_id")
        let day = try PatrolChecks.day(request.day, "day")
        let now = context.clock.nowMilliseconds()
        return try await context.database.pool.write { db in
            guard let template = try PatrolRecords.template(request.shiftTemplateID, db), !template.retired else {
                throw RPCError(.notFound, "no shift template \(request.shiftTemplateID)")
            }
            let rules = PatrolRecords.rosterTemplate(template)
            guard rules.runs(on: day) else {
                throw RPCError(
                    .invalidArgument,
                    "day: \(template.id) does not run on \(day) (weekday \(day.isoWeekday))"
                )
            }
            guard try PatrolRecords.volunteer(request.volunteerID, db) != nil else {
                throw RPCError(.notFound, "no volunteer \(request.volunteerID)")
            }
            let shift = rules.shift(on: day, time: settings.time)
            let change = RosterAssignment(shift: shift.key, volunteerID: request.volunteerID)
            try checkVolunteerRules(adding: [change], removing: [], around: shift, db)
            let assignment = PatrolV1.Assignment(
                id: PatrolRecords.newID("as-"),
                shiftTemplateID: template.id,
                day: day.description,
                volunteerID: request.volunteerID,
                state: .assigned,
                locked: request.locked,
                startsUnixMs: shift.startMs,
                endsUnixMs: shift.endMs,
                areaID: template.areaID,
                shiftName: template.name
            )
            try PatrolRecords.insert(assignment, now: now, db)
            return assignment
        }
    }

    package func updateAssignment(_ request: PatrolV1.UpdateAssignmentRequest, context call: ServerContext) async throws
        -> PatrolV1.Assignment
    {
        try PatrolChecks.identifier(request.assignmentID, "assignment_id")
        let now = context.clock.nowMilliseconds()
        return try await context.database.pool.write { db in
            guard var assignment = try PatrolRecords.assignment(request.assignmentID, db) else {
                throw RPCError(.notFound, "no assignment \(request.assignmentID)")
            }
            if request.state != .unspecified && request.state != assignment.state {
                try Self.checkTransition(from: assignment.state, to: request.state, assignment: assignment, now: now)
                assignment.state = request.state
            }
            if let locked = request.locked { assignment.locked = locked }
            try db.execute(
                sql: "UPDATE assignments SET state = ?, locked = ?, updated_ms = ? WHERE id = ?",
                arguments: [assignment.state.rawValue, assignment.locked, now, assignment.id]
            )
            return assignment
        }
    }

    /// assigned → confirmed → completed, or no-show (from assigned or confirmed, once the shift
    /// has started); assigned or confirmed → cancelled. Swapped only by an approved swap.
    static func checkTransition(
        from: PatrolV1.AssignmentState,
        to: PatrolV1.AssignmentState,
        assignment: PatrolV1.Assignment,
        now: Int64
    ) throws(RPCError) {
        let allowed: Bool =
            switch (from, to) {
            case (.assigned, .confirmed), (.assigned, .cancelled), (.confirmed, .cancelled): true
            case (.assigned, .completed), (.confirmed, .completed), (.assigned, .noShow), (.confirmed, .noShow):
                assignment.startsUnixMs <= now
            default: false
            }
        guard allowed else {
            if to == .completed || to == .noShow, from == .assigned || from == .confirmed {
                throw RPCError(.failedPrecondition, "assignment \(assignment.id): its shift has not started yet")
            }
            throw RPCError(
                .failedPrecondition,
                "assignment \(assignment.id) is \(from.shortName), and cannot become \(to.shortName)"
            )
        }
    }

    /// Refuses a change of the roster (`adding` and `removing` assignments) that would make a
    /// volunteer break a hard rule (availability, overlaps, rest, the weekly limit) or, for a
    /// shift already formed, its night or skill rules.
    func checkVolunteerRules(
        adding: [RosterAssignment],
        removing: [RosterAssignment],
        around shift: Shift,
        checkShiftRules: Bool = false,
        _ db: Database
    ) throws {
        let week: Int64 = 8 * 24 * 3_600_000
        var roster = try PatrolRecords.standingAssignments(from: shift.startMs - week, to: shift.startMs + week, db).map
        {
            RosterAssignment(
                shift: ShiftKey(templateID: $0.shiftTemplateID, day: LocalDay($0.day)!),
                volunteerID: $0.volunteerID
            )
        }
        let removed = Set(removing)
        roster.removeAll { removed.contains($0) }
        roster += adding
        let problem = RosterProblem(
            firstDay: settings.time.day(of: shift.startMs - week),
            lastDay: settings.time.day(of: shift.startMs + week),
            time: settings.time,
            volunteers: try PatrolRecords.rosterVolunteers(db),
            templates: try PatrolRecords.templates(db).map(PatrolRecords.rosterTemplate),
            limits: settings.limits
        )
        let touchedVolunteers = Set(adding.map(\.volunteerID))
        let touchedShifts = Set((adding + removing).map(\.shift))
        let shiftRules: Set<RosterViolation.Rule> = [.aloneAtNight, .noVeteranAtNight, .missingSkill]
        let broken = RosterChecker.violations(of: roster, in: problem).filter { violation in
            if shiftRules.contains(violation.rule) { return checkShiftRules && touchedShifts.contains(violation.shift) }
            if violation.rule == .overstaffed { return touchedShifts.contains(violation.shift) }
            return violation.volunteerID.map(touchedVolunteers.contains) ?? false
        }
        if let first = broken.first {
            throw RPCError(.failedPrecondition, "the hard rules forbid it: \(first)")
        }
    }
}
