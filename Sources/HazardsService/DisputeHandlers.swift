import Foundation
import GRDB
package import HazardsContract
import HazardsRules
import ResidentsContract
import SanlianClock
package import SanlianRPC
import SanlianWire
import ServiceFrame

// The 四分 pipeline: intake, assessment, routing, sessions, outcomes, follow-ups and closing, each
// step recorded with who (the authenticated caller) and when.
extension HazardsService: HazardsV1.DisputesService {
    package func intake(_ request: HazardsV1.IntakeRequest, context call: ServerContext) async throws
        -> HazardsV1.Dispute
    {
        let caller = call.caller
        return JointControlRecords.shown(
            try await intake(request, caller: caller, now: context.clock.nowMilliseconds()),
            to: caller
        )
    }

    func intake(_ request: HazardsV1.IntakeRequest, caller: Caller, now: Int64) async throws -> HazardsV1.Dispute {
        _ = try Vocabulary.category(request.category)
        try JointControlChecks.place(request.place, "place")
        try JointControlChecks.text(request.complaint, "complaint")
        let parties = request.parties.map {
            DisputeParty(name: $0.name, idNumber: $0.residentIDNumber, role: $0.role, phone: $0.phone)
        }
        do {
            try DisputeRules.check(parties: parties)
        } catch {
            throw Vocabulary.rpc(error)
        }
        for (index, party) in request.parties.enumerated() {
            try JointControlChecks.text(party.enterprise, "parties[\(index)].enterprise", limit: 64, required: false)
        }
        let settings = settings
        let place = DisputePlace(
            villageCode: request.place?.villageCode ?? "",
            villageGroup: request.place?.villageGroup ?? "",
            description: request.place?.description ?? ""
        )
        return try await context.database.pool.write { db in
            let id = try RecordNumbers.next(
                "D",
                table: "disputes",
                timeColumn: "accepted_ms",
                now: now,
                time: settings.time,
                db
            )
            let recurrence = try DisputeRules.recurrence(
                parties: parties,
                place: place,
                at: now,
                among: Self.earlierDisputes(
                    since: now - settings.disputes.recurrenceMilliseconds,
                    drill: request.drill,
                    db
                ),
                policy: settings.disputes
            )
            var parties = request.parties
            for index in parties.indices {
                parties[index].residentIDNumber = parties[index].residentIDNumber.uppercased()
            }
            let dispute = HazardsV1.Dispute(
                id: id,
                category: request.category,
                state: .accepted,
                parties: parties,
                place: request.place,
                complaint: request.complaint,
                acceptedUnixMs: now,
                recurrenceOf: recurrence?.of.id ?? "",
                drill: request.drill,
                acceptedBy: caller.description,
                history: [
                    HazardsV1.DisputeEvent(
                        from: .unspecified,
                        to: .accepted,
                        by: caller.description,
                        atUnixMs: now,
                        note: recurrence.map { "复发：\($0.reason)" } ?? ""
                    )
                ]
            )
            try JointControlRecords.save(dispute, db)
            for (position, party) in parties.enumerated() {
                try db.execute(
                    sql: "INSERT INTO dispute_parties (dispute_id, position, id_number, name) VALUES (?, ?, ?, ?)",
                    arguments: [id, position, party.residentIDNumber, party.name]
                )
            }
            if recurrence != nil {
                try context.outbox.enqueue(
                    alert: JointControlAlerts.dispute(dispute, why: "recurrence", now: now),
                    in: db
                )
            }
            return dispute
        }
    }

    /// Disputes accepted since `since` (real or drills, as the new one is), for recurrences.
    static func earlierDisputes(since: Int64, drill: Bool, _ db: Database) throws -> [EarlierDispute] {
        let rows = try Row.fetchAll(
            db,
            sql:
                "SELECT id, accepted_ms, village, village_group, place FROM disputes WHERE accepted_ms >= ? AND drill = ?",
            arguments: [since, drill]
        )
        var parties: [String: [DisputeParty]] = [:]
        if !rows.isEmpty {
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT p.dispute_id, p.id_number, p.name FROM dispute_parties p JOIN disputes d ON d.id = p.dispute_id
                    WHERE d.accepted_ms >= ? AND d.drill = ? ORDER BY p.dispute_id, p.position
                    """,
                arguments: [since, drill]
            ) {
                parties[row["dispute_id"], default: []].append(
                    DisputeParty(name: row["name"], idNumber: row["id_number"])
                )
            }
        }
        return rows.map { row in
            EarlierDispute(
                id: row["id"],
                acceptedMs: row["accepted_ms"],
                parties: parties[row["id"]] ?? [],
                place: DisputePlace(
                    villageCode: row["village"],
                    villageGroup: row["village_group"],
                    description: row["place"]
                )
            )
        }
    }

    package func assess(_ request: HazardsV1.AssessRequest, context call: ServerContext) async throws
        -> HazardsV1.Dispute
    {
        let grade = try Vocabulary.disputeGrade(request.grade)
        try JointControlChecks.text(request.reason, "reason")
        let policy = settings.disputes
        return try await step(request.id, .assess, call) { dispute, now, db in
            let assessed = DisputeRules.assess(
                grade: grade,
                reason: request.reason,
                recurrenceOf: dispute.recurrenceOf.isEmpty ? nil : dispute.recurrenceOf
            )
            dispute.grade = HazardsV1.DisputeGrade(rawValue: assessed.grade.rawValue)
            dispute.gradeReason = assessed.reason
            if DisputeRules.alerts(grade: assessed.grade, policy: policy) {
                try context.outbox.enqueue(alert: JointControlAlerts.dispute(dispute, why: "graded", now: now), in: db)
            }
            return assessed.reason
        }
    }

    package func route(_ request: HazardsV1.RouteRequest, context call: ServerContext) async throws -> HazardsV1.Dispute
    {
        _ = try Vocabulary.channel(request.channel)
        try JointControlChecks.text(request.reason, "reason")
        return try await step(request.id, .route, call) { dispute, _, _ in
            dispute.channel = request.channel
            dispute.channelReason = request.reason
            return request.reason
        }
    }

    package func recordSession(_ request: HazardsV1.MediationSessionRequest, context call: ServerContext) async throws
        -> HazardsV1.Dispute
    {
        guard let given = request.session else { throw RPCError(.invalidArgument, "session: must be given") }
        try JointControlChecks.text(given.mediator, "session.mediator", limit: 64)
        try JointControlChecks.text(given.summary, "session.summary")
        let caller = call.caller
        return try await step(request.id, .recordSession, call) { dispute, now, _ in
            var session = given
            if session.heldUnixMs == 0 { session.heldUnixMs = now }
            guard session.heldUnixMs <= now + 3_600_000 else {
                throw RPCError(.invalidArgument, "session.held_unix_ms: a session is recorded once held, not before")
            }
            session.recordedBy = caller.description
            dispute.sessions.append(session)
            return "调解：\(session.mediator)"
        }
    }

    package func recordOutcome(_ request: HazardsV1.OutcomeRequest, context call: ServerContext) async throws
        -> HazardsV1.Dispute
    {
        let outcome: DisputeOutcome
        switch request.outcome {
        case .resolved:
            outcome = .resolved
            try JointControlChecks.text(request.agreement, "agreement")
        case .notResolved: outcome = .notResolved
        case .referredUpward:
            outcome = .referredUpward
            try JointControlChecks.text(request.note, "note")
        default: throw RPCError(.invalidArgument, "outcome: must be resolved, not_resolved or referred_upward")
        }
        try JointControlChecks.text(request.note, "note", required: false)
        return try await step(request.id, .recordOutcome(outcome), call) { dispute, now, _ in
            dispute.outcome = request.outcome
            if outcome == .resolved {
                dispute.agreement = request.agreement
                dispute.resolvedUnixMs = now
            }
            return request.note.isEmpty ? request.agreement : request.note
        }
    }

    package func scheduleFollowUp(_ request: HazardsV1.FollowUpRequest, context call: ServerContext) async throws
        -> HazardsV1.Dispute
    {
        return try await step(request.id, .scheduleFollowUp, call) { dispute, now, _ in
            guard request.dueUnixMs > now else {
                throw RPCError(.invalidArgument, "due_unix_ms: a follow-up is scheduled for later than now")
            }
            guard dispute.followUps.count < 100 else {
                throw RPCError(.failedPrecondition, "a dispute has at most 100 follow-ups")
            }
            dispute.followUps.append(
                HazardsV1.FollowUp(dueUnixMs: request.dueUnixMs, id: "\(dispute.id)-F\(dispute.followUps.count + 1)")
            )
            return "回访定于 \(request.dueUnixMs)"
        }
    }

    package func recordFollowUp(_ request: HazardsV1.FollowUpRecord, context call: ServerContext) async throws
        -> HazardsV1.Dispute
    {
        try JointControlChecks.text(request.note, "note")
        let caller = call.caller
        return try await step(request.id, .recordFollowUp, call) { dispute, now, _ in
            let index =
                request.followUpID.isEmpty
                ? dispute.followUps.firstIndex { $0.doneUnixMs == 0 }
                : dispute.followUps.firstIndex { $0.id == request.followUpID }
            guard let index else {
                throw RPCError(
                    .failedPrecondition,
                    request.followUpID.isEmpty
                        ? "dispute \(dispute.id) has no follow-up to record: schedule one first"
                        : "dispute \(dispute.id) has no follow-up \(request.followUpID)"
                )
            }
            guard dispute.followUps[index].doneUnixMs == 0 else {
                throw RPCError(.failedPrecondition, "follow-up \(dispute.followUps[index].id) is already recorded")
            }
            dispute.followUps[index].doneUnixMs = now
            dispute.followUps[index].by = caller.description
            dispute.followUps[index].note = request.note
            return "回访：" + request.note
        }
    }

    package func close(_ request: HazardsV1.CloseDisputeRequest, context call: ServerContext) async throws
        -> HazardsV1.Dispute
    {
        try JointControlChecks.text(request.note, "note", required: false)
        let caller = call.caller
        return try await step(request.id, .close, call) { dispute, now, _ in
            let grade = DisputeGrade(rawValue: dispute.grade.rawValue)
            do {
                try DisputeRules.checkClosing(grade: grade, callerRoles: caller.roles)
            } catch let error as RuleError {
                throw Vocabulary.rpc(error)
            }
            if let grade, grade <= .relativelyMajor { dispute.closingApprovedBy = caller.description }
            dispute.closedUnixMs = now
            return request.note
        }
    }

    /// Moves dispute `id` by `step` as the caller: the rules' next state, `change` (returning the
    /// note for the record), the history event, stored in one transaction.
    private func step(
        _ id: String,
        _ step: DisputeRules.Step,
        _ call: ServerContext,
        change: @escaping @Sendable (inout HazardsV1.Dispute, Int64, Database) throws -> String
    ) async throws -> HazardsV1.Dispute {
        try JointControlChecks.identifier(id, "id")
        let caller = call.caller
        let now = context.clock.nowMilliseconds()
        let dispute = try await context.database.pool.write { db in
            guard var dispute = try JointControlRecords.dispute(id, db) else {
                throw RPCError(.notFound, "no dispute \(id)")
            }
            let from = dispute.state
            let next: DisputeState
            do {
                next = try DisputeRules.apply(step, to: Vocabulary.disputeState(from))
            } catch let error as RuleError {
                throw Vocabulary.rpc(error)
            }
            let note = try change(&dispute, now, db)
            dispute.state = HazardsV1.DisputeState(rawValue: next.rawValue)
            dispute.history.append(
                HazardsV1.DisputeEvent(from: from, to: dispute.state, by: caller.description, atUnixMs: now, note: note)
            )
            try JointControlRecords.save(dispute, db)
            return dispute
        }
        return JointControlRecords.shown(dispute, to: caller)
    }

    package func get(_ request: HazardsV1.GetDisputeRequest, context call: ServerContext) async throws
        -> HazardsV1.Dispute
    {
        try JointControlChecks.identifier(request.id, "id")
        guard
            let dispute = try await context.database.pool.read({ db in try JointControlRecords.dispute(request.id, db) }
            )
        else {
            throw RPCError(.notFound, "no dispute \(request.id)")
        }
        return JointControlRecords.shown(dispute, to: call.caller)
    }

    package func list(_ request: HazardsV1.ListDisputesRequest, context call: ServerContext) async throws
        -> HazardsV1.ListDisputesResponse
    {
        var pager = try ListPager(tag: "dsp1", request: request.page, frameBytes: call.peerMaxFrameBytes, fields: 2)
        let (from, to) = try JointControlChecks.range(request.range, "range")
        var filters = ["accepted_ms >= ?", "accepted_ms < ?"]
        var arguments: [DatabaseValue] = [from.databaseValue, to.databaseValue]
        func among(_ column: String, _ values: [Int32]) {
            if !values.isEmpty { filters.append("\(column) IN (\(values.map(String.init).joined(separator: ",")))") }
        }
        among("state", request.states.map(\.rawValue))
        among("category", request.categories.map(\.rawValue))
        among("grade", request.grades.map(\.rawValue))
        among("channel", request.channels.map(\.rawValue))
        if !request.villageCode.isEmpty {
            filters.append("village = ?")
            arguments.append(request.villageCode.databaseValue)
        }
        if request.recurrences { filters.append("recurrence_of IS NOT NULL") }
        let condition = filters.joined(separator: " AND ")
        let caller = call.caller
        let (rows, total) = try await context.database.pool.read { [pager, arguments] db in
            let total =
                try Int.fetchOne(
                    db,
                    sql: "SELECT COUNT(*) FROM disputes WHERE \(condition)",
                    arguments: StatementArguments(arguments)
                )
                ?? 0
            var sql = "SELECT id, accepted_ms, body FROM disputes WHERE \(condition)"
            var pageArguments = arguments
            if let after = pager.after, let time = Int64(after[0]) {
                sql += " AND (accepted_ms > ? OR (accepted_ms = ? AND id > ?))"
                pageArguments += [time.databaseValue, time.databaseValue, after[1].databaseValue]
            }
            sql += " ORDER BY accepted_ms, id LIMIT \(pager.fetchLimit)"
            let rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(pageArguments)).map { row in
                (
                    cursor: [String(row["accepted_ms"] as Int64), row["id"] as String],
                    item: JointControlRecords.shown(
                        try JointControlRecords.decode(HazardsV1.Dispute.self, row),
                        to: caller
                    )
                )
            }
            return (rows, total)
        }
        let (disputes, page) = try pager.page(rows, total: total)
        return HazardsV1.ListDisputesResponse(disputes: disputes, page: page)
    }

    package func listFollowUpsDue(_ request: HazardsV1.ListFollowUpsDueRequest, context call: ServerContext)
        async throws
        -> HazardsV1.ListFollowUpsDueResponse
    {
        try await listFollowUpsDue(request, frameBytes: call.peerMaxFrameBytes, now: context.clock.nowMilliseconds())
    }

    func listFollowUpsDue(_ request: HazardsV1.ListFollowUpsDueRequest, frameBytes: Int, now: Int64) async throws
        -> HazardsV1.ListFollowUpsDueResponse
    {
        var pager = try ListPager(tag: "fu1", request: request.page, frameBytes: frameBytes, fields: 2)
        let before = request.dueBeforeUnixMs == 0 ? now : request.dueBeforeUnixMs
        let (rows, total) = try await context.database.pool.read { [pager] db in
            let total =
                try Int.fetchOne(
                    db,
                    sql: "SELECT COUNT(*) FROM follow_ups WHERE done_ms IS NULL AND due_ms < ?",
                    arguments: [before]
                )
                ?? 0
            var sql = """
                SELECT f.id, f.due_ms, d.body FROM follow_ups f JOIN disputes d ON d.id = f.dispute_id
                WHERE f.done_ms IS NULL AND f.due_ms < ? AND d.state != 7
                """
            var arguments: [DatabaseValue] = [before.databaseValue]
            if let after = pager.after, let time = Int64(after[0]) {
                sql += " AND (f.due_ms > ? OR (f.due_ms = ? AND f.id > ?))"
                arguments += [time.databaseValue, time.databaseValue, after[1].databaseValue]
            }
            sql += " ORDER BY f.due_ms, f.id LIMIT \(pager.fetchLimit)"
            let rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).compactMap {
                row -> (cursor: [String], item: HazardsV1.DueFollowUp)? in
                let dispute = try JointControlRecords.decode(HazardsV1.Dispute.self, row)
                let id: String = row["id"]
                guard let followUp = dispute.followUps.first(where: { $0.id == id }) else { return nil }
                return (
                    cursor: [String(row["due_ms"] as Int64), id],
                    item: HazardsV1.DueFollowUp(
                        disputeID: dispute.id,
                        followUp: followUp,
                        category: dispute.category,
                        grade: dispute.grade,
                        villageCode: dispute.place?.villageCode ?? "",
                        late: followUp.dueUnixMs < now
                    )
                )
            }
            return (rows, total)
        }
        let (followUps, page) = try pager.page(rows, total: total)
        return HazardsV1.ListFollowUpsDueResponse(followUps: followUps, page: page)
    }

    package func listEnterpriseWorkers(_ request: HazardsV1.DisputeWorkersRequest, context call: ServerContext)
        async throws
        -> HazardsV1.DisputeWorkersResponse
    {
        try JointControlChecks.identifier(request.id, "id")
        guard
            let dispute = try await context.database.pool.read({ db in try JointControlRecords.dispute(request.id, db) }
            )
        else {
            throw RPCError(.notFound, "no dispute \(request.id)")
        }
        guard dispute.category == .labourWages else {
            throw RPCError(.failedPrecondition, "dispute \(dispute.id) is not a labour dispute")
        }
        guard let enterprise = dispute.parties.first(where: { !$0.enterprise.isEmpty })?.enterprise else {
            throw RPCError(.failedPrecondition, "dispute \(dispute.id) names no enterprise among its parties")
        }
        let caller = call.caller
        // The residents service answers as the calling department's grants allow; what the
        // person who asked may see is masked here.
        let residents = ResidentsV1.PopulationClient(context.broker, options: CallOptions(deadline: call.deadline))
        let answer: ResidentsV1.SearchPeopleResponse
        do {
            answer = try await residents.listEnterpriseWorkers(
                ResidentsV1.ListEnterpriseWorkersRequest(enterprise: enterprise, page: request.page)
            )
        } catch {
            throw Self.residentsUnavailable(error)
        }
        let unmasked = caller.holds(grant: "personal_data")
        return HazardsV1.DisputeWorkersResponse(
            enterprise: enterprise,
            workers: answer.people.map { person in
                HazardsV1.Worker(
                    name: person.name,
                    idNumber: unmasked && !person.masked ? person.idNumber : IdentityNumberMask.mask(person.idNumber),
                    phone: unmasked && !person.masked ? person.phone : PhoneMask.mask(person.phone),
                    present: person.present
                )
            },
            page: answer.page
        )
    }
}

extension HazardsService {
    /// A refusal from the residents service as this service's caller should read it.
    static func residentsUnavailable(_ error: RPCError) -> RPCError {
        guard error.code == .unavailable || error.code == .unimplemented else { return error }
        return RPCError(.unavailable, "the residents service is not running: \(error.message)")
    }
}

enum IdentityNumberMask {
    static func mask(_ text: String) -> String {
        text.contains("*") || text.count <= 10
            ? text : String(text.prefix(6)) + String(repeating: "*", count: text.count - 10) + String(text.suffix(4))
    }
}

enum PhoneMask {
    static func mask(_ text: String) -> String {
        text.contains("*") || text.count != 11 ? text : String(text.prefix(3)) + "****" + String(text.suffix(4))
    }
}
