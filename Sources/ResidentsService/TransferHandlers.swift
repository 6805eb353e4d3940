import Foundation
import GRDB
import IdentityNumbers
package import ResidentsContract
import ResidentsRules
import SanlianClock
package import SanlianRPC
import SanlianWire
import ServiceFrame

// 迁户口: requested → documents complete → approved → done, or rejected; the person's record
// locked while a transfer is pending, the lock naming it.
extension ResidentsService: ResidentsV1.TransfersService {
    static func kindName(_ kind: ResidentsV1.TransferKind) -> String? {
        switch kind {
        case .moveIn: "move_in"
        case .moveOut: "move_out"
        case .birth: "birth"
        case .marriage: "marriage"
        case .study: "study"
        default: nil
        }
    }

    package func requestTransfer(_ request: ResidentsV1.TransferRequest, context call: ServerContext) async throws
        -> ResidentsV1.Transfer
    {
        guard let kind = Self.kindName(request.kind), let checklist = settings.checklists[kind] else {
            throw RPCError(.invalidArgument, "kind: must be move_in, move_out, birth, marriage or study")
        }
        for (field, value) in [("from_address", request.fromAddress), ("to_address", request.toAddress)]
        where value.count > 200 {
            throw RPCError(.invalidArgument, "\(field): at most 200 characters")
        }
        guard !request.toAddress.isEmpty else { throw RPCError(.invalidArgument, "to_address: must be given") }
        let caller = call.caller
        let now = context.clock.nowMilliseconds()
        let transfer = try await context.database.pool.write { db in
            guard var person = try ResidentsRecords.person(request.idNumber, db) else {
                throw RPCError(.notFound, "id_number: no person \(IdentityNumber.masked(request.idNumber))")
            }
            guard person.lockedByTransfer.isEmpty else {
                throw RPCError(
                    .failedPrecondition,
                    "the person is locked by transfer \(person.lockedByTransfer), which is pending"
                )
            }
            let transfer = ResidentsV1.Transfer(
                id: ResidentsRecords.newID("tr-"),
                kind: request.kind,
                idNumber: person.idNumber,
                fromAddress: request.fromAddress.isEmpty ? person.registrationAddress : request.fromAddress,
                toAddress: request.toAddress,
                state: .requested,
                documents: checklist.map { ResidentsV1.DocumentItem(name: $0, received: false) },
                requestedUnixMs: now,
                requestedBy: caller.description
            )
            person.lockedByTransfer = transfer.id
            try ResidentsRecords.save(person, db)
            try Self.save(transfer, db)
            return transfer
        }
        return Self.shown(transfer, to: caller)
    }

    package func updateDocuments(_ request: ResidentsV1.UpdateDocumentsRequest, context call: ServerContext)
        async throws
        -> ResidentsV1.Transfer
    {
        try await step(request.id, call) { transfer, _ in
            for document in request.documents {
                guard let index = transfer.documents.firstIndex(where: { $0.name == document.name }) else {
                    throw RPCError(
                        .invalidArgument,
                        "documents: \"\(document.name)\" is not on the checklist (\(transfer.documents.map(\.name).joined(separator: ", ")))"
                    )
                }
                transfer.documents[index].received = document.received
            }
            return .documents(complete: transfer.documents.allSatisfy(\.received))
        }
    }

    package func decide(_ request: ResidentsV1.DecideTransferRequest, context call: ServerContext) async throws
        -> ResidentsV1.Transfer
    {
        if !request.approve && request.reason.filter({ !$0.isWhitespace }).isEmpty {
            throw RPCError(.invalidArgument, "reason: say why the transfer is rejected")
        }
        let caller = call.caller
        return try await step(request.id, call) { transfer, now in
            transfer.decidedBy = caller.description
            transfer.decidedUnixMs = now
            transfer.reason = request.reason
            return request.approve ? .approve : .reject
        }
    }

    package func complete(_ request: ResidentsV1.CompleteTransferRequest, context call: ServerContext) async throws
        -> ResidentsV1.Transfer
    {
        try await step(request.id, call) { transfer, now in
            transfer.doneUnixMs = now
            return .complete
        }
    }

    /// Moves transfer `id` by the step `change` returns, unlocking the person once it is no
    /// longer pending and applying a transfer that is done.
    private func step(
        _ id: String,
        _ call: ServerContext,
        change: @escaping @Sendable (inout ResidentsV1.Transfer, Int64) throws -> TransferRules.Step
    ) async throws -> ResidentsV1.Transfer {
        let now = context.clock.nowMilliseconds()
        let transfer = try await context.database.pool.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT body FROM transfers WHERE id = ?", arguments: [id]) else {
                throw RPCError(.notFound, "no transfer \(id)")
            }
            var transfer = try ResidentsRecords.decode(ResidentsV1.Transfer.self, row)
            let step = try change(&transfer, now)
            let next: TransferRules.State
            do {
                next = try TransferRules.apply(
                    step,
                    to: TransferRules.State(rawValue: transfer.state.rawValue) ?? .requested
                )
            } catch let error as PersonError {
                throw RPCError(.failedPrecondition, error.message)
            }
            transfer.state = ResidentsV1.TransferState(rawValue: next.rawValue)
            if !next.pending, var person = try ResidentsRecords.person(transfer.idNumber, db) {
                person.lockedByTransfer = ""
                if next == .done {
                    person.registrationAddress = transfer.toAddress
                    switch transfer.kind {
                    case .moveOut: person.present = false
                    case .moveIn, .birth, .marriage: person.residence = .registered
                    default: break
                    }
                }
                try ResidentsRecords.save(person, db)
            }
            try Self.save(transfer, db)
            return transfer
        }
        return Self.shown(transfer, to: call.caller)
    }

    static func save(_ transfer: ResidentsV1.Transfer, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO transfers (id, id_number, state, requested_ms, body) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET state = excluded.state, body = excluded.body
                """,
            arguments: [
                transfer.id, transfer.idNumber, transfer.state.rawValue, transfer.requestedUnixMs,
                try ResidentsRecords.body(transfer),
            ]
        )
    }

    static func shown(_ transfer: ResidentsV1.Transfer, to caller: Caller) -> ResidentsV1.Transfer {
        guard !caller.holds(grant: "personal_data") else { return transfer }
        var masked = transfer
        masked.idNumber = IdentityNumber.masked(transfer.idNumber)
        return masked
    }

    package func checklist(_ request: ResidentsV1.ChecklistRequest, context call: ServerContext) async throws
        -> ResidentsV1.ChecklistResponse
    {
        guard let kind = Self.kindName(request.kind), let documents = settings.checklists[kind] else {
            throw RPCError(.invalidArgument, "kind: must be move_in, move_out, birth, marriage or study")
        }
        return ResidentsV1.ChecklistResponse(documents: documents)
    }

    package func getTransfer(_ request: ResidentsV1.GetTransferRequest, context call: ServerContext) async throws
        -> ResidentsV1.Transfer
    {
        guard
            let transfer = try await context.database.pool.read({ db in
                try Row.fetchOne(db, sql: "SELECT body FROM transfers WHERE id = ?", arguments: [request.id]).map {
                    try ResidentsRecords.decode(ResidentsV1.Transfer.self, $0)
                }
            })
        else { throw RPCError(.notFound, "no transfer \(request.id)") }
        return Self.shown(transfer, to: call.caller)
    }

    package func listTransfers(_ request: ResidentsV1.ListTransfersRequest, context call: ServerContext) async throws
        -> ResidentsV1.ListTransfersResponse
    {
        var pager = try ListPager(tag: "tr1", request: request.page, frameBytes: call.peerMaxFrameBytes, fields: 2)
        let states =
            request.states.isEmpty
            ? "1" : "state IN (\(request.states.map { String($0.rawValue) }.joined(separator: ",")))"
        let caller = call.caller
        let (rows, total) = try await context.database.pool.read { [pager] db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM transfers WHERE \(states)") ?? 0
            var sql = "SELECT id, requested_ms, body FROM transfers WHERE \(states)"
            var arguments: [DatabaseValue] = []
            if let after = pager.after, let time = Int64(after[0]) {
                sql += " AND (requested_ms > ? OR (requested_ms = ? AND id > ?))"
                arguments = [time.databaseValue, time.databaseValue, after[1].databaseValue]
            }
            sql += " ORDER BY requested_ms, id LIMIT \(pager.fetchLimit)"
            let rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { row in
                (
                    cursor: [String(row["requested_ms"] as Int64), row["id"] as String],
                    item: Self.shown(try ResidentsRecords.decode(ResidentsV1.Transfer.self, row), to: caller)
                )
            }
            return (rows, total)
        }
        let (transfers, page) = try pager.page(rows, total: total)
        return ResidentsV1.ListTransfersResponse(transfers: transfers, page: page)
    }
}

// Window services (窗口服务) and their monthly completion rates.
extension ResidentsService: ResidentsV1.WindowServicesService {
    package func record(_ request: ResidentsV1.WindowServiceRecord, context call: ServerContext) async throws
        -> ResidentsV1.WindowServiceRecord
    {
        var record = request
        if record.id.isEmpty { record.id = ResidentsRecords.newID("ws-") }
        guard record.id.utf8.count <= 64 else { throw RPCError(.invalidArgument, "id: at most 64 characters") }
        // Recorded again (to finish it): what is not given stays as it was.
        let id = record.id
        if let existing = try await context.database.pool.read({ db in
            try Row.fetchOne(db, sql: "SELECT body FROM window_services WHERE id = ?", arguments: [id]).map {
                try ResidentsRecords.decode(ResidentsV1.WindowServiceRecord.self, $0)
            }
        }) {
            if record.business.isEmpty { record.business = existing.business }
            if record.receivedUnixMs == 0 { record.receivedUnixMs = existing.receivedUnixMs }
            if record.idNumber.isEmpty { record.idNumber = existing.idNumber }
        }
        guard !record.business.isEmpty, record.business.count <= 64 else {
            throw RPCError(.invalidArgument, "business: must be given (at most 64 characters), e.g. id_card")
        }
        let now = context.clock.nowMilliseconds()
        if record.receivedUnixMs == 0 { record.receivedUnixMs = now }
        guard record.finishedUnixMs == 0 || record.finishedUnixMs >= record.receivedUnixMs else {
            throw RPCError(.invalidArgument, "finished_unix_ms: a service finishes after it is received")
        }
        if !record.idNumber.isEmpty {
            do {
                record.idNumber = try IdentityNumber(record.idNumber).text
            } catch {
                throw RPCError(.invalidArgument, "id_number: \(error)")
            }
        }
        let stored = record
        try await context.database.pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO window_services (id, received_ms, finished_ms, body) VALUES (?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET received_ms = excluded.received_ms, finished_ms = excluded.finished_ms,
                        body = excluded.body
                    """,
                arguments: [
                    stored.id, stored.receivedUnixMs, stored.finishedUnixMs == 0 ? nil : stored.finishedUnixMs,
                    try ResidentsRecords.body(stored),
                ]
            )
        }
        return record
    }

    package func monthlyRates(_ request: ResidentsV1.WindowRatesRequest, context call: ServerContext) async throws
        -> ResidentsV1.WindowRatesResponse
    {
        let month = try ResidentsRecords.span(request.month, time: settings.time)
        let services = try await context.database.pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT received_ms, finished_ms FROM window_services WHERE received_ms >= ? AND received_ms < ?",
                arguments: [month.from, month.to]
            ).map { WindowService(receivedMs: $0["received_ms"], finishedMs: $0["finished_ms"]) }
        }
        let rates = WindowRates.compute(services, month: month, onTheSpotMs: settings.onTheSpotMs, time: settings.time)
        return ResidentsV1.WindowRatesResponse(
            total: UInt32(rates.total),
            onTheSpotPermille: UInt32(rates.onTheSpotPermille),
            sameDayPermille: UInt32(rates.sameDayPermille),
            onTheSpot: UInt32(rates.onTheSpot),
            sameDay: UInt32(rates.sameDay),
            unfinished: UInt32(rates.unfinished)
        )
    }

    package func listRecords(_ request: ResidentsV1.ListWindowRecordsRequest, context call: ServerContext) async throws
        -> ResidentsV1.ListWindowRecordsResponse
    {
        var pager = try ListPager(tag: "ws1", request: request.page, frameBytes: call.peerMaxFrameBytes, fields: 2)
        let (from, to) = try ResidentsRecords.range(request.range, "range")
        let unmasked = call.caller.holds(grant: "personal_data")
        let (rows, total) = try await context.database.pool.read { [pager] db in
            let total =
                try Int.fetchOne(
                    db,
                    sql: "SELECT COUNT(*) FROM window_services WHERE received_ms >= ? AND received_ms < ?",
                    arguments: [from, to]
                )
                ?? 0
            var sql = "SELECT id, received_ms, body FROM window_services WHERE received_ms >= ? AND received_ms < ?"
            var arguments: [DatabaseValue] = [from.databaseValue, to.databaseValue]
            if let after = pager.after, let time = Int64(after[0]) {
                sql += " AND (received_ms > ? OR (received_ms = ? AND id > ?))"
                arguments += [time.databaseValue, time.databaseValue, after[1].databaseValue]
            }
            sql += " ORDER BY received_ms, id LIMIT \(pager.fetchLimit)"
            let rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { row in
                var record = try ResidentsRecords.decode(ResidentsV1.WindowServiceRecord.self, row)
                if !unmasked && !record.idNumber.isEmpty { record.idNumber = IdentityNumber.masked(record.idNumber) }
                return (cursor: [String(row["received_ms"] as Int64), row["id"] as String], item: record)
            }
            return (rows, total)
        }
        let (records, page) = try pager.page(rows, total: total)
        return ResidentsV1.ListWindowRecordsResponse(records: records, page: page)
    }
}
