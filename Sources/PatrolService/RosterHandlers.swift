import Foundation
import GRDB
package import PatrolContract
import PatrolRules
import SanlianClock
package import SanlianRPC
import SanlianWire
import ServiceFrame

// Volunteers, teams, areas and shift templates.
extension PatrolService: PatrolV1.RosterService {
    package func upsertVolunteer(_ request: PatrolV1.UpsertVolunteerRequest, context call: ServerContext) async throws
        -> PatrolV1.Volunteer
    {
        guard var volunteer = request.volunteer else { throw RPCError(.invalidArgument, "volunteer: must be given") }
        volunteer.masked = false
        let stored = volunteer
        try await context.database.pool.write { db in
            let errors = try Self.problems(of: stored, db)
            if let first = errors.first {
                throw RPCError(.invalidArgument, "volunteer.\(first.field): \(first.message)")
            }
            try Self.store(stored, db)
        }
        return Self.shown(volunteer, to: call.caller)
    }

    package func getVolunteer(_ request: PatrolV1.GetVolunteerRequest, context call: ServerContext) async throws
        -> PatrolV1.Volunteer
    {
        try PatrolChecks.identifier(request.id, "id")
        guard
            let volunteer = try await context.database.pool.read({ db in try PatrolRecords.volunteer(request.id, db) })
        else {
            throw RPCError(.notFound, "no volunteer \(request.id)")
        }
        return Self.shown(volunteer, to: call.caller)
    }

    package func listVolunteers(_ request: PatrolV1.ListVolunteersRequest, context call: ServerContext) async throws
        -> PatrolV1.ListVolunteersResponse
    {
        var pager = try ListPager(tag: "vol1", request: request.page, frameBytes: call.peerMaxFrameBytes, fields: 1)
        var filters = ["1"]
        var arguments: [DatabaseValue] = []
        if !request.villageCode.isEmpty {
            filters.append("village_code = ?")
            arguments.append(request.villageCode.databaseValue)
        }
        if !request.teamID.isEmpty {
            filters.append("team_id = ?")
            arguments.append(request.teamID.databaseValue)
        }
        if !request.includeInactive { filters.append("active = 1") }
        let condition = filters.joined(separator: " AND ")
        let caller = call.caller
        let (rows, total) = try await context.database.pool.read { [pager, arguments] db in
            let total =
                try Int.fetchOne(
                    db,
                    sql: "SELECT COUNT(*) FROM volunteers WHERE \(condition)",
                    arguments: StatementArguments(arguments)
                ) ?? 0
            var sql = "SELECT id, body FROM volunteers WHERE \(condition)"
            var pageArguments = arguments
            if let after = pager.after {
                sql += " AND id > ?"
                pageArguments.append(after[0].databaseValue)
            }
            sql += " ORDER BY id LIMIT \(pager.fetchLimit)"
            let rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(pageArguments)).map { row in
                (
                    cursor: [row["id"] as String],
                    item: Self.shown(try PatrolRecords.decode(PatrolV1.Volunteer.self, row), to: caller)
                )
            }
            return (rows, total)
        }
        let (volunteers, page) = try pager.page(rows, total: total)
        return PatrolV1.ListVolunteersResponse(volunteers: volunteers, page: page)
    }

    package func importVolunteers(_ request: PatrolV1.ImportVolunteersRequest, context call: ServerContext) async throws
        -> PatrolV1.ImportVolunteersResponse
    {
        guard request.rows.count <= PatrolLimits.importRows else {
            throw RPCError(
                .invalidArgument,
                "rows: at most \(PatrolLimits.importRows) in one import, not \(request.rows.count)"
            )
        }
        return try await context.database.pool.write { db in
            var rejected: [PatrolV1.RowError] = []
            var seen: [String: UInt32] = [:]
            for row in request.rows {
                let volunteer = row.volunteer ?? PatrolV1.Volunteer()
                for problem in try Self.problems(of: volunteer, db) {
                    rejected.append(PatrolV1.RowError(row: row.row, field: problem.field, message: problem.message))
                }
                if let earlier = seen[volunteer.id], !volunteer.id.isEmpty {
                    rejected.append(
                        PatrolV1.RowError(
                            row: row.row,
                            field: "id",
                            message: "\(volunteer.id) is also on row \(earlier)"
                        )
                    )
                }
                seen[volunteer.id] = seen[volunteer.id] ?? row.row
            }
            guard rejected.isEmpty else { return PatrolV1.ImportVolunteersResponse(rejected: rejected) }
            var created: UInt32 = 0
            var updated: UInt32 = 0
            for row in request.rows {
                var volunteer = row.volunteer ?? PatrolV1.Volunteer()
                volunteer.masked = false
                if try PatrolRecords.volunteer(volunteer.id, db) == nil { created += 1 } else { updated += 1 }
                if !request.dryRun { try Self.store(volunteer, db) }
            }
            return PatrolV1.ImportVolunteersResponse(created: created, updated: updated)
        }
    }

    package func upsertTeam(_ request: PatrolV1.Team, context call: ServerContext) async throws -> PatrolV1.Team {
        try PatrolChecks.identifier(request.id, "id")
        try PatrolChecks.name(request.name, "name")
        try await context.database.pool.write { db in
            if !request.leaderVolunteerID.isEmpty, try PatrolRecords.volunteer(request.leaderVolunteerID, db) == nil {
                throw RPCError(.invalidArgument, "leader_volunteer_id: no volunteer \(request.leaderVolunteerID)")
            }
            try db.execute(
                sql: "INSERT INTO teams (id, body) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET body = excluded.body",
                arguments: [request.id, try PatrolRecords.body(request)]
            )
        }
        return request
    }

    package func listTeams(_ request: PatrolV1.ListTeamsRequest, context call: ServerContext) async throws
        -> PatrolV1.ListTeamsResponse
    {
        let (teams, page) = try await listByID(table: "teams", tag: "team1", request.page, call, as: PatrolV1.Team.self)
        return PatrolV1.ListTeamsResponse(teams: teams, page: page)
    }

    package func upsertArea(_ request: PatrolV1.PatrolArea, context call: ServerContext) async throws
        -> PatrolV1.PatrolArea
    {
        try PatrolChecks.identifier(request.id, "id")
        try PatrolChecks.name(request.name, "name")
        if case .unrecognized = request.kind { throw RPCError(.invalidArgument, "kind: not a kind of area") }
        guard request.kind != .unspecified else {
            throw RPCError(.invalidArgument, "kind: must be given: village, enterprise zone or road")
        }
        try PatrolChecks.place(request.place, "place")
        try await context.database.pool.write { db in
            try db.execute(
                sql: "INSERT INTO areas (id, body) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET body = excluded.body",
                arguments: [request.id, try PatrolRecords.body(request)]
            )
        }
        return request
    }

    package func listAreas(_ request: PatrolV1.ListAreasRequest, context call: ServerContext) async throws
        -> PatrolV1.ListAreasResponse
    {
        let (areas, page) = try await listByID(
            table: "areas",
            tag: "area1",
            request.page,
            call,
            as: PatrolV1.PatrolArea.self
        )
        return PatrolV1.ListAreasResponse(areas: areas, page: page)
    }

    package func upsertShiftTemplate(_ request: PatrolV1.ShiftTemplate, context call: ServerContext) async throws
        -> PatrolV1.ShiftTemplate
    {
        var template = request
        try Self.check(template)
        template.checkInEveryMinutes = UInt32(settings.cadence(forTemplate: template.id).everyMilliseconds / 60_000)
        let stored = template
        try await context.database.pool.write { db in
            guard try PatrolRecords.area(stored.areaID, db) != nil else {
                throw RPCError(.invalidArgument, "area_id: no area \(stored.areaID)")
            }
            if let existing = try PatrolRecords.template(stored.id, db), existing.areaID != stored.areaID {
                throw RPCError(
                    .invalidArgument,
                    "area_id: template \(stored.id) belongs to \(existing.areaID); make a new template"
                )
            }
            try db.execute(
                sql: """
                    INSERT INTO shift_templates (id, area_id, body) VALUES (?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET body = excluded.body
                    """,
                arguments: [stored.id, stored.areaID, try PatrolRecords.body(stored)]
            )
        }
        return template
    }

    package func listShiftTemplates(_ request: PatrolV1.ListShiftTemplatesRequest, context call: ServerContext)
        async throws
        -> PatrolV1.ListShiftTemplatesResponse
    {
        var pager = try ListPager(tag: "tpl1", request: request.page, frameBytes: call.peerMaxFrameBytes, fields: 1)
        let area = request.areaID
        let settings = settings
        let (rows, total) = try await context.database.pool.read { [pager] db in
            let condition = area.isEmpty ? "1" : "area_id = ?"
            let base: [DatabaseValue] = area.isEmpty ? [] : [area.databaseValue]
            let total =
                try Int.fetchOne(
                    db,
                    sql: "SELECT COUNT(*) FROM shift_templates WHERE \(condition)",
                    arguments: StatementArguments(base)
                )
                ?? 0
            let after = pager.after?[0]
            let rows = try Row.fetchAll(
                db,
                sql:
                    "SELECT id, body FROM shift_templates WHERE \(condition) AND id > ? ORDER BY id LIMIT \(pager.fetchLimit)",
                arguments: StatementArguments(base + [(after ?? "").databaseValue])
            ).map { row in
                var template = try PatrolRecords.decode(PatrolV1.ShiftTemplate.self, row)
                template.checkInEveryMinutes = UInt32(
                    settings.cadence(forTemplate: template.id).everyMilliseconds / 60_000
                )
                return (cursor: [template.id], item: template)
            }
            return (rows, total)
        }
        let (templates, page) = try pager.page(rows, total: total)
        return PatrolV1.ListShiftTemplatesResponse(templates: templates, page: page)
    }

    package func setAvailability(_ request: PatrolV1.SetAvailabilityRequest, context call: ServerContext) async throws
        -> PatrolV1.SetAvailabilityResponse
    {
        try PatrolChecks.identifier(request.volunteerID, "volunteer_id")
        for (index, window) in request.windows.enumerated() {
            let from = window.range?.fromUnixMs ?? 0
            let to = window.range?.toUnixMs ?? 0
            guard from > 0, to > from else {
                throw RPCError(.invalidArgument, "windows[\(index)].range: both ends must be set, from before to")
            }
        }
        let count = try await context.database.pool.write { db -> Int in
            guard try PatrolRecords.volunteer(request.volunteerID, db) != nil else {
                throw RPCError(.notFound, "no volunteer \(request.volunteerID)")
            }
            var position = 0
            if request.append {
                position =
                    (try Int.fetchOne(
                        db,
                        sql: "SELECT MAX(position) + 1 FROM availability WHERE volunteer_id = ?",
                        arguments: [request.volunteerID]
                    )) ?? 0
            } else {
                try db.execute(sql: "DELETE FROM availability WHERE volunteer_id = ?", arguments: [request.volunteerID])
            }
            guard position + request.windows.count <= PatrolLimits.availabilityWindows else {
                throw RPCError(
                    .invalidArgument,
                    "windows: a volunteer has at most \(PatrolLimits.availabilityWindows) windows; replace them rather than append"
                )
            }
            for window in request.windows {
                try db.execute(
                    sql:
                        "INSERT INTO availability (volunteer_id, position, from_ms, to_ms, available) VALUES (?, ?, ?, ?, ?)",
                    arguments: [
                        request.volunteerID, position, window.range!.fromUnixMs, window.range!.toUnixMs,
                        window.available,
                    ]
                )
                position += 1
            }
            return position
        }
        return PatrolV1.SetAvailabilityResponse(windows: UInt32(count))
    }

    package func getAvailability(_ request: PatrolV1.GetAvailabilityRequest, context call: ServerContext) async throws
        -> PatrolV1.GetAvailabilityResponse
    {
        try PatrolChecks.identifier(request.volunteerID, "volunteer_id")
        let windows = try await context.database.pool.read { db in
            guard try PatrolRecords.volunteer(request.volunteerID, db) != nil else {
                throw RPCError(.notFound, "no volunteer \(request.volunteerID)")
            }
            return try Row.fetchAll(
                db,
                sql: "SELECT * FROM availability WHERE volunteer_id = ? ORDER BY position",
                arguments: [request.volunteerID]
            ).map { row in
                PatrolV1.AvailabilityWindow(
                    range: CommonV1.TimeRange(fromUnixMs: row["from_ms"], toUnixMs: row["to_ms"]),
                    available: row["available"]
                )
            }
        }
        return PatrolV1.GetAvailabilityResponse(windows: windows)
    }

    // MARK: - Helpers

    /// A list of records of `table` by id, paged.
    func listByID<Item: WireMessage>(
        table: String,
        tag: String,
        _ request: CommonV1.PageRequest?,
        _ call: ServerContext,
        as type: Item.Type
    ) async throws -> ([Item], CommonV1.PageResponse) {
        var pager = try ListPager(tag: tag, request: request, frameBytes: call.peerMaxFrameBytes, fields: 1)
        let (rows, total) = try await context.database.pool.read { [pager] db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT id, body FROM \(table) WHERE id > ? ORDER BY id LIMIT \(pager.fetchLimit)",
                arguments: [pager.after?[0] ?? ""]
            ).map { row in (cursor: [row["id"] as String], item: try PatrolRecords.decode(Item.self, row)) }
            return (rows, total)
        }
        return try pager.page(rows, total: total)
    }

    /// What is wrong with `volunteer`, each problem named by its field, including references to
    /// a team or areas the service does not have.
    static func problems(of volunteer: PatrolV1.Volunteer, _ db: Database) throws -> [FieldError] {
        let kind: String =
            switch volunteer.kind {
            case .veteran: "veteran"
            case .activist: "activist"
            case .other: "other"
            default: ""
            }
        var problems = VolunteerRules.check(
            VolunteerEntry(
                id: volunteer.id,
                name: volunteer.name,
                phone: volunteer.phone,
                kind: kind,
                skills: volunteer.skills,
                villageCode: volunteer.villageCode,
                teamID: volunteer.teamID,
                preferredAreaIDs: volunteer.preferredAreaIds,
                preferredShiftNames: volunteer.preferredShiftNames
            )
        )
        if !volunteer.teamID.isEmpty, !problems.contains(where: { $0.field == "team_id" }),
            try Row.fetchOne(db, sql: "SELECT 1 FROM teams WHERE id = ?", arguments: [volunteer.teamID]) == nil
        {
            problems.append(FieldError("team_id", "no team \(volunteer.teamID)"))
        }
        for area in volunteer.preferredAreaIds where VolunteerRules.identifierProblem(area) == nil {
            if try PatrolRecords.area(area, db) == nil {
                problems.append(FieldError("preferred_area_ids", "no area \(area)"))
            }
        }
        return problems
    }

    static func store(_ volunteer: PatrolV1.Volunteer, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO volunteers (id, village_code, team_id, active, body) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET village_code = excluded.village_code, team_id = excluded.team_id,
                    active = excluded.active, body = excluded.body
                """,
            arguments: [
                volunteer.id, volunteer.villageCode, volunteer.teamID, volunteer.active,
                try PatrolRecords.body(volunteer),
            ]
        )
    }

    /// `volunteer` as `caller` may see it: the phone masked without the personal-data grant.
    static func shown(_ volunteer: PatrolV1.Volunteer, to caller: Caller) -> PatrolV1.Volunteer {
        guard !caller.holds(grant: "personal_data") else { return volunteer }
        var masked = volunteer
        masked.phone = VolunteerRules.masked(phone: volunteer.phone)
        masked.masked = true
        return masked
    }

    static func check(_ template: PatrolV1.ShiftTemplate) throws(RPCError) {
        try PatrolChecks.identifier(template.id, "id")
        try PatrolChecks.name(template.name, "name")
        try PatrolChecks.identifier(template.areaID, "area_id")
        guard template.startMinute < 1440, template.endMinute < 1440 else {
            throw RPCError(.invalidArgument, "start_minute, end_minute: minutes after midnight, 0–1439")
        }
        let rules = PatrolRecords.rosterTemplate(template)
        guard rules.durationMinutes <= PatrolLimits.shiftMinutes else {
            throw RPCError(
                .invalidArgument,
                "end_minute: a shift is at most 16 hours, this one \(rules.durationMinutes / 60)"
            )
        }
        guard (1...UInt32(PatrolLimits.peopleNeeded)).contains(template.peopleNeeded) else {
            throw RPCError(
                .invalidArgument,
                "people_needed: 1–\(PatrolLimits.peopleNeeded), not \(template.peopleNeeded)"
            )
        }
        if template.night && template.peopleNeeded < 2 {
            throw RPCError(
                .invalidArgument,
                "people_needed: a night shift needs two or more (nobody patrols alone at night)"
            )
        }
        guard template.requiredSkills.count <= 8 else { throw RPCError(.invalidArgument, "required_skills: at most 8") }
        for skill in template.requiredSkills where !VolunteerRules.isSkill(skill) {
            throw RPCError(.invalidArgument, "required_skills: \"\(skill)\" is not a skill name (a–z, 0–9 and _)")
        }
        guard Set(template.weekdays).count == template.weekdays.count,
            template.weekdays.allSatisfy({ (1...7).contains($0) })
        else {
            throw RPCError(.invalidArgument, "weekdays: ISO weekdays 1 (Monday) to 7, each once")
        }
    }
}
