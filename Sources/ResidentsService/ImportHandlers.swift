import Foundation
import GRDB
import IdentityNumbers
package import ResidentsContract
import ResidentsRules
import SanlianClock
package import SanlianRPC
import SanlianWire
import ServiceFrame

// Staged imports: chunks checked and staged as they come, committed whole in one transaction,
// or not at all. A crash while staging leaves nothing imported; the same file imported twice
// changes nothing the second time.
extension ResidentsService: ResidentsV1.ImportsService {
    static let chunkRows = 2000

    package func beginImport(_ request: ResidentsV1.BeginImportRequest, context call: ServerContext) async throws
        -> ResidentsV1.ImportStatus
    {
        guard request.name.count <= 200 else { throw RPCError(.invalidArgument, "name: at most 200 characters") }
        let id = ResidentsRecords.newID("imp-")
        let now = context.clock.nowMilliseconds()
        try await context.database.pool.write { db in
            try db.execute(
                sql: "INSERT INTO imports (id, name, state, created_ms) VALUES (?, ?, ?, ?)",
                arguments: [id, request.name, ResidentsV1.ImportState.staging.rawValue, now]
            )
        }
        return ResidentsV1.ImportStatus(importID: id, state: .staging)
    }

    package func addImportChunk(_ request: ResidentsV1.ImportChunk, context call: ServerContext) async throws
        -> ResidentsV1.ImportStatus
    {
        guard request.rows.count <= Self.chunkRows else {
            throw RPCError(.invalidArgument, "rows: at most \(Self.chunkRows) a chunk, not \(request.rows.count)")
        }
        guard request.chunk > 0 else { throw RPCError(.invalidArgument, "chunk: numbered from 1") }
        let today = today
        let regions = settings.regions
        // Checked before the transaction: the rows' own rules need no database.
        var staged: [(position: Int, line: UInt32, kind: Int32, body: Data)] = []
        var errors: [ResidentsV1.ImportRowError] = []
        for (position, row) in request.rows.enumerated() {
            do {
                let normalised = try Self.checked(row, today: today, regions: regions)
                staged.append((position, row.line, row.kind.rawValue, try ResidentsRecords.body(normalised)))
            } catch {
                errors.append(
                    ResidentsV1.ImportRowError(
                        line: row.line,
                        field: Self.field(of: error),
                        message: Self.message(of: error)
                    )
                )
            }
        }
        let chunkErrors = errors
        let chunkRows = staged
        try await context.database.pool.write { db in
            try Self.staging(request.importID, db)
            guard
                try Row.fetchOne(
                    db,
                    sql: "SELECT 1 FROM import_chunks WHERE import_id = ? AND chunk = ?",
                    arguments: [request.importID, request.chunk]
                ) == nil
            else { return }  // Sent again (a retry): taken once.
            try db.execute(
                sql: "INSERT INTO import_chunks (import_id, chunk) VALUES (?, ?)",
                arguments: [request.importID, request.chunk]
            )
            let insert = try db.cachedStatement(
                sql: "INSERT INTO import_rows (import_id, chunk, position, line, kind, body) VALUES (?, ?, ?, ?, ?, ?)"
            )
            for row in chunkRows {
                try insert.execute(
                    arguments: [request.importID, request.chunk, row.position, row.line, row.kind, row.body]
                )
            }
            for error in chunkErrors {
                try db.execute(
                    sql: "INSERT INTO import_errors (import_id, line, field, message) VALUES (?, ?, ?, ?)",
                    arguments: [request.importID, error.line, error.field, error.message]
                )
            }
        }
        return try await status(request.importID, frameBytes: call.peerMaxFrameBytes)
    }

    package func commitImport(_ request: ResidentsV1.CommitImportRequest, context call: ServerContext) async throws
        -> ResidentsV1.ImportStatus
    {
        let before = try await status(request.importID, frameBytes: call.peerMaxFrameBytes)
        if before.state == .committed { return before }
        guard before.state == .staging else {
            throw RPCError(.failedPrecondition, "import \(request.importID) was aborted")
        }
        guard before.rejectedTotal == 0 else {
            throw RPCError(
                .failedPrecondition,
                "import \(request.importID) has \(before.rejectedTotal) rejected rows (AddImportChunk listed them): nothing was imported; fix the file and import it again"
            )
        }
        let now = context.clock.nowMilliseconds()
        try await context.database.pool.write { db in
            var tally = Tally()
            let staged = try StagedImport(request.importID, db)
            // An import larger than the people already recorded (a township's first) writes its
            // rows faster without the secondary indexes, built again afterwards from sorted keys.
            let rebuilt = try Self.dropPeopleIndexesIfOutnumbered(by: staged.count(.person), db)
            // People first, each written once with what the file's households and workplaces say
            // of them; then the households (whose people must exist), then the workplaces of
            // people the file does not list.
            var listed = Set<String>()
            var workplaceOutcomes: [String: Outcome] = [:]
            try staged.forEachPerson { person in
                let applied = try Self.apply(
                    person: person,
                    householdID: staged.householdOf[person.idNumber],
                    workplace: staged.workplaceOf[person.idNumber],
                    now: now,
                    db
                )
                tally.count(applied.person)
                if let workplace = applied.workplace { workplaceOutcomes[person.idNumber] = workplace }
                listed.insert(person.idNumber)
            }
            for (line, household) in staged.households {
                tally.count(try StagedImport.atLine(line) { try Self.apply(household: household, settled: listed, db) })
            }
            for (line, workplace) in staged.workplaces {
                tally.count(
                    try StagedImport.atLine(line) {
                        try workplaceOutcomes[workplace.idNumber] ?? Self.apply(workplace: workplace, db)
                    }
                )
            }
            for index in rebuilt { try db.execute(sql: index) }
            try db.execute(
                sql: "UPDATE imports SET state = ?, created = ?, updated = ?, unchanged = ? WHERE id = ?",
                arguments: [
                    ResidentsV1.ImportState.committed.rawValue, tally.created, tally.updated, tally.unchanged,
                    request.importID,
                ]
            )
            try db.execute(sql: "DELETE FROM import_rows WHERE import_id = ?", arguments: [request.importID])
        }
        return try await status(request.importID, frameBytes: call.peerMaxFrameBytes)
    }

    package func abortImport(_ request: ResidentsV1.AbortImportRequest, context call: ServerContext) async throws
        -> ResidentsV1.ImportStatus
    {
        try await context.database.pool.write { db in
            try Self.staging(request.importID, db)
            try db.execute(
                sql: "UPDATE imports SET state = ? WHERE id = ?",
                arguments: [ResidentsV1.ImportState.aborted.rawValue, request.importID]
            )
            try db.execute(sql: "DELETE FROM import_rows WHERE import_id = ?", arguments: [request.importID])
        }
        return try await status(request.importID, frameBytes: call.peerMaxFrameBytes)
    }

    /// Refuses unless `id` is an import still staging.
    static func staging(_ id: String, _ db: Database) throws {
        guard let state = try Int32.fetchOne(db, sql: "SELECT state FROM imports WHERE id = ?", arguments: [id]) else {
            throw RPCError(.notFound, "no import \(id)")
        }
        guard state == ResidentsV1.ImportState.staging.rawValue else {
            throw RPCError(.failedPrecondition, "import \(id) is \(ResidentsV1.ImportState(rawValue: state).shortName)")
        }
    }

    func status(_ id: String, frameBytes: Int) async throws -> ResidentsV1.ImportStatus {
        try await context.database.pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM imports WHERE id = ?", arguments: [id]) else {
                throw RPCError(.notFound, "no import \(id)")
            }
            var status = ResidentsV1.ImportStatus(
                importID: id,
                state: ResidentsV1.ImportState(rawValue: row["state"]),
                rowsStaged: UInt32(
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM import_rows WHERE import_id = ?", arguments: [id])
                        ?? 0
                ),
                created: row["created"],
                updated: row["updated"],
                unchanged: row["unchanged"]
            )
            status.rejectedTotal = UInt32(
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM import_errors WHERE import_id = ?", arguments: [id])
                    ?? 0
            )
            var budget = FrameBudget(frameBytes: frameBytes)
            for error in try Row.fetchAll(
                db,
                sql: "SELECT line, field, message FROM import_errors WHERE import_id = ? ORDER BY line LIMIT 1000",
                arguments: [id]
            ) {
                let entry = ResidentsV1.ImportRowError(
                    line: error["line"],
                    field: error["field"],
                    message: error["message"]
                )
                guard budget.take(try entry.serializedBytes().count) else { break }
                status.rejected.append(entry)
            }
            return status
        }
    }

    /// A row checked on its own (what needs the database is checked at the commit), normalised.
    static func checked(_ row: ResidentsV1.ImportRow, today: LocalDay, regions: RegionPolicy) throws
        -> ResidentsV1.ImportRow
    {
        var row = row
        switch row.kind {
        case .person:
            guard let person = row.person else { throw RPCError(.invalidArgument, "person: missing") }
            var checked = try ResidentsRecords.checked(person, today: today, regions: regions, prefix: "")
            if checked.residence == .unspecified { checked.residence = .registered }
            row.person = checked
        case .household:
            guard var household = row.household, !household.id.isEmpty, household.id.utf8.count <= 64 else {
                throw RPCError(.invalidArgument, ".household_id: must be given (at most 64 characters)")
            }
            do {
                household.headIDNumber = try IdentityNumber(household.headIDNumber).text
                household.members = try household.members.map {
                    ResidentsV1.HouseholdMember(
                        idNumber: try IdentityNumber($0.idNumber).text,
                        relationship: $0.relationship
                    )
                }
            } catch {
                throw RPCError(.invalidArgument, ".head_id_number: \(error)")
            }
            row.household = household
        case .workplace:
            guard var person = row.person else { throw RPCError(.invalidArgument, "person: missing") }
            do {
                person.idNumber = try IdentityNumber(person.idNumber).text
            } catch {
                throw RPCError(.invalidArgument, ".id_number: \(error)")
            }
            guard !person.enterprise.isEmpty, person.enterprise.count <= 64 else {
                throw RPCError(.invalidArgument, ".enterprise: must be given (at most 64 characters)")
            }
            row.person = ResidentsV1.Person(
                idNumber: person.idNumber,
                enterprise: person.enterprise,
                dormitoryEnterprise: person.dormitoryEnterprise
            )
        default:
            throw RPCError(.invalidArgument, ".kind: must be person, household or workplace")
        }
        return row
    }

    static func field(of error: any Error) -> String {
        guard let error = error as? RPCError, let colon = error.message.firstIndex(of: ":") else { return "" }
        return String(error.message[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "."))
    }

    static func message(of error: any Error) -> String {
        guard let error = error as? RPCError else { return "\(error)" }
        guard let colon = error.message.firstIndex(of: ":") else { return error.message }
        return error.message[error.message.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }

    enum Outcome {
        case created
        case updated
        case unchanged
    }

    struct Tally {
        var created = 0
        var updated = 0
        var unchanged = 0

        mutating func count(_ outcome: Outcome) {
            switch outcome {
            case .created: created += 1
            case .updated: updated += 1
            case .unchanged: unchanged += 1
            }
        }
    }

    /// Drops the people table's secondary indexes when `rows` outnumber the people recorded.
    /// - Returns: the statements that create them again (as the schema has them), to run once the
    ///   rows are in.
    static func dropPeopleIndexesIfOutnumbered(by rows: Int, _ db: Database) throws -> [String] {
        let recorded = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM people") ?? 0
        guard rows > recorded else { return [] }
        let indexes = try Row.fetchAll(
            db,
            sql: "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'people' AND sql IS NOT NULL"
        )
        for index in indexes { try db.execute(sql: "DROP INDEX \(index["name"] as String)") }
        return indexes.map { $0["sql"] }
    }

    /// An import's staged rows as the commit reads them: what its households and workplaces say
    /// of each person up front (so that each person is written once), every kind in file order.
    struct StagedImport {
        let id: String
        let database: Database
        /// The import's households and workplaces in file order, read once: the people's pass
        /// looks each person up in them (`householdOf`, `workplaceOf`), and their own passes follow.
        let households: [(line: UInt32, household: ResidentsV1.Household)]
        let workplaces: [(line: UInt32, person: ResidentsV1.Person)]
        let householdOf: [String: String]
        let workplaceOf: [String: ResidentsV1.Person]

        init(_ id: String, _ db: Database) throws {
            self.id = id
            self.database = db
            households = try Self.rows(.household, id, db).map { ($0.line, $0.row.household!) }
            workplaces = try Self.rows(.workplace, id, db).map { ($0.line, $0.row.person!) }
            var householdOf: [String: String] = [:]
            for (_, household) in households {
                for member in [household.headIDNumber] + household.members.map(\.idNumber) {
                    householdOf[member] = household.id
                }
            }
            self.householdOf = householdOf
            workplaceOf = Dictionary(workplaces.map { ($0.person.idNumber, $0.person) }) { _, last in last }
        }

        /// How many rows of `kind` are staged.
        func count(_ kind: ResidentsV1.ImportRowKind) throws -> Int {
            try Int.fetchOne(
                database,
                sql: "SELECT COUNT(*) FROM import_rows WHERE import_id = ? AND kind = ?",
                arguments: [id, kind.rawValue]
            ) ?? 0
        }

        /// Calls `body` with each staged person, in file order, read as it goes.
        /// - Throws: FAILED_PRECONDITION naming the line when `body` refuses a row.
        func forEachPerson(_ body: (ResidentsV1.Person) throws -> Void) throws {
            let rows = try Row.fetchCursor(
                database,
                sql: Self.query,
                arguments: [id, ResidentsV1.ImportRowKind.person.rawValue]
            )
            while let row = try rows.next() {
                let person = try ResidentsRecords.decode(ResidentsV1.ImportRow.self, row).person!
                try Self.atLine(row["line"]) { try body(person) }
            }
        }

        /// `body`, with a refusal turned into FAILED_PRECONDITION naming the file's `line`.
        static func atLine<T>(_ line: UInt32, _ body: () throws -> T) throws -> T {
            do {
                return try body()
            } catch let error as RPCError {
                throw RPCError(.failedPrecondition, "line \(line): \(error.message); nothing was imported")
            }
        }

        private static let query =
            "SELECT line, body FROM import_rows WHERE import_id = ? AND kind = ? ORDER BY chunk, position"

        private static func rows(_ kind: ResidentsV1.ImportRowKind, _ id: String, _ db: Database) throws
            -> [(line: UInt32, row: ResidentsV1.ImportRow)]
        {
            try Row.fetchAll(db, sql: query, arguments: [id, kind.rawValue]).map {
                ($0["line"], try ResidentsRecords.decode(ResidentsV1.ImportRow.self, $0))
            }
        }
    }

    /// Applies a person's row, with their household and workplace if the same import gives them.
    /// - Returns: the row's outcome (against what was stored before, apart from the household and
    ///   workplace), and the workplace row's if there is one.
    static func apply(
        person row: ResidentsV1.Person,
        householdID: String?,
        workplace: ResidentsV1.Person?,
        now: Int64,
        _ db: Database
    ) throws -> (person: Outcome, workplace: Outcome?) {
        var person = row
        let existing = try ResidentsRecords.person(person.idNumber, db)
        let outcome: Outcome
        if let existing {
            guard existing.lockedByTransfer.isEmpty else {
                throw RPCError(
                    .failedPrecondition,
                    "id_number: the person is locked by transfer \(existing.lockedByTransfer)"
                )
            }
            // What the file says; what happened since (presence, household, merges) stays.
            person.present = existing.present
            person.lastConfirmedUnixMs = existing.lastConfirmedUnixMs
            person.householdID = existing.householdID
            person.mergedIDNumbers = existing.mergedIDNumbers
            person.enterprise = person.enterprise.isEmpty ? existing.enterprise : person.enterprise
            person.dormitoryEnterprise =
                person.dormitoryEnterprise.isEmpty ? existing.dormitoryEnterprise : person.dormitoryEnterprise
            outcome = person == existing ? .unchanged : .updated
        } else {
            person.present = true
            person.lastConfirmedUnixMs = now
            outcome = .created
        }
        var workplaceOutcome: Outcome?
        if let workplace {
            if existing == nil {
                workplaceOutcome = .created
            } else {
                workplaceOutcome =
                    person.enterprise == workplace.enterprise
                        && person.dormitoryEnterprise == workplace.dormitoryEnterprise ? .unchanged : .updated
            }
            person.enterprise = workplace.enterprise
            person.dormitoryEnterprise = workplace.dormitoryEnterprise
        }
        if let householdID { person.householdID = householdID }
        if person != existing { try ResidentsRecords.save(person, db) }
        return (outcome, workplaceOutcome)
    }

    static func apply(household: ResidentsV1.Household, settled: Set<String>, _ db: Database) throws -> Outcome {
        let existing = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT body FROM households WHERE id = ?"),
            arguments: [household.id]
        ).map {
            try ResidentsRecords.decode(ResidentsV1.Household.self, $0)
        }
        if existing == household { return .unchanged }
        try saveHousehold(household, settled: settled, db)
        return existing == nil ? .created : .updated
    }

    /// Applies the workplace row of a person the import does not list.
    static func apply(workplace: ResidentsV1.Person, _ db: Database) throws -> Outcome {
        guard var person = try ResidentsRecords.person(workplace.idNumber, db) else {
            throw RPCError(
                .failedPrecondition,
                "id_number: \(IdentityNumber.masked(workplace.idNumber)) is not a known person"
            )
        }
        guard person.enterprise != workplace.enterprise || person.dormitoryEnterprise != workplace.dormitoryEnterprise
        else {
            return .unchanged
        }
        person.enterprise = workplace.enterprise
        person.dormitoryEnterprise = workplace.dormitoryEnterprise
        try ResidentsRecords.save(person, db)
        return .updated
    }
}
