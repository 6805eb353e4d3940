import GRDB
import SanlianClock
import SanlianCompose
package import SanlianRPC
import SanlianWire
import ServiceFrame
package import StationContract

// The incident log: cases (案件), recorded and cleared by the station; traffic accidents,
// recorded by the station or the traffic office.
extension StationService: StationV1.IncidentsService {
    package func recordCase(_ request: StationV1.CaseRecord, context call: ServerContext) async throws
        -> StationV1.CaseRecord
    {
        let caller = call.caller
        guard caller.department == "station" else {
            throw RPCError(.failedPrecondition, "cases are the station's to record, not \(caller.department)'s")
        }
        try StationRecords.requestID(request.requestID)
        switch request.kind {
        case .unspecified:
            throw RPCError(.invalidArgument, "kind: theft, fraud, assault, robbery, public_order or other")
        case .unrecognized(let value):
            throw RPCError(.invalidArgument, "kind: \(value) is not a kind of case")
        default:
            return try await storeCase(request, caller: caller)
        }
    }

    private func storeCase(_ request: StationV1.CaseRecord, caller: Caller) async throws -> StationV1.CaseRecord {
        let now = context.clock.nowMilliseconds()
        let today = time.day(of: now)
        let date = try StationRecords.date(request.date, "date", today: today)
        try StationRecords.villageCode(request.villageCode, "village_code", required: true)
        try StationRecords.text(request.summary, "summary", limit: 500, required: false)
        var record = request
        if record.cleared {
            let cleared = try StationRecords.date(
                record.clearedDate.isEmpty ? today.description : record.clearedDate,
                "cleared_date",
                today: today
            )
            guard cleared >= date else { throw RPCError(.invalidArgument, "cleared_date: before the case's date") }
            record.clearedDate = cleared.description
        } else {
            record.clearedDate = ""
        }
        record.recordedBy = caller.operatorID.isEmpty ? caller.department : caller.operatorID
        return try await recordOnce(record, requestID: request.requestID, table: "cases", prefix: "C") { record, id in
            record.id = id
        } insert: { record, now in
            (
                "INSERT INTO cases (id, request_id, date, cleared_date, recorded_ms, drill, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    record.id, record.requestID, record.date, record.cleared ? record.clearedDate : nil, now,
                    record.drill, try StationRecords.body(record),
                ]
            )
        }
    }

    package func clearCase(_ request: StationV1.ClearCaseRequest, context call: ServerContext) async throws
        -> StationV1.CaseRecord
    {
        guard call.caller.department == "station" else {
            throw RPCError(.failedPrecondition, "cases are the station's to clear, not \(call.caller.department)'s")
        }
        let today = time.day(of: context.clock.nowMilliseconds())
        let cleared = try StationRecords.date(
            request.date.isEmpty ? today.description : request.date,
            "date",
            today: today
        )
        return try await context.database.pool.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT body FROM cases WHERE id = ?", arguments: [request.id])
            else { throw RPCError(.notFound, "no case \(request.id)") }
            var record = try StationRecords.decode(StationV1.CaseRecord.self, row)
            guard !record.cleared else {
                throw RPCError(.failedPrecondition, "case \(record.id) was cleared on \(record.clearedDate)")
            }
            guard cleared.description >= record.date else {
                throw RPCError(.invalidArgument, "date: \(cleared) is before the case's date, \(record.date)")
            }
            record.cleared = true
            record.clearedDate = cleared.description
            try db.execute(
                sql: "UPDATE cases SET cleared_date = ?, body = ? WHERE id = ?",
                arguments: [record.clearedDate, try StationRecords.body(record), record.id]
            )
            return record
        }
    }

    package func listCases(_ request: StationV1.ListIncidentsRequest, context call: ServerContext) async throws
        -> StationV1.ListCasesResponse
    {
        let (items, page) = try await listByDate(
            StationV1.CaseRecord.self,
            table: "cases",
            tag: "cs1",
            request,
            frameBytes: call.peerMaxFrameBytes
        )
        return StationV1.ListCasesResponse(cases: items, page: page)
    }

    package func recordAccident(_ request: StationV1.AccidentRecord, context call: ServerContext) async throws
        -> StationV1.AccidentRecord
    {
        let caller = call.caller
        guard caller.department == "station" || caller.department == "traffic" else {
            throw RPCError(
                .failedPrecondition,
                "traffic accidents are recorded by the station or the traffic office, not \(caller.department)"
            )
        }
        try StationRecords.requestID(request.requestID)
        let now = context.clock.nowMilliseconds()
        _ = try StationRecords.date(request.date, "date", today: time.day(of: now))
        try StationRecords.text(request.road, "road", limit: 64)
        try StationRecords.villageCode(request.villageCode, "village_code", required: false)
        try StationRecords.text(request.summary, "summary", limit: 500, required: false)
        guard request.deaths <= 1000, request.injuries <= 1000 else {
            throw RPCError(.invalidArgument, "deaths, injuries: at most 1000")
        }
        var record = request
        record.recordedBy = caller.department
        return try await recordOnce(record, requestID: request.requestID, table: "accidents", prefix: "A") {
            record,
            id in
            record.id = id
        } insert: { record, now in
            (
                "INSERT INTO accidents (id, request_id, date, recorded_ms, drill, body) VALUES (?, ?, ?, ?, ?, ?)",
                [record.id, record.requestID, record.date, now, record.drill, try StationRecords.body(record)]
            )
        }
    }

    /// Stores a new record of `table` once per `requestID` (a repeated request is answered with
    /// the record stored the first time), numbered by the day.
    private func recordOnce<Record: WireMessage>(
        _ record: Record,
        requestID: String,
        table: String,
        prefix: String,
        numbered: @escaping @Sendable (inout Record, String) -> Void,
        insert: @escaping @Sendable (Record, Int64) throws -> (sql: String, arguments: StatementArguments)
    ) async throws -> Record {
        let now = context.clock.nowMilliseconds()
        let time = self.time
        return try await context.database.pool.write { db in
            if let existing = try Row.fetchOne(
                db,
                sql: "SELECT body FROM \(table) WHERE request_id = ?",
                arguments: [requestID]
            ) {
                return try StationRecords.decode(Record.self, existing)
            }
            var stored = record
            numbered(
                &stored,
                try RecordNumbers.next(prefix, table: table, timeColumn: "recorded_ms", now: now, time: time, db)
            )
            let (sql, arguments) = try insert(stored, now)
            try db.execute(sql: sql, arguments: arguments)
            return stored
        }
    }

    package func listAccidents(_ request: StationV1.ListIncidentsRequest, context call: ServerContext) async throws
        -> StationV1.ListAccidentsResponse
    {
        let (items, page) = try await listByDate(
            StationV1.AccidentRecord.self,
            table: "accidents",
            tag: "ac1",
            request,
            frameBytes: call.peerMaxFrameBytes
        )
        return StationV1.ListAccidentsResponse(accidents: items, page: page)
    }

    /// A page of `table`'s records, newest date first, of the month asked for (or all).
    private func listByDate<Record: WireMessage>(
        _ type: Record.Type,
        table: String,
        tag: String,
        _ request: StationV1.ListIncidentsRequest,
        frameBytes: Int
    ) async throws -> (items: [Record], page: CommonV1.PageResponse) {
        var pager = try ListPager(tag: tag, request: request.page, frameBytes: frameBytes, fields: 2)
        var filter = "1"
        var filterArguments: [DatabaseValue] = []
        if let month = request.month {
            let (first, next) = try StationRecords.days(of: month)
            filter = "date >= ? AND date < ?"
            filterArguments = [first.description.databaseValue, next.description.databaseValue]
        }
        let (rows, total) = try await context.database.pool.read { [pager, filter, filterArguments] db in
            let total =
                try Int.fetchOne(
                    db,
                    sql: "SELECT COUNT(*) FROM \(table) WHERE \(filter)",
                    arguments: StatementArguments(filterArguments)
                ) ?? 0
            var sql = "SELECT id, date, body FROM \(table) WHERE \(filter)"
            var arguments = filterArguments
            if let after = pager.after {
                sql += " AND (date < ? OR (date = ? AND id < ?))"
                arguments += [after[0].databaseValue, after[0].databaseValue, after[1].databaseValue]
            }
            sql += " ORDER BY date DESC, id DESC LIMIT \(pager.fetchLimit)"
            let rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { row in
                (
                    cursor: [row["date"] as String, row["id"] as String],
                    item: try StationRecords.decode(Record.self, row)
                )
            }
            return (rows, total)
        }
        return try pager.page(rows, total: total)
    }
}
