package import IdentityNumbers
package import SanlianClock

/// A person as entered, for `PersonRules`.
package struct PersonEntry: Sendable, Equatable {
    package var idNumber: String
    package var name: String
    /// "male", "female" or "" (derived).
    package var sex: String
    /// "YYYY-MM-DD" or "" (derived).
    package var birthDate: String
    package var phone: String
    package var registrationAddress: String

    package init(
        idNumber: String,
        name: String,
        sex: String = "",
        birthDate: String = "",
        phone: String = "",
        registrationAddress: String = ""
    ) {
        self.idNumber = idNumber
        self.name = name
        self.sex = sex
        self.birthDate = birthDate
        self.phone = phone
        self.registrationAddress = registrationAddress
    }
}

/// What the rules make of a valid entry.
package struct CheckedPerson: Sendable, Equatable {
    package var idNumber: IdentityNumber
    package var isMale: Bool
    package var birthDate: String
    /// Set when the region prefix is unknown and the township lets it through.
    package var warning: String?
}

/// A field of a record that cannot be stored, and why.
package struct PersonError: Error, Sendable, Equatable, CustomStringConvertible {
    package var field: String
    package var message: String

    package init(_ field: String, _ message: String) {
        self.field = field
        self.message = message
    }

    package var description: String { "\(field): \(message)" }
}

/// How the township treats ID numbers whose region prefix it does not know.
package struct RegionPolicy: Sendable, Equatable {
    /// Six-digit region codes the township knows beyond the provinces (empty: provinces only).
    package var knownRegions: Set<String>
    /// Refuse an unknown prefix rather than warn.
    package var refuseUnknown: Bool

    package init(knownRegions: Set<String> = [], refuseUnknown: Bool = false) {
        self.knownRegions = knownRegions
        self.refuseUnknown = refuseUnknown
    }
}

/// The checks of a person's record: the ID number (GB 11643), what derives from it, and the rest.
package enum PersonRules {
    /// The two-digit province prefixes of GB/T 2260.
    static let provinces: Set<String> = [
        "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43",
        "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
    ]

    /// - Parameter today: the local date, against which a birth date may not be in the future.
    /// - Throws: `PersonError` naming the first field at fault.
    package static func check(_ entry: PersonEntry, today: LocalDay, regions: RegionPolicy) throws(PersonError)
        -> CheckedPerson
    {
        let number: IdentityNumber
        do {
            number = try IdentityNumber(entry.idNumber)
        } catch {
            throw PersonError("id_number", "\"\(entry.idNumber)\" \(error)")
        }
        guard let born = LocalDay(number.birthDate), born <= today else {
            throw PersonError("id_number", "holds the birth date \(number.birthDate), which is in the future")
        }
        var warning: String?
        let region = number.region
        let known =
            regions.knownRegions.isEmpty
            ? provinces.contains(String(region.prefix(2)))
            : regions.knownRegions.contains(region)
                || provinces.contains(String(region.prefix(2))) && !regions.refuseUnknown
        if !known {
            let message = "region \(region) is not a region code the township knows"
            if regions.refuseUnknown { throw PersonError("id_number", message) }
            warning = message
        }
        if !entry.birthDate.isEmpty && entry.birthDate != number.birthDate {
            throw PersonError("birth_date", "\(entry.birthDate) is not the ID number's \(number.birthDate)")
        }
        if !entry.sex.isEmpty && (entry.sex == "male") != number.isMale {
            throw PersonError("sex", "\(entry.sex) is not the ID number's \(number.isMale ? "male" : "female")")
        }
        let name = entry.name.filter { !$0.isWhitespace }
        guard !name.isEmpty, entry.name.count <= 64 else { throw PersonError("name", "1–64 characters") }
        if !entry.phone.isEmpty && !(entry.phone.count == 11 && entry.phone.allSatisfy { $0.isASCII && $0.isNumber }) {
            throw PersonError("phone", "\"\(entry.phone)\" is not 11 digits")
        }
        guard entry.registrationAddress.count <= 200 else {
            throw PersonError("registration_address", "at most 200 characters")
        }
        return CheckedPerson(idNumber: number, isMale: number.isMale, birthDate: number.birthDate, warning: warning)
    }

    /// "138****5678".
    package static func maskedPhone(_ phone: String) -> String {
        phone.count == 11 ? String(phone.prefix(3)) + "****" + String(phone.suffix(4)) : (phone.isEmpty ? "" : "****")
    }
}

/// Who may report for where: a village group leader for their own village, an enterprise owner
/// for their own enterprise, from their authenticated role and scope, never from a field.
package enum ReporterScope {
    /// - Parameters:
    ///   - department: the caller's authenticated department.
    ///   - villages, enterprises: the caller's scope.
    /// - Throws: a message for PERMISSION_DENIED.
    package static func check(
        department: String,
        roles: Set<String>,
        villages: [String],
        enterprises: [String],
        villageCode: String,
        enterprise: String
    ) throws(PersonError) {
        if roles.contains("village_leader") || department == "village_leader" {
            guard !villageCode.isEmpty else {
                throw PersonError("village_code", "a village group leader reports for their village: give it")
            }
            guard villages.contains(villageCode) else {
                throw PersonError(
                    "village_code",
                    villages.isEmpty
                        ? "the caller has no village in their scope"
                        : "\(villageCode) is not the caller's village (\(villages.joined(separator: ", ")))"
                )
            }
        }
        if roles.contains("enterprise_owner") || department == "enterprise_owner" {
            guard !enterprise.isEmpty else {
                throw PersonError("enterprise", "an enterprise owner reports for their enterprise: give it")
            }
            guard enterprises.contains(enterprise) else {
                throw PersonError(
                    "enterprise",
                    enterprises.isEmpty
                        ? "the caller has no enterprise in their scope"
                        : "\(enterprise) is not the caller's enterprise (\(enterprises.joined(separator: ", ")))"
                )
            }
        }
    }
}
