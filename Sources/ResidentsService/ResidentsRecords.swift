import Foundation
import GRDB
import IdentityNumbers
import ResidentsContract
import ResidentsRules
import SanlianClock
import SanlianRPC
import SanlianWire
import ServiceFrame

/// Reading and writing the service's records, masking, and the audit log.
enum ResidentsRecords: ServiceRecords {
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
        try villageCode(person.livesAt?.villageCode ?? "", "\(prefix).lives_at.village_code", required: false)
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

}
