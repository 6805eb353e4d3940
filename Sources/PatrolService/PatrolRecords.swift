import Foundation
import GRDB
import PatrolContract
import PatrolRules
import SanlianClock
import SanlianRPC
import SanlianWire
import ServiceFrame

/// Reading and writing the service's records: each table keeps its record as the contract's
/// encoded message, with the columns lists filter and sort on beside it.
enum PatrolRecords: ServiceRecords {
    static func volunteer(_ id: String, _ db: Database) throws -> PatrolV1.Volunteer? {
        try Row.fetchOne(db, sql: "SELECT body FROM volunteers WHERE id = ?", arguments: [id])
            .map { try decode(PatrolV1.Volunteer.self, $0) }
    }

    static func area(_ id: String, _ db: Database) throws -> PatrolV1.PatrolArea? {
        try Row.fetchOne(db, sql: "SELECT body FROM areas WHERE id = ?", arguments: [id])
            .map { try decode(PatrolV1.PatrolArea.self, $0) }
    }

    static func template(_ id: String, _ db: Database) throws -> PatrolV1.ShiftTemplate? {
        try Row.fetchOne(db, sql: "SELECT body FROM shift_templates WHERE id = ?", arguments: [id])
            .map { try decode(PatrolV1.ShiftTemplate.self, $0) }
    }

    static func assignment(_ id: String, _ db: Database) throws -> PatrolV1.Assignment? {
        try Row.fetchOne(db, sql: "SELECT * FROM assignments WHERE id = ?", arguments: [id]).map(assignment(from:))
    }

    static func assignment(from row: Row) -> PatrolV1.Assignment {
        PatrolV1.Assignment(
            id: row["id"],
            shiftTemplateID: row["template_id"],
            day: row["day"],
            volunteerID: row["volunteer_id"],
            state: PatrolV1.AssignmentState(rawValue: row["state"]),
            locked: row["locked"],
            startsUnixMs: row["starts_ms"],
            endsUnixMs: row["ends_ms"],
            areaID: row["area_id"],
            shiftName: row["shift_name"]
        )
    }

    static func insert(_ assignment: PatrolV1.Assignment, now: Int64, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO assignments (id, template_id, day, volunteer_id, state, locked, starts_ms, ends_ms,
                    area_id, shift_name, updated_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                assignment.id, assignment.shiftTemplateID, assignment.day, assignment.volunteerID,
                assignment.state.rawValue, assignment.locked, assignment.startsUnixMs, assignment.endsUnixMs,
                assignment.areaID, assignment.shiftName, now,
            ]
        )
    }

    /// The volunteer as the roster rules see them, with their availability.
    static func rosterVolunteer(_ volunteer: PatrolV1.Volunteer, windows: [PatrolV1.AvailabilityWindow])
        -> RosterVolunteer
    {
        RosterVolunteer(
            id: volunteer.id,
            isVeteran: volunteer.kind == .veteran,
            skills: Set(volunteer.skills),
            active: volunteer.active,
            preferredAreaIDs: Set(volunteer.preferredAreaIds),
            preferredShiftNames: Set(volunteer.preferredShiftNames),
            available: windows.filter(\.available).map {
                TimeWindow(from: $0.range?.fromUnixMs ?? 0, to: $0.range?.toUnixMs ?? 0)
            },
            timeOff: windows.filter { !$0.available }.map {
                TimeWindow(from: $0.range?.fromUnixMs ?? 0, to: $0.range?.toUnixMs ?? 0)
            }
        )
    }

    static func rosterTemplate(_ template: PatrolV1.ShiftTemplate) -> RosterShiftTemplate {
        RosterShiftTemplate(
            id: template.id,
            name: template.name,
            areaID: template.areaID,
            startMinute: Int(template.startMinute),
            endMinute: Int(template.endMinute),
            peopleNeeded: Int(template.peopleNeeded),
            night: template.night,
            requiredSkills: template.requiredSkills,
            weekdays: Set(template.weekdays.map(Int.init))
        )
    }

    /// Every volunteer as the roster rules see them.
    static func rosterVolunteers(_ db: Database) throws -> [RosterVolunteer] {
        var windows: [String: [PatrolV1.AvailabilityWindow]] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT * FROM availability ORDER BY volunteer_id, position") {
            windows[row["volunteer_id"], default: []].append(
                PatrolV1.AvailabilityWindow(
                    range: CommonV1.TimeRange(fromUnixMs: row["from_ms"], toUnixMs: row["to_ms"]),
                    available: row["available"]
                )
            )
        }
        return try Row.fetchAll(db, sql: "SELECT body FROM volunteers ORDER BY id").map { row in
            let volunteer = try decode(PatrolV1.Volunteer.self, row)
            return rosterVolunteer(volunteer, windows: windows[volunteer.id] ?? [])
        }
    }

    static func templates(_ db: Database) throws -> [PatrolV1.ShiftTemplate] {
        try Row.fetchAll(db, sql: "SELECT body FROM shift_templates ORDER BY id").map {
            try decode(PatrolV1.ShiftTemplate.self, $0)
        }
    }

    /// Standing assignments (neither swapped away nor cancelled) whose shifts start in
    /// [from, to).
    static func standingAssignments(from: Int64, to: Int64, _ db: Database) throws -> [PatrolV1.Assignment] {
        try Row.fetchAll(
            db,
            sql:
                "SELECT * FROM assignments WHERE starts_ms >= ? AND starts_ms < ? AND state NOT IN (3, 6) ORDER BY starts_ms, id",
            arguments: [from, to]
        ).map(assignment(from:))
    }
}

extension PatrolV1.AssignmentState {
    /// Still on the roster: not given away by a swap, not cancelled.
    var isStanding: Bool { self != .swapped && self != .cancelled }
}

/// Checks the patrol contract's messages share.
enum PatrolChecks: ServiceRecords {
    static func identifier(_ value: String, _ field: String) throws(RPCError) {
        if let problem = VolunteerRules.identifierProblem(value) {
            throw RPCError(.invalidArgument, "\(field): \(problem)")
        }
    }

    static func name(_ value: String, _ field: String, limit: Int = PatrolLimits.nameCharacters) throws(RPCError) {
        if let problem = VolunteerRules.nameProblem(value, limit: limit) {
            throw RPCError(.invalidArgument, "\(field): \(problem)")
        }
    }

    static func day(_ text: String, _ field: String) throws(RPCError) -> LocalDay {
        guard let day = LocalDay(text) else {
            throw RPCError(.invalidArgument, "\(field): \"\(text)\" is not a date like 2026-12-07")
        }
        return day
    }

    static func place(_ place: CommonV1.Place?, _ field: String) throws(RPCError) {
        guard let place else { return }
        try villageCode(place.villageCode, "\(field).village_code", required: false)
        if place.villageGroup.count > 64 {
            throw RPCError(.invalidArgument, "\(field).village_group: at most 64 characters")
        }
        if place.description.count > 200 {
            throw RPCError(.invalidArgument, "\(field).description: at most 200 characters")
        }
    }

}
