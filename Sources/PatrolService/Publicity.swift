import GRDB
package import PatrolContract
import PatrolRules
import SanlianClock
package import SanlianRPC
import SanlianWire
import ServiceFrame

// Safety-publicity sessions and the month's volunteer hours.
extension PatrolService: PatrolV1.PublicityService {
    package func recordSession(_ request: PatrolV1.PublicitySession, context call: ServerContext) async throws
        -> PatrolV1.PublicitySession
    {
        var session = request
        if session.id.isEmpty { session.id = PatrolRecords.newID("ps-") }
        try PatrolChecks.identifier(session.id, "id")
        try PatrolChecks.place(session.place, "place")
        try PatrolChecks.name(session.topic, "topic", limit: 200)
        guard session.audience.count <= 64 else { throw RPCError(.invalidArgument, "audience: at most 64 characters") }
        guard session.heldUnixMs > 0 else { throw RPCError(.invalidArgument, "held_unix_ms: must be given") }
        guard (1...1440).contains(session.durationMinutes) else {
            throw RPCError(.invalidArgument, "duration_minutes: 1–1440, not \(session.durationMinutes)")
        }
        guard session.volunteerIds.count <= 50 else { throw RPCError(.invalidArgument, "volunteer_ids: at most 50") }
        let stored = session
        try await context.database.pool.write { db in
            for volunteer in stored.volunteerIds where try PatrolRecords.volunteer(volunteer, db) == nil {
                throw RPCError(.invalidArgument, "volunteer_ids: no volunteer \(volunteer)")
            }
            try db.execute(
                sql: """
                    INSERT INTO sessions (id, held_ms, body) VALUES (?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET held_ms = excluded.held_ms, body = excluded.body
                    """,
                arguments: [stored.id, stored.heldUnixMs, try PatrolRecords.body(stored)]
            )
        }
        return session
    }

    package func listSessions(_ request: PatrolV1.ListSessionsRequest, context call: ServerContext) async throws
        -> PatrolV1.ListSessionsResponse
    {
        let (sessions, page) = try await listByTime(
            table: "sessions",
            timeColumn: "held_ms",
            tag: "ses1",
            range: request.range,
            request.page,
            call,
            as: PatrolV1.PublicitySession.self
        )
        return PatrolV1.ListSessionsResponse(sessions: sessions, page: page)
    }

    package func hoursSummary(_ request: PatrolV1.HoursSummaryRequest, context call: ServerContext) async throws
        -> PatrolV1.HoursSummaryResponse
    {
        guard let month = request.month, (1...12).contains(month.month), (1970...9999).contains(month.year),
            let first = LocalDay(year: Int(month.year), month: Int(month.month), day: 1)
        else {
            throw RPCError(.invalidArgument, "month: a year and a month 1–12 must be given")
        }
        var pager = try ListPager(tag: "hrs1", request: request.page, frameBytes: call.peerMaxFrameBytes, fields: 1)
        let next =
            month.month == 12
            ? LocalDay(year: Int(month.year) + 1, month: 1, day: 1)!
            : LocalDay(year: Int(month.year), month: Int(month.month) + 1, day: 1)!
        let from = settings.time.unixMilliseconds(first, minute: 0)
        let to = settings.time.unixMilliseconds(next, minute: 0)
        let volunteerFilter = request.volunteerID
        let teamFilter = request.teamID
        let (rows, total, teams, summary) = try await context.database.pool.read { [pager] db in
            var patrols: [PatrolRecord] = []
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT a.volunteer_id, a.state, a.ends_ms, p.started_ms, p.closed_ms, p.misses
                    FROM assignments a LEFT JOIN patrols p ON p.assignment_id = a.id
                    WHERE a.starts_ms >= ? AND a.starts_ms < ? AND a.state NOT IN (3, 6)
                    """,
                arguments: [from, to]
            ) {
                let state = PatrolV1.AssignmentState(rawValue: row["state"])
                let started: Int64? = row["started_ms"]
                let ended: Int64? = row["closed_ms"]
                let minutes = started.map { Int(max(0, (ended ?? min(row["ends_ms"], Int64.max)) - $0) / 60_000) } ?? 0
                patrols.append(
                    PatrolRecord(
                        volunteerID: row["volunteer_id"],
                        outcome: state == .completed ? .completed : state == .noShow ? .noShow : .open,
                        patrolMinutes: ended == nil ? 0 : minutes,
                        missedCheckIns: row["misses"] ?? 0
                    )
                )
            }
            let sessions = try Row.fetchAll(
                db,
                sql: "SELECT body FROM sessions WHERE held_ms >= ? AND held_ms < ?",
                arguments: [from, to]
            ).map { try PatrolRecords.decode(PatrolV1.PublicitySession.self, $0) }
            let totals = PatrolHours.perVolunteer(
                patrols: patrols,
                sessions: sessions.map { (Int($0.durationMinutes), $0.volunteerIds) }
            )
            let volunteers = try Row.fetchAll(db, sql: "SELECT body FROM volunteers ORDER BY id").map {
                try PatrolRecords.decode(PatrolV1.Volunteer.self, $0)
            }
            let teamNames = Dictionary(
                try Row.fetchAll(db, sql: "SELECT id, body FROM teams").map { row in
                    (row["id"] as String, try PatrolRecords.decode(PatrolV1.Team.self, row).name)
                },
                uniquingKeysWith: { first, _ in first }
            )
            var teams: [String: (volunteers: Int, total: HoursTotal)] = [:]
            var listed: [(cursor: [String], item: PatrolV1.VolunteerHours)] = []
            var count = 0
            for volunteer in volunteers {
                let total = totals[volunteer.id] ?? HoursTotal()
                teams[volunteer.teamID, default: (0, HoursTotal())].volunteers += 1
                teams[volunteer.teamID, default: (0, HoursTotal())].total = teams[volunteer.teamID]!.total + total
                guard volunteerFilter.isEmpty || volunteer.id == volunteerFilter,
                    teamFilter.isEmpty || volunteer.teamID == teamFilter
                else { continue }
                count += 1
                if let after = pager.after?[0], volunteer.id <= after { continue }
                if listed.count < pager.fetchLimit {
                    listed.append(
                        (
                            [volunteer.id],
                            PatrolV1.VolunteerHours(
                                volunteerID: volunteer.id,
                                name: volunteer.name,
                                patrolMinutes: UInt32(total.patrolMinutes),
                                publicityMinutes: UInt32(total.publicityMinutes),
                                shiftsCompleted: UInt32(total.shiftsCompleted),
                                noShows: UInt32(total.noShows),
                                teamID: volunteer.teamID,
                                missedCheckIns: UInt32(total.missedCheckIns)
                            )
                        )
                    )
                }
            }
            let teamRows = teams.keys.sorted().map { id in
                let entry = teams[id]!
                return PatrolV1.TeamHours(
                    teamID: id,
                    name: teamNames[id] ?? "",
                    volunteers: UInt32(entry.volunteers),
                    patrolMinutes: UInt32(entry.total.patrolMinutes),
                    publicityMinutes: UInt32(entry.total.publicityMinutes),
                    shiftsCompleted: UInt32(entry.total.shiftsCompleted),
                    noShows: UInt32(entry.total.noShows)
                )
            }
            let everyone = totals.values.reduce(HoursTotal(), +)
            let summary = PatrolV1.HoursSummaryResponse(
                sessions: UInt32(sessions.count),
                attendees: UInt32(sessions.reduce(0) { $0 + Int($1.attendees) }),
                patrolMinutes: UInt32(everyone.patrolMinutes),
                publicityMinutes: UInt32(everyone.publicityMinutes)
            )
            return (listed, count, teamRows, summary)
        }
        var response = summary
        (response.volunteers, response.page) = try pager.page(rows, total: total)
        response.teams = teams
        return response
    }
}
