import Foundation
import GRDB
import IdentityNumbers
import ResidentsContract
import ResidentsRules
import SanlianClock
import SanlianRPC
import SanlianWire

/// Reading and writing the service's records, masking, and the audit log.
enum ResidentsRecords {
    static func body(_ message: some WireMessage) throws -> Data { Data(try message.serializedBytes()) }

    static func decode<Message: WireMessage>(_ type: Message.Type, _ row: Row, _ column: String = "body") throws
        -> Message
    {
        try Message(serializedBytes: row[column] as Data)
    }

    static func newID(_ prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let hex = String(generator.next() & 0xFFFF_FFFF_FFFF, radix: 16)
        return prefix + String(repeating: "0", count: 12 - hex.count) + hex
    }

    static func person(_ idNumber: String, _ db: Database) throws -> ResidentsV1.Person? {
        // Cached: an import looks people up a few hundred thousand times in one transaction.
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT body FROM people WHERE id_number = ?"),
            arguments: [idNumber.uppercased()]
        ).map { try decode(ResidentsV1.Person.self, $0) }
    }

    static func save(_ person: ResidentsV1.Person, mergedInto: String? = nil, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO people (id_number, name, birth_date, village, enterprise, residence, present, last_confirmed_ms,
                    locked_by, merged_into, body)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(id_number) DO UPDATE SET name = excluded.name, village = excluded.village,
                    enterprise = excluded.enterprise, residence = excluded.residence, present = excluded.present,
                    last_confirmed_ms = excluded.last_confirmed_ms, locked_by = excluded.locked_by,
                    merged_into = COALESCE(excluded.merged_into, merged_into), body = excluded.body
                """
        ).execute(
            arguments: [
                person.idNumber, person.name, person.birthDate, person.livesAt?.villageCode ?? "",
                person.enterprise, person.residence.rawValue, person.present, person.lastConfirmedUnixMs,
                person.lockedByTransfer.isEmpty ? nil : person.lockedByTransfer, mergedInto, try body(person),
            ]
        )
    }

    /// Checks `person` and fills in what derives from its ID number.
    /// - Throws: INVALID_ARGUMENT naming the field (under `prefix`).
    static func checked(_ person: ResidentsV1.Person, today: LocalDay, regions: RegionPolicy, prefix: String = "person")
        throws(RPCError) -> ResidentsV1.Person
    {
        let entry = PersonEntry(
            idNumber: person.idNumber,
            name: person.name,
            sex: person.sex == .male ? "male" : person.sex == .female ? "female" : "",
            birthDate: person.birthDate,
            phone: person.phone,
            registrationAddress: person.registrationAddress
        )
        let checked: CheckedPerson
        do {
            checked = try PersonRules.check(entry, today: today, regions: regions)
        } catch {
            throw RPCError(.invalidArgument, "\(prefix).\(error.field): \(error.message)")
        }
        if let place = person.livesAt, !place.villageCode.isEmpty,
            !(place.villageCode.utf8.count == 12 && place.villageCode.allSatisfy { $0.isASCII && $0.isNumber })
        {
            throw RPCError(
                .invalidArgument,
                "\(prefix).lives_at.village_code: \"\(place.villageCode)\" is not 12 digits"
            )
        }
        for (field, value) in [("enterprise", person.enterprise), ("dormitory_enterprise", person.dormitoryEnterprise)]
        where value.count > 64 {
            throw RPCError(.invalidArgument, "\(prefix).\(field): at most 64 characters")
        }
        var result = person
        result.idNumber = checked.idNumber.text
        result.sex = checked.isMale ? .male : .female
        result.birthDate = checked.birthDate
        result.warning = checked.warning ?? ""
        result.masked = false
        return result
    }

    /// Whether this read may show personal data unmasked: asked for, with the grant and a purpose.
    /// - Throws: PERMISSION_DENIED without the grant, INVALID_ARGUMENT without a purpose.
    static func unmasks(_ unmask: Bool, purpose: String, caller: Caller) throws(RPCError) -> Bool {
        guard unmask else { return false }
        guard caller.holds(grant: "personal_data") else {
            throw RPCError(
                .permissionDenied,
                "unmasked personal data needs the personal_data grant, which \(caller.department) does not hold"
            )
        }
        let trimmed = purpose.filter { !$0.isWhitespace }
        guard !trimmed.isEmpty, purpose.count <= 200 else {
            throw RPCError(
                .invalidArgument,
                "purpose: say why the unmasked data is needed (1–200 characters); it is audited"
            )
        }
        return true
    }

    /// `person` as the read may show it: masked unless `unmasked`.
    static func shown(_ person: ResidentsV1.Person, unmasked: Bool) -> ResidentsV1.Person {
        guard !unmasked else { return person }
        var masked = person
        masked.idNumber = IdentityNumber.masked(person.idNumber)
        masked.phone = PersonRules.maskedPhone(person.phone)
        masked.mergedIDNumbers = person.mergedIDNumbers.map(IdentityNumber.masked)
        masked.masked = true
        return masked
    }

    /// Writes who read which record unmasked, why and when. The table refuses updates and
    /// deletions (its triggers).
    static func audit(_ caller: Caller, method: String, subject: String, purpose: String, now: Int64, _ db: Database)
        throws
    {
        try db.execute(
            sql:
                "INSERT INTO audit (at_ms, department, operator_id, method, subject, purpose) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [now, caller.department, caller.operatorID, method, IdentityNumber.masked(subject), purpose]
        )
    }

    static func range(_ range: CommonV1.TimeRange?, _ field: String) throws(RPCError) -> (from: Int64, to: Int64) {
        let from = range?.fromUnixMs ?? 0
        let to = range?.toUnixMs ?? 0
        if from < 0 || to < 0 { throw RPCError(.invalidArgument, "\(field): times must not be negative") }
        if to != 0 && to <= from {
            throw RPCError(.invalidArgument, "\(field): to_unix_ms must come after from_unix_ms")
        }
        return (from, to == 0 ? Int64.max : to)
    }

    /// [from, to) of `month` in the township's time.
    static func span(_ month: CommonV1.Month?, time: TownshipTime) throws(RPCError) -> (from: Int64, to: Int64) {
        guard let month, (1...12).contains(month.month), (1971...9998).contains(month.year),
            let first = LocalDay(year: Int(month.year), month: Int(month.month), day: 1)
        else { throw RPCError(.invalidArgument, "month: a year and a month 1–12 must be given") }
        let next =
            month.month == 12
            ? LocalDay(year: Int(month.year) + 1, month: 1, day: 1)!
            : LocalDay(year: Int(month.year), month: Int(month.month) + 1, day: 1)!
        return (time.unixMilliseconds(first, minute: 0), time.unixMilliseconds(next, minute: 0))
    }
}
