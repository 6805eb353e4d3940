import GRDB
import SanlianClock
import SanlianCompose
package import SanlianRPC
import SanlianWire
import ServiceFrame
package import StationContract
import StationRules

// Tasks (勤务任务): dispatched by the station, acknowledged, worked on and completed by their
// assignee; each step recorded with who took it (the authenticated caller) and when.
extension StationService: StationV1.TasksService {
    package func dispatch(_ request: StationV1.DispatchRequest, context call: ServerContext) async throws
        -> StationV1.Task
    {
        let caller = call.caller
        guard caller.department == "station" else {
            throw RPCError(.failedPrecondition, "only the station dispatches tasks, not \(caller.department)")
        }
        try StationRecords.requestID(request.requestID)
        try StationRecords.text(request.title, "title", limit: 200)
        try StationRecords.text(request.note, "note", limit: 500, required: false)
        try StationRecords.villageCode(request.villageCode, "village_code", required: false)
        var source = request.source ?? StationV1.TaskSource(kind: .other)
        switch source.kind {
        case .alert, .hazard, .dispute:
            guard (1...128).contains(source.ref.count) else {
                throw RPCError(
                    .invalidArgument,
                    "source.ref: 1–128 characters (the alert's fingerprint, the hazard's or the dispute's id)"
                )
            }
        case .other, .unspecified:
            source.kind = .other
            guard source.ref.count <= 128 else {
                throw RPCError(.invalidArgument, "source.ref: at most 128 characters")
            }
        case .unrecognized(let value):
            throw RPCError(.invalidArgument, "source.kind: \(value) is not alert, hazard, dispute or other")
        }
        return try await dispatchChecked(request, source: source, caller: caller)
    }

    private func dispatchChecked(_ request: StationV1.DispatchRequest, source: StationV1.TaskSource, caller: Caller)
        async throws -> StationV1.Task
    {
        let team = TaskRules.Team(rawValue: Int(request.team.rawValue))
        if request.team != .unspecified && team == nil {
            throw RPCError(.invalidArgument, "team: rural_traffic, rural_policing or patrol")
        }
        if team == nil {
            guard !request.department.isEmpty else {
                throw RPCError(.invalidArgument, "team: give a team or a department to dispatch to")
            }
            guard context.compose.departments[request.department] != nil else {
                throw RPCError(
                    .invalidArgument,
                    "department: \(request.department) is not a department of this township"
                )
            }
        } else if !request.department.isEmpty {
            throw RPCError(.invalidArgument, "department: a task goes to a team or a department, not both")
        }
        let now = context.clock.nowMilliseconds()
        guard request.dueUnixMs > now else { throw RPCError(.invalidArgument, "due_unix_ms: must be in the future") }
        let time = self.time
        let assignee = TaskRules.assignee(team: team, department: request.department)
        return try await context.database.pool.write { db in
            if let existing = try Row.fetchOne(
                db,
                sql: "SELECT body FROM tasks WHERE request_id = ?",
                arguments: [request.requestID]
            ) {
                return try StationRecords.decode(StationV1.Task.self, existing)
            }
            let id = try RecordNumbers.next(
                "T",
                table: "tasks",
                timeColumn: "dispatched_ms",
                now: now,
                time: time,
                db
            )
            let task = StationV1.Task(
                id: id,
                title: request.title,
                source: source,
                team: request.team,
                department: team == nil ? request.department : "",
                dueUnixMs: request.dueUnixMs,
                state: .dispatched,
                events: [
                    StationV1.TaskEvent(
                        state: .dispatched,
                        department: caller.department,
                        operatorID: caller.operatorID,
                        atUnixMs: now,
                        note: request.note
                    )
                ],
                dispatchedUnixMs: now,
                villageCode: request.villageCode,
                drill: request.drill
            )
            try db.execute(
                sql: """
                    INSERT INTO tasks (id, request_id, state, team, assignee, dispatched_ms, due_ms, drill, body)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    id, request.requestID, task.state.rawValue, task.team.rawValue, assignee, now, task.dueUnixMs,
                    task.drill, try StationRecords.body(task),
                ]
            )
            try context.outbox.enqueue(alert: StationAlerts.dispatched(task, assignee: assignee, now: now), in: db)
            return task
        }
    }

    package func acknowledge(_ request: StationV1.TaskActionRequest, context call: ServerContext) async throws
        -> StationV1.Task
    {
        try await act(.acknowledge, request, call.caller)
    }

    package func reportProgress(_ request: StationV1.TaskActionRequest, context call: ServerContext) async throws
        -> StationV1.Task
    {
        try StationRecords.text(request.note, "note", limit: 500)
        return try await act(.reportProgress, request, call.caller)
    }

    package func complete(_ request: StationV1.TaskActionRequest, context call: ServerContext) async throws
        -> StationV1.Task
    {
        try await act(.complete, request, call.caller)
    }

    private func act(_ action: TaskRules.Action, _ request: StationV1.TaskActionRequest, _ caller: Caller)
        async throws -> StationV1.Task
    {
        try StationRecords.text(request.note, "note", limit: 500, required: false)
        let now = context.clock.nowMilliseconds()
        return try await context.database.pool.write { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: "SELECT assignee, body FROM tasks WHERE id = ?",
                    arguments: [request.id]
                )
            else { throw RPCError(.notFound, "no task \(request.id)") }
            var task = try StationRecords.decode(StationV1.Task.self, row)
            let assignee: String = row["assignee"]
            guard TaskRules.mayAct(caller: caller.department, assignee: assignee) else {
                throw RPCError(
                    .permissionDenied,
                    "task \(task.id) is \(assignee)'s to act on (or the station's), not \(caller.department)'s"
                )
            }
            let state = TaskRules.State(rawValue: Int(task.state.rawValue)) ?? .dispatched
            let next: TaskRules.State
            do {
                next = try TaskRules.next(state, action)
            } catch {
                throw RPCError(.failedPrecondition, "task \(task.id): \(error)")
            }
            task.state = StationV1.TaskState(rawValue: Int32(next.rawValue))
            task.events.append(
                StationV1.TaskEvent(
                    state: task.state,
                    department: caller.department,
                    operatorID: caller.operatorID,
                    atUnixMs: now,
                    note: request.note
                )
            )
            if next == .completed {
                task.completedUnixMs = now
                task.overdue = TaskRules.isOverdue(due: task.dueUnixMs, completedAt: now, now: now)
            }
            try db.execute(
                sql: "UPDATE tasks SET state = ?, completed_ms = ?, body = ? WHERE id = ?",
                arguments: [
                    task.state.rawValue, next == .completed ? now : nil, try StationRecords.body(task), task.id,
                ]
            )
            if next == .completed, task.escalatedUnixMs != 0 {
                // Its overdue aggregate in the command room is resolved with it.
                try context.outbox.enqueue(alert: StationAlerts.completed(task, assignee: assignee, now: now), in: db)
            }
            return task
        }
    }

    package func get(_ request: StationV1.GetTaskRequest, context call: ServerContext) async throws -> StationV1.Task {
        let now = context.clock.nowMilliseconds()
        guard
            var task = try await context.database.pool.read({ db in
                try Row.fetchOne(db, sql: "SELECT body FROM tasks WHERE id = ?", arguments: [request.id]).map {
                    try StationRecords.decode(StationV1.Task.self, $0)
                }
            })
        else { throw RPCError(.notFound, "no task \(request.id)") }
        task.overdue = Self.overdue(task, now: now)
        return task
    }

    package func list(_ request: StationV1.ListTasksRequest, context call: ServerContext) async throws
        -> StationV1.ListTasksResponse
    {
        var pager = try ListPager(tag: "tk1", request: request.page, frameBytes: call.peerMaxFrameBytes, fields: 2)
        let now = context.clock.nowMilliseconds()
        var conditions = ["1"]
        var arguments: [DatabaseValue] = []
        if request.openOnly || request.overdueOnly { conditions.append("completed_ms IS NULL") }
        if request.overdueOnly {
            conditions.append("due_ms < ?")
            arguments.append(now.databaseValue)
        }
        if request.team != .unspecified {
            conditions.append("team = ?")
            arguments.append(Int(request.team.rawValue).databaseValue)
        }
        if !request.department.isEmpty {
            conditions.append("assignee = ?")
            arguments.append(request.department.databaseValue)
        }
        if let range = request.dispatched {
            conditions.append("dispatched_ms >= ? AND dispatched_ms < ?")
            arguments += [
                range.fromUnixMs.databaseValue, (range.toUnixMs == 0 ? Int64.max : range.toUnixMs).databaseValue,
            ]
        }
        let filter = conditions.joined(separator: " AND ")
        let filterArguments = arguments
        let (rows, total) = try await context.database.pool.read { [pager] db in
            let total =
                try Int.fetchOne(
                    db,
                    sql: "SELECT COUNT(*) FROM tasks WHERE \(filter)",
                    arguments: StatementArguments(filterArguments)
                )
                ?? 0
            var sql = "SELECT id, dispatched_ms, body FROM tasks WHERE \(filter)"
            var arguments = filterArguments
            // Newest first.
            if let after = pager.after, let time = Int64(after[0]) {
                sql += " AND (dispatched_ms < ? OR (dispatched_ms = ? AND id < ?))"
                arguments += [time.databaseValue, time.databaseValue, after[1].databaseValue]
            }
            sql += " ORDER BY dispatched_ms DESC, id DESC LIMIT \(pager.fetchLimit)"
            let rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { row in
                var task = try StationRecords.decode(StationV1.Task.self, row)
                task.overdue = Self.overdue(task, now: now)
                return (cursor: [String(row["dispatched_ms"] as Int64), row["id"] as String], item: task)
            }
            return (rows, total)
        }
        let (tasks, page) = try pager.page(rows, total: total)
        return StationV1.ListTasksResponse(tasks: tasks, page: page)
    }

    static func overdue(_ task: StationV1.Task, now: Int64) -> Bool {
        TaskRules.isOverdue(
            due: task.dueUnixMs,
            completedAt: task.completedUnixMs == 0 ? nil : task.completedUnixMs,
            now: now
        )
    }
}
