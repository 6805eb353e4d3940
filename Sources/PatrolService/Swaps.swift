import GRDB
package import PatrolContract
import PatrolRules
import SanlianClock
package import SanlianRPC
import SanlianWire
import ServiceFrame

// Swap requests: asked, accepted or declined by the other volunteer, approved or rejected by a
// coordinator; the roster changes only when approved, and only within the hard rules.
extension PatrolService {
    package func requestSwap(_ request: PatrolV1.SwapRequest, context call: ServerContext) async throws -> PatrolV1.Swap
    {
        try PatrolChecks.identifier(request.assignmentID, "assignment_id")
        try PatrolChecks.identifier(request.toVolunteerID, "to_volunteer_id")
        if !request.inReturnAssignmentID.isEmpty {
            try PatrolChecks.identifier(request.inReturnAssignmentID, "in_return_assignment_id")
        }
        guard request.reason.count <= 200 else { throw RPCError(.invalidArgument, "reason: at most 200 characters") }
        let now = context.clock.nowMilliseconds()
        return try await context.database.pool.write { db in
            let (given, taken) = try swapParts(
                assignmentID: request.assignmentID,
                toVolunteerID: request.toVolunteerID,
                inReturnID: request.inReturnAssignmentID,
                now: now,
                db
            )
            try checkSwap(given: given, to: request.toVolunteerID, taken: taken, db)
            let swap = PatrolV1.Swap(
                id: PatrolRecords.newID("sw-"),
                assignmentID: given.id,
                fromVolunteerID: given.volunteerID,
                toVolunteerID: request.toVolunteerID,
                inReturnAssignmentID: request.inReturnAssignmentID,
                state: .requested,
                reason: request.reason,
                requestedUnixMs: now
            )
            try Self.save(swap, db)
            return swap
        }
    }

    package func decideSwap(_ request: PatrolV1.DecideSwapRequest, context call: ServerContext) async throws
        -> PatrolV1.Swap
    {
        try PatrolChecks.identifier(request.swapID, "swap_id")
        let caller = call.caller
        let now = context.clock.nowMilliseconds()
        return try await context.database.pool.write { db in
            guard
                let row = try Row.fetchOne(db, sql: "SELECT body FROM swaps WHERE id = ?", arguments: [request.swapID])
            else {
                throw RPCError(.notFound, "no swap \(request.swapID)")
            }
            var swap = try PatrolRecords.decode(PatrolV1.Swap.self, row)
            switch (swap.state, request.decision) {
            case (.requested, .accept): swap.state = .accepted
            case (.requested, .decline): swap.state = .declined
            case (.accepted, .approve):
                guard
                    caller.operatorID.isEmpty || caller.has(role: "patrol_coordinator")
                        || caller.has(role: "station_leader")
                else {
                    throw RPCError(
                        .permissionDenied,
                        "approving a swap needs the patrol_coordinator or station_leader role"
                    )
                }
                let (given, taken) = try swapParts(
                    assignmentID: swap.assignmentID,
                    toVolunteerID: swap.toVolunteerID,
                    inReturnID: swap.inReturnAssignmentID,
                    now: now,
                    db
                )
                try checkSwap(given: given, to: swap.toVolunteerID, taken: taken, db)
                try hand(given, to: swap.toVolunteerID, now: now, db)
                if let taken { try hand(taken, to: swap.fromVolunteerID, now: now, db) }
                swap.state = .approved
            case (.accepted, .reject): swap.state = .rejected
            case (_, .unspecified), (_, .unrecognized):
                throw RPCError(.invalidArgument, "decision: must be accept, decline, approve or reject")
            default:
                throw RPCError(
                    .failedPrecondition,
                    "swap \(swap.id) is \(swap.state.shortName): \(swap.state == .requested ? "the other volunteer accepts or declines it first" : "it cannot be \(request.decision.shortName)d now")"
                )
            }
            swap.decidedUnixMs = now
            swap.decidedBy = caller.description
            try Self.save(swap, db)
            return swap
        }
    }

    package func listSwaps(_ request: PatrolV1.ListSwapsRequest, context call: ServerContext) async throws
        -> PatrolV1.ListSwapsResponse
    {
        var pager = try ListPager(tag: "swap1", request: request.page, frameBytes: call.peerMaxFrameBytes, fields: 2)
        let states =
            request.states.isEmpty
            ? "1" : "state IN (\(request.states.map { String($0.rawValue) }.joined(separator: ",")))"
        let (rows, total) = try await context.database.pool.read { [pager] db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM swaps WHERE \(states)") ?? 0
            var sql = "SELECT id, requested_ms, body FROM swaps WHERE \(states)"
            var arguments: [DatabaseValue] = []
            if let after = pager.after, let time = Int64(after[0]) {
                sql += " AND (requested_ms > ? OR (requested_ms = ? AND id > ?))"
                arguments = [time.databaseValue, time.databaseValue, after[1].databaseValue]
            }
            sql += " ORDER BY requested_ms, id LIMIT \(pager.fetchLimit)"
            let rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { row in
                (
                    cursor: [String(row["requested_ms"] as Int64), row["id"] as String],
                    item: try PatrolRecords.decode(PatrolV1.Swap.self, row)
                )
            }
            return (rows, total)
        }
        let (swaps, page) = try pager.page(rows, total: total)
        return PatrolV1.ListSwapsResponse(swaps: swaps, page: page)
    }

    /// The assignment given away and the one taken in return (if any), both standing and in the
    /// future.
    private func swapParts(
        assignmentID: String,
        toVolunteerID: String,
        inReturnID: String,
        now: Int64,
        _ db: Database
    ) throws -> (given: PatrolV1.Assignment, taken: PatrolV1.Assignment?) {
        guard let given = try PatrolRecords.assignment(assignmentID, db) else {
            throw RPCError(.notFound, "no assignment \(assignmentID)")
        }
        guard given.state == .assigned || given.state == .confirmed, given.startsUnixMs > now else {
            throw RPCError(
                .failedPrecondition,
                "assignment \(given.id) is \(given.state.shortName) or past: it cannot be swapped"
            )
        }
        guard let volunteer = try PatrolRecords.volunteer(toVolunteerID, db) else {
            throw RPCError(.notFound, "no volunteer \(toVolunteerID)")
        }
        guard volunteer.active else { throw RPCError(.failedPrecondition, "volunteer \(toVolunteerID) is not active") }
        guard toVolunteerID != given.volunteerID else {
            throw RPCError(.invalidArgument, "to_volunteer_id: the assignment is already \(toVolunteerID)'s")
        }
        guard !inReturnID.isEmpty else { return (given, nil) }
        guard let taken = try PatrolRecords.assignment(inReturnID, db) else {
            throw RPCError(.notFound, "no assignment \(inReturnID)")
        }
        guard taken.volunteerID == toVolunteerID else {
            throw RPCError(.invalidArgument, "in_return_assignment_id: \(inReturnID) is not \(toVolunteerID)'s")
        }
        guard taken.state == .assigned || taken.state == .confirmed, taken.startsUnixMs > now else {
            throw RPCError(
                .failedPrecondition,
                "assignment \(taken.id) is \(taken.state.shortName) or past: it cannot be swapped"
            )
        }
        return (given, taken)
    }

    /// Refuses a swap the hard rules forbid, for both volunteers and both shifts.
    private func checkSwap(
        given: PatrolV1.Assignment,
        to volunteerID: String,
        taken: PatrolV1.Assignment?,
        _ db: Database
    ) throws {
        func key(_ assignment: PatrolV1.Assignment, _ volunteer: String) -> RosterAssignment {
            RosterAssignment(
                shift: ShiftKey(templateID: assignment.shiftTemplateID, day: LocalDay(assignment.day)!),
                volunteerID: volunteer
            )
        }
        var adding = [key(given, volunteerID)]
        var removing = [key(given, given.volunteerID)]
        if let taken {
            adding.append(key(taken, given.volunteerID))
            removing.append(key(taken, volunteerID))
        }
        guard let template = try PatrolRecords.template(given.shiftTemplateID, db) else {
            throw RPCError(.failedPrecondition, "assignment \(given.id)'s shift template is gone")
        }
        let shift = PatrolRecords.rosterTemplate(template).shift(on: LocalDay(given.day)!, time: settings.time)
        try checkVolunteerRules(adding: adding, removing: removing, around: shift, checkShiftRules: true, db)
    }

    /// Gives `assignment` to `volunteerID`: the old one is kept as swapped, a new one made.
    private func hand(_ assignment: PatrolV1.Assignment, to volunteerID: String, now: Int64, _ db: Database) throws {
        try db.execute(
            sql: "UPDATE assignments SET state = ?, updated_ms = ? WHERE id = ?",
            arguments: [PatrolV1.AssignmentState.swapped.rawValue, now, assignment.id]
        )
        var handed = assignment
        handed.id = PatrolRecords.newID("as-")
        handed.volunteerID = volunteerID
        handed.state = .assigned
        try PatrolRecords.insert(handed, now: now, db)
    }

    static func save(_ swap: PatrolV1.Swap, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO swaps (id, requested_ms, state, body) VALUES (?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET state = excluded.state, body = excluded.body
                """,
            arguments: [swap.id, swap.requestedUnixMs, swap.state.rawValue, try PatrolRecords.body(swap)]
        )
    }
}
