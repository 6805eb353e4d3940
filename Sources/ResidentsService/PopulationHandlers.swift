import Foundation
import GRDB
import IdentityNumbers
package import ResidentsContract
import ResidentsRules
import SanlianClock
package import SanlianRPC
import SanlianWire
import ServiceFrame

// People and households, movements and who is present, duplicates, statistics and the audit log.
extension ResidentsService: ResidentsV1.PopulationService {
    var today: LocalDay { settings.time.day(of: context.clock.nowMilliseconds()) }

    package func upsertPerson(_ request: ResidentsV1.UpsertPersonRequest, context call: ServerContext) async throws
        -> ResidentsV1.Person
    {
        guard let given = request.person else { throw RPCError(.invalidArgument, "person: must be given") }
        var person = try ResidentsRecords.checked(given, today: today, regions: settings.regions)
        if person.residence == .unspecified { person.residence = .registered }
        let stored = person
        let now = context.clock.nowMilliseconds()
        try await context.database.pool.write { db in
            var person = stored
            if let existing = try ResidentsRecords.person(person.idNumber, db) {
                guard existing.lockedByTransfer.isEmpty else {
                    throw RPCError(
                        .failedPrecondition,
                        "\(IdentityNumber.masked(person.idNumber)) is locked by transfer \(existing.lockedByTransfer) until it is done or rejected"
                    )
                }
                person.mergedIDNumbers = existing.mergedIDNumbers
                person.householdID = person.householdID.isEmpty ? existing.householdID : person.householdID
            } else if person.lastConfirmedUnixMs == 0 {
                person.lastConfirmedUnixMs = now
            }
            try ResidentsRecords.save(person, db)
        }
        return ResidentsRecords.shown(person, unmasked: call.caller.holds(grant: "personal_data"))
    }

    package func getPerson(_ request: ResidentsV1.GetPersonRequest, context call: ServerContext) async throws
        -> ResidentsV1.Person
    {
        let caller = call.caller
        let unmasked = try ResidentsRecords.unmasks(request.unmask, purpose: request.purpose, caller: caller)
        let now = context.clock.nowMilliseconds()
        return try await context.database.pool.write { db in
            guard let person = try ResidentsRecords.person(request.idNumber, db) else {
                throw RPCError(.notFound, "no person \(IdentityNumber.masked(request.idNumber))")
            }
            if unmasked {
                try ResidentsRecords.audit(
                    caller,
                    method: "GetPerson",
                    subject: person.idNumber,
                    purpose: request.purpose,
                    now: now,
                    db
                )
            }
            return ResidentsRecords.shown(person, unmasked: unmasked)
        }
    }

    package func searchPeople(_ request: ResidentsV1.SearchPeopleRequest, context call: ServerContext) async throws
        -> ResidentsV1.SearchPeopleResponse
    {
        let caller = call.caller
        let unmasked = try ResidentsRecords.unmasks(request.unmask, purpose: request.purpose, caller: caller)
        var filters = ["merged_into IS NULL"]
        var arguments: [DatabaseValue] = []
        if !request.name.isEmpty {
            // A name or its start: the name index serves the range.
            filters.append("name >= ? AND name < ?")
            arguments += [request.name.databaseValue, (request.name + "\u{10FFFF}").databaseValue]
        }
        if !request.villageCode.isEmpty {
            filters.append("village = ?")
            arguments.append(request.villageCode.databaseValue)
        }
        if !request.enterprise.isEmpty {
            filters.append("enterprise = ?")
            arguments.append(request.enterprise.databaseValue)
        }
        return try await people(
            where: filters.joined(separator: " AND "),
            arguments,
            order: "name",
            request.page,
            call,
            unmasked: unmasked,
            audit: unmasked ? (caller, "SearchPeople", request.purpose) : nil
        )
    }

    /// A page of people matching `condition`, in order of `order` (then ID number).
    func people(
        where condition: String,
        _ arguments: [DatabaseValue],
        order: String,
        _ page: CommonV1.PageRequest?,
        _ call: ServerContext,
        unmasked: Bool = false,
        audit: (caller: Caller, method: String, purpose: String)? = nil
    ) async throws -> ResidentsV1.SearchPeopleResponse {
        var pager = try ListPager(tag: "ppl-\(order)", request: page, frameBytes: call.peerMaxFrameBytes, fields: 2)
        let now = context.clock.nowMilliseconds()
        let (rows, total) = try await context.database.pool.write { [pager] db in
            let total =
                try Int.fetchOne(
                    db,
                    sql: "SELECT COUNT(*) FROM people WHERE \(condition)",
                    arguments: StatementArguments(arguments)
                ) ?? 0
            var sql = "SELECT \(order) AS sort, id_number, body FROM people WHERE \(condition)"
            var pageArguments = arguments
            if let after = pager.after {
                // The sort column's own type: a number compares as one.
                let sort = Int64(after[0]).map(\.databaseValue) ?? after[0].databaseValue
                sql += " AND (\(order) > ? OR (\(order) = ? AND id_number > ?))"
                pageArguments += [sort, sort, after[1].databaseValue]
            }
            sql += " ORDER BY \(order), id_number LIMIT \(pager.fetchLimit)"
            let rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(pageArguments)).map { row in
                let person = try ResidentsRecords.decode(ResidentsV1.Person.self, row)
                let sort: DatabaseValue = row["sort"]
                let key: String =
                    switch sort.storage {
                    case .int64(let number): String(number)
                    case .string(let text): text
                    default: ""
                    }
                return (cursor: [key, person.idNumber], person: person)
            }
            // Each unmasked record read is audited (those the page holds).
            if let audit {
                for row in rows.prefix(pager.size) {
                    try ResidentsRecords.audit(
                        audit.caller,
                        method: audit.method,
                        subject: row.person.idNumber,
                        purpose: audit.purpose,
                        now: now,
                        db
                    )
                }
            }
            return (
                rows.map { (cursor: $0.cursor, item: ResidentsRecords.shown($0.person, unmasked: unmasked)) }, total
            )
        }
        let (people, response) = try pager.page(rows, total: total)
        return ResidentsV1.SearchPeopleResponse(people: people, page: response)
    }

    package func upsertHousehold(_ request: ResidentsV1.Household, context call: ServerContext) async throws
        -> ResidentsV1.Household
    {
        guard !request.id.isEmpty, request.id.utf8.count <= 64 else {
            throw RPCError(.invalidArgument, "id: must be given (at most 64 characters)")
        }
        guard request.address.count <= 200 else { throw RPCError(.invalidArgument, "address: at most 200 characters") }
        try ResidentsRecords.villageCode(request.villageCode, "village_code", required: false)
        var household = request
        household.headIDNumber = request.headIDNumber.uppercased()
        household.members = request.members.map {
            ResidentsV1.HouseholdMember(idNumber: $0.idNumber.uppercased(), relationship: $0.relationship)
        }
        let stored = household
        try await context.database.pool.write { db in
            try Self.saveHousehold(stored, db)
        }
        return household
    }

    /// Stores `household`, checking that its head and members are known people, and sets their
    /// household. People in `settled` are known and have it already (an import wrote them so).
    static func saveHousehold(_ household: ResidentsV1.Household, settled: Set<String> = [], _ db: Database) throws {
        guard !household.headIDNumber.isEmpty else { throw RPCError(.invalidArgument, "head_id_number: must be given") }
        var ids = [household.headIDNumber] + household.members.map(\.idNumber)
        ids = ids.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
        for (index, id) in ids.enumerated() where !settled.contains(id) {
            guard var person = try ResidentsRecords.person(id, db) else {
                throw RPCError(
                    .invalidArgument,
                    "\(index == 0 ? "head_id_number" : "members"): \(IdentityNumber.masked(id)) is not a known person (register them first)"
                )
            }
            if person.householdID != household.id {
                person.householdID = household.id
                try ResidentsRecords.save(person, db)
            }
        }
        try db.cachedStatement(
            sql:
                "INSERT INTO households (id, village, body) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET village = excluded.village, body = excluded.body"
        ).execute(arguments: [household.id, household.villageCode, try ResidentsRecords.body(household)])
    }

    package func getHousehold(_ request: ResidentsV1.GetHouseholdRequest, context call: ServerContext) async throws
        -> ResidentsV1.Household
    {
        guard
            let household = try await context.database.pool.read({ db in
                try Row.fetchOne(db, sql: "SELECT body FROM households WHERE id = ?", arguments: [request.id]).map {
                    try ResidentsRecords.decode(ResidentsV1.Household.self, $0)
                }
            })
        else { throw RPCError(.notFound, "no household \(request.id)") }
        return Self.shown(household, to: call.caller)
    }

    static func shown(_ household: ResidentsV1.Household, to caller: Caller) -> ResidentsV1.Household {
        guard !caller.holds(grant: "personal_data") else { return household }
        var masked = household
        masked.headIDNumber = IdentityNumber.masked(household.headIDNumber)
        masked.members = household.members.map {
            ResidentsV1.HouseholdMember(idNumber: IdentityNumber.masked($0.idNumber), relationship: $0.relationship)
        }
        return masked
    }

    package func listHouseholds(_ request: ResidentsV1.ListHouseholdsRequest, context call: ServerContext) async throws
        -> ResidentsV1.ListHouseholdsResponse
    {
        var pager = try ListPager(tag: "hh1", request: request.page, frameBytes: call.peerMaxFrameBytes, fields: 1)
        let caller = call.caller
        let village = request.villageCode
        let (rows, total) = try await context.database.pool.read { [pager] db in
            let condition = village.isEmpty ? "1" : "village = ?"
            let base: [DatabaseValue] = village.isEmpty ? [] : [village.databaseValue]
            let total =
                try Int.fetchOne(
                    db,
                    sql: "SELECT COUNT(*) FROM households WHERE \(condition)",
                    arguments: StatementArguments(base)
                ) ?? 0
            let rows = try Row.fetchAll(
                db,
                sql:
                    "SELECT id, body FROM households WHERE \(condition) AND id > ? ORDER BY id LIMIT \(pager.fetchLimit)",
                arguments: StatementArguments(base + [(pager.after?[0] ?? "").databaseValue])
            ).map { row in
                (
                    cursor: [row["id"] as String],
                    item: Self.shown(try ResidentsRecords.decode(ResidentsV1.Household.self, row), to: caller)
                )
            }
            return (rows, total)
        }
        let (households, page) = try pager.page(rows, total: total)
        return ResidentsV1.ListHouseholdsResponse(households: households, page: page)
    }

    package func reportMovement(_ request: ResidentsV1.MovementReport, context call: ServerContext) async throws
        -> ResidentsV1.MovementReceipt
    {
        try await reportMovement(request, caller: call.caller, now: context.clock.nowMilliseconds())
    }

    func reportMovement(_ request: ResidentsV1.MovementReport, caller: Caller, now: Int64) async throws
        -> ResidentsV1.MovementReceipt
    {
        guard [.arrival, .departure, .confirmation].contains(request.kind) else {
            throw RPCError(.invalidArgument, "kind: must be arrival, departure or confirmation")
        }
        do {
            try ReporterScope.check(
                department: caller.department,
                roles: caller.roles,
                villages: caller.scoped("village"),
                enterprises: caller.scoped("enterprise"),
                villageCode: request.villageCode,
                enterprise: request.enterprise
            )
        } catch {
            throw RPCError(.permissionDenied, "\(error.field): \(error.message)")
        }
        guard let given = request.person else { throw RPCError(.invalidArgument, "person: must be given") }
        let reported = try ResidentsRecords.checked(given, today: settings.time.day(of: now), regions: settings.regions)
        let at = request.atUnixMs == 0 ? now : request.atUnixMs
        guard at <= now + 3_600_000 else {
            throw RPCError(.invalidArgument, "at_unix_ms: a movement is reported once it happened")
        }
        return try await context.database.pool.write { db in
            let id = ResidentsRecords.newID("mv-")
            var candidate = ""
            var person: ResidentsV1.Person
            if let existing = try ResidentsRecords.person(reported.idNumber, db) {
                person = existing
                if let reason = DuplicateRules.reason(
                    (existing.idNumber, existing.name, existing.birthDate),
                    (reported.idNumber, reported.name, reported.birthDate)
                ) {
                    candidate = try Self.flag(left: existing, right: reported, reason: reason, now: now, db)
                }
            } else {
                person = reported
                if person.residence == .unspecified { person.residence = .floating }
                // The same name and birth date under another number: likely a typo of one of them.
                for row in try Row.fetchAll(
                    db,
                    sql: "SELECT body FROM people WHERE birth_date = ? AND name = ? AND merged_into IS NULL",
                    arguments: [reported.birthDate, reported.name]
                ) {
                    let other = try ResidentsRecords.decode(ResidentsV1.Person.self, row)
                    if let reason = DuplicateRules.reason(
                        (other.idNumber, other.name, other.birthDate),
                        (reported.idNumber, reported.name, reported.birthDate)
                    ) {
                        candidate = try Self.flag(left: other, right: reported, reason: reason, now: now, db)
                        break
                    }
                }
            }
            guard person.lockedByTransfer.isEmpty else {
                throw RPCError(.failedPrecondition, "the person is locked by transfer \(person.lockedByTransfer)")
            }
            switch request.kind {
            case .arrival:
                person.present = true
                person.lastConfirmedUnixMs = at
                if !request.villageCode.isEmpty {
                    person.livesAt = CommonV1.Place(
                        villageCode: request.villageCode,
                        villageGroup: given.livesAt?.villageGroup ?? ""
                    )
                }
                if !request.enterprise.isEmpty {
                    person.enterprise = request.enterprise
                    if !given.dormitoryEnterprise.isEmpty { person.dormitoryEnterprise = given.dormitoryEnterprise }
                }
            case .departure: person.present = false
            default: person.lastConfirmedUnixMs = at
            }
            if person.phone.isEmpty { person.phone = reported.phone }
            try ResidentsRecords.save(person, db)
            try db.execute(
                sql: """
                    INSERT INTO movements (id, kind, id_number, name, village, enterprise, at_ms, reported_by)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    id, request.kind.rawValue, person.idNumber, person.name,
                    request.villageCode.isEmpty ? person.livesAt?.villageCode ?? "" : request.villageCode,
                    request.enterprise.isEmpty ? person.enterprise : request.enterprise, at, caller.description,
                ]
            )
            return ResidentsV1.MovementReceipt(id: id, duplicateCandidateID: candidate)
        }
    }

    /// Records that `right` (as reported) looks like `left` (as known), for review.
    static func flag(left: ResidentsV1.Person, right: ResidentsV1.Person, reason: String, now: Int64, _ db: Database)
        throws -> String
    {
        if let open = try String.fetchOne(
            db,
            sql: "SELECT id FROM duplicate_candidates WHERE left_id = ? AND right_id = ? AND state = 0",
            arguments: [left.idNumber, right.idNumber]
        ) {
            return open
        }
        let id = ResidentsRecords.newID("dup-")
        try db.execute(
            sql: """
                INSERT INTO duplicate_candidates (id, left_id, right_id, reason, right_body, state, created_ms)
                VALUES (?, ?, ?, ?, ?, 0, ?)
                """,
            arguments: [id, left.idNumber, right.idNumber, reason, try ResidentsRecords.body(right), now]
        )
        return id
    }

    package func listMovements(_ request: ResidentsV1.ListMovementsRequest, context call: ServerContext) async throws
        -> ResidentsV1.ListMovementsResponse
    {
        var pager = try ListPager(tag: "mv1", request: request.page, frameBytes: call.peerMaxFrameBytes, fields: 2)
        let (from, to) = try ResidentsRecords.range(request.range, "range")
        var filters = ["at_ms >= ?", "at_ms < ?"]
        var arguments: [DatabaseValue] = [from.databaseValue, to.databaseValue]
        if !request.villageCode.isEmpty {
            filters.append("village = ?")
            arguments.append(request.villageCode.databaseValue)
        }
        if !request.enterprise.isEmpty {
            filters.append("enterprise = ?")
            arguments.append(request.enterprise.databaseValue)
        }
        let condition = filters.joined(separator: " AND ")
        let unmasked = call.caller.holds(grant: "personal_data")
        let (rows, total) = try await context.database.pool.read { [pager, arguments] db in
            let total =
                try Int.fetchOne(
                    db,
                    sql: "SELECT COUNT(*) FROM movements WHERE \(condition)",
                    arguments: StatementArguments(arguments)
                ) ?? 0
            var sql = "SELECT * FROM movements WHERE \(condition)"
            var pageArguments = arguments
            if let after = pager.after, let time = Int64(after[0]) {
                sql += " AND (at_ms > ? OR (at_ms = ? AND id > ?))"
                pageArguments += [time.databaseValue, time.databaseValue, after[1].databaseValue]
            }
            sql += " ORDER BY at_ms, id LIMIT \(pager.fetchLimit)"
            let rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(pageArguments)).map { row in
                let idNumber: String = row["id_number"]
                return (
                    cursor: [String(row["at_ms"] as Int64), row["id"] as String],
                    item: ResidentsV1.Movement(
                        id: row["id"],
                        kind: ResidentsV1.MovementKind(rawValue: row["kind"]),
                        idNumber: unmasked ? idNumber : IdentityNumber.masked(idNumber),
                        name: row["name"],
                        villageCode: row["village"],
                        enterprise: row["enterprise"],
                        atUnixMs: row["at_ms"],
                        reportedBy: row["reported_by"]
                    )
                )
            }
            return (rows, total)
        }
        let (movements, page) = try pager.page(rows, total: total)
        return ResidentsV1.ListMovementsResponse(movements: movements, page: page)
    }

    package func listPresent(_ request: ResidentsV1.ListPresentRequest, context call: ServerContext) async throws
        -> ResidentsV1.SearchPeopleResponse
    {
        var filters = ["present = 1", "merged_into IS NULL"]
        var arguments: [DatabaseValue] = []
        if !request.villageCode.isEmpty {
            filters.append("village = ?")
            arguments.append(request.villageCode.databaseValue)
        }
        if !request.enterprise.isEmpty {
            filters.append("enterprise = ?")
            arguments.append(request.enterprise.databaseValue)
        }
        return try await people(where: filters.joined(separator: " AND "), arguments, order: "name", request.page, call)
    }

    package func listLapsed(_ request: ResidentsV1.ListLapsedRequest, context call: ServerContext) async throws
        -> ResidentsV1.SearchPeopleResponse
    {
        let months = request.months == 0 ? settings.lapseMonths : Int(min(request.months, 120))
        let before = context.clock.nowMilliseconds() - Int64(months) * 30 * 86_400_000
        return try await people(
            where: "present = 1 AND merged_into IS NULL AND last_confirmed_ms < ?",
            [before.databaseValue],
            order: "last_confirmed_ms",
            request.page,
            call
        )
    }

    package func listDuplicateCandidates(
        _ request: ResidentsV1.ListDuplicateCandidatesRequest,
        context call: ServerContext
    ) async throws
        -> ResidentsV1.ListDuplicateCandidatesResponse
    {
        var pager = try ListPager(tag: "dup1", request: request.page, frameBytes: call.peerMaxFrameBytes, fields: 2)
        let unmasked = call.caller.holds(grant: "personal_data")
        let (rows, total) = try await context.database.pool.read { [pager] db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM duplicate_candidates WHERE state = 0") ?? 0
            var sql = "SELECT * FROM duplicate_candidates WHERE state = 0"
            var arguments: [DatabaseValue] = []
            if let after = pager.after, let time = Int64(after[0]) {
                sql += " AND (created_ms > ? OR (created_ms = ? AND id > ?))"
                arguments = [time.databaseValue, time.databaseValue, after[1].databaseValue]
            }
            sql += " ORDER BY created_ms, id LIMIT \(pager.fetchLimit)"
            let rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { row in
                let left =
                    try ResidentsRecords.person(row["left_id"], db) ?? ResidentsV1.Person(idNumber: row["left_id"])
                let right = try ResidentsRecords.decode(ResidentsV1.Person.self, row, "right_body")
                return (
                    cursor: [String(row["created_ms"] as Int64), row["id"] as String],
                    item: ResidentsV1.DuplicateCandidate(
                        id: row["id"],
                        left: ResidentsRecords.shown(left, unmasked: unmasked),
                        right: ResidentsRecords.shown(right, unmasked: unmasked),
                        reason: row["reason"]
                    )
                )
            }
            return (rows, total)
        }
        let (candidates, page) = try pager.page(rows, total: total)
        return ResidentsV1.ListDuplicateCandidatesResponse(candidates: candidates, page: page)
    }

    package func resolveDuplicate(_ request: ResidentsV1.ResolveDuplicateRequest, context call: ServerContext)
        async throws
        -> ResidentsV1.ResolveDuplicateResponse
    {
        try await context.database.pool.write { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: "SELECT * FROM duplicate_candidates WHERE id = ?",
                    arguments: [request.candidateID]
                )
            else {
                throw RPCError(.notFound, "no duplicate candidate \(request.candidateID)")
            }
            guard (row["state"] as Int) == 0 else {
                throw RPCError(.failedPrecondition, "duplicate candidate \(request.candidateID) is already resolved")
            }
            let leftID: String = row["left_id"]
            let rightID: String = row["right_id"]
            if request.merge, leftID != rightID, var left = try ResidentsRecords.person(leftID, db),
                var right = try ResidentsRecords.person(rightID, db)
            {
                // One person under two numbers: the left is kept; the right's record and its
                // movements stay, pointing at it.
                left.mergedIDNumbers.append(contentsOf: [rightID] + right.mergedIDNumbers)
                left.present = left.present || right.present
                left.lastConfirmedUnixMs = max(left.lastConfirmedUnixMs, right.lastConfirmedUnixMs)
                right.present = false
                try ResidentsRecords.save(left, db)
                try ResidentsRecords.save(right, mergedInto: leftID, db)
            }
            try db.execute(
                sql: "UPDATE duplicate_candidates SET state = ? WHERE id = ?",
                arguments: [request.merge ? 1 : 2, request.candidateID]
            )
            return ResidentsV1.ResolveDuplicateResponse(
                keptIDNumber: call.caller.holds(grant: "personal_data") ? leftID : IdentityNumber.masked(leftID)
            )
        }
    }

    package func statistics(_ request: ResidentsV1.StatisticsRequest, context call: ServerContext) async throws
        -> ResidentsV1.StatisticsResponse
    {
        let (from, to) = try ResidentsRecords.span(request.month, time: settings.time)
        return try await context.database.pool.read { db in
            var villages: [String: ResidentsV1.PopulationCount] = [:]
            var enterprises: [String: ResidentsV1.PopulationCount] = [:]
            var township = ResidentsV1.PopulationCount(key: "")
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT village, enterprise, residence, COUNT(*) AS people FROM people
                    WHERE present = 1 AND merged_into IS NULL GROUP BY village, enterprise, residence
                    """
            ) {
                let count = UInt32(row["people"] as Int)
                let registered = (row["residence"] as Int32) == ResidentsV1.ResidenceKind.registered.rawValue
                func add(_ entry: inout ResidentsV1.PopulationCount) {
                    if registered { entry.registered += count } else { entry.floating += count }
                }
                let village: String = row["village"]
                let enterprise: String = row["enterprise"]
                if !village.isEmpty { add(&villages[village, default: ResidentsV1.PopulationCount(key: village)]) }
                if !enterprise.isEmpty {
                    add(&enterprises[enterprise, default: ResidentsV1.PopulationCount(key: enterprise)])
                }
                add(&township)
            }
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT village, enterprise, kind, COUNT(*) AS moves FROM movements
                    WHERE at_ms >= ? AND at_ms < ? AND kind IN (1, 2) GROUP BY village, enterprise, kind
                    """,
                arguments: [from, to]
            ) {
                let count = UInt32(row["moves"] as Int)
                let arrival = (row["kind"] as Int32) == ResidentsV1.MovementKind.arrival.rawValue
                func add(_ entry: inout ResidentsV1.PopulationCount) {
                    if arrival { entry.arrivals += count } else { entry.departures += count }
                }
                let village: String = row["village"]
                let enterprise: String = row["enterprise"]
                if !village.isEmpty { add(&villages[village, default: ResidentsV1.PopulationCount(key: village)]) }
                if !enterprise.isEmpty {
                    add(&enterprises[enterprise, default: ResidentsV1.PopulationCount(key: enterprise)])
                }
                add(&township)
            }
            return ResidentsV1.StatisticsResponse(
                byVillage: villages.keys.sorted().map { villages[$0]! },
                byEnterprise: enterprises.keys.sorted().map { enterprises[$0]! },
                township: township
            )
        }
    }

    package func listAudit(_ request: ResidentsV1.ListAuditRequest, context call: ServerContext) async throws
        -> ResidentsV1.ListAuditResponse
    {
        guard call.caller.holds(grant: "personal_data") else {
            throw RPCError(.permissionDenied, "the audit log is for departments holding the personal_data grant")
        }
        var pager = try ListPager(tag: "aud1", request: request.page, frameBytes: call.peerMaxFrameBytes, fields: 1)
        let (from, to) = try ResidentsRecords.range(request.range, "range")
        let (rows, total) = try await context.database.pool.read { [pager] db in
            let total =
                try Int.fetchOne(
                    db,
                    sql: "SELECT COUNT(*) FROM audit WHERE at_ms >= ? AND at_ms < ?",
                    arguments: [from, to]
                ) ?? 0
            let rows = try Row.fetchAll(
                db,
                sql:
                    "SELECT * FROM audit WHERE at_ms >= ? AND at_ms < ? AND position > ? ORDER BY position LIMIT \(pager.fetchLimit)",
                arguments: [from, to, Int64(pager.after?[0] ?? "0") ?? 0]
            ).map { row in
                (
                    cursor: [String(row["position"] as Int64)],
                    item: ResidentsV1.AuditEntry(
                        department: row["department"],
                        operatorID: row["operator_id"],
                        method: row["method"],
                        subject: row["subject"],
                        purpose: row["purpose"],
                        atUnixMs: row["at_ms"]
                    )
                )
            }
            return (rows, total)
        }
        let (entries, page) = try pager.page(rows, total: total)
        return ResidentsV1.ListAuditResponse(entries: entries, page: page)
    }

    package func listEnterpriseWorkers(_ request: ResidentsV1.ListEnterpriseWorkersRequest, context call: ServerContext)
        async throws
        -> ResidentsV1.SearchPeopleResponse
    {
        guard !request.enterprise.isEmpty else { throw RPCError(.invalidArgument, "enterprise: must be given") }
        return try await people(
            where: "enterprise = ? AND merged_into IS NULL",
            [request.enterprise.databaseValue],
            order: "name",
            request.page,
            call
        )
    }
}
