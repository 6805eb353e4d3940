import SanlianClock

/// A field a record cannot be stored with, and why.
package struct FieldError: Sendable, Equatable, CustomStringConvertible {
    /// As the contract and an import file's header name it ("phone", "village_code").
    package var field: String
    package var message: String

    package init(_ field: String, _ message: String) {
        self.field = field
        self.message = message
    }

    package var description: String { "\(field): \(message)" }
}

/// The volunteer as entered: what `VolunteerRules` checks.
package struct VolunteerEntry: Sendable, Equatable {
    package var id: String
    package var name: String
    package var phone: String
    /// "veteran", "activist" or "other".
    package var kind: String
    package var skills: [String]
    package var villageCode: String
    package var teamID: String
    package var preferredAreaIDs: [String]
    package var preferredShiftNames: [String]

    package init(
        id: String,
        name: String,
        phone: String,
        kind: String,
        skills: [String] = [],
        villageCode: String = "",
        teamID: String = "",
        preferredAreaIDs: [String] = [],
        preferredShiftNames: [String] = []
    ) {
        self.id = id
        self.name = name
        self.phone = phone
        self.kind = kind
        self.skills = skills
        self.villageCode = villageCode
        self.teamID = teamID
        self.preferredAreaIDs = preferredAreaIDs
        self.preferredShiftNames = preferredShiftNames
    }
}

/// The limits of the patrol contract's records (proto/patrol.proto says each beside its field).
package enum PatrolLimits {
    package static let identifierBytes = 64
    package static let nameCharacters = 64
    package static let descriptionCharacters = 500
    package static let skills = 16
    package static let skillBytes = 32
    package static let preferredAreas = 16
    package static let preferredShiftNames = 8
    package static let importRows = 5000
    package static let availabilityWindows = 500
    package static let rosterDays = 62
    package static let peopleNeeded = 50
    package static let shiftMinutes = 16 * 60
}

/// Checks of the records the patrol service keeps, apart from what they refer to (a team, an
/// area), which only the service's database knows.
package enum VolunteerRules {
    /// Every field of `entry` that is wrong; empty when it may be stored.
    package static func check(_ entry: VolunteerEntry) -> [FieldError] {
        var errors: [FieldError] = []
        if let problem = identifierProblem(entry.id) { errors.append(FieldError("id", problem)) }
        if let problem = nameProblem(entry.name) { errors.append(FieldError("name", problem)) }
        if let problem = phoneProblem(entry.phone) { errors.append(FieldError("phone", problem)) }
        if !["veteran", "activist", "other"].contains(entry.kind) {
            errors.append(
                FieldError(
                    "kind",
                    entry.kind.isEmpty
                        ? "must be given: veteran, activist or other"
                        : "\"\(entry.kind)\" is not veteran, activist or other"
                )
            )
        }
        if entry.skills.count > PatrolLimits.skills {
            errors.append(FieldError("skills", "at most \(PatrolLimits.skills), not \(entry.skills.count)"))
        }
        for skill in entry.skills where !isSkill(skill) {
            errors.append(
                FieldError(
                    "skills",
                    "\"\(skill)\" is not a skill name (1–\(PatrolLimits.skillBytes) of a–z, 0–9 and _)"
                )
            )
        }
        if !entry.villageCode.isEmpty && !isDigits(entry.villageCode, count: 12) {
            errors.append(FieldError("village_code", "\"\(entry.villageCode)\" is not 12 digits"))
        }
        if !entry.teamID.isEmpty, let problem = identifierProblem(entry.teamID) {
            errors.append(FieldError("team_id", problem))
        }
        if entry.preferredAreaIDs.count > PatrolLimits.preferredAreas {
            errors.append(FieldError("preferred_area_ids", "at most \(PatrolLimits.preferredAreas)"))
        }
        for area in entry.preferredAreaIDs where identifierProblem(area) != nil {
            errors.append(FieldError("preferred_area_ids", "\"\(area)\" is not an area id"))
        }
        if entry.preferredShiftNames.count > PatrolLimits.preferredShiftNames {
            errors.append(FieldError("preferred_shift_names", "at most \(PatrolLimits.preferredShiftNames)"))
        }
        for name in entry.preferredShiftNames where nameProblem(name) != nil {
            errors.append(FieldError("preferred_shift_names", "\"\(name)\" is not a shift name"))
        }
        return errors
    }

    /// Why `value` is not an identifier (1–64 of letters, digits, '-' and '_'); nil when it is.
    package static func identifierProblem(_ value: String) -> String? {
        if value.isEmpty { return "must be given" }
        if value.utf8.count > PatrolLimits.identifierBytes {
            return "at most \(PatrolLimits.identifierBytes) characters"
        }
        let allowed = value.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
                || byte == UInt8(ascii: "_")
        }
        return allowed ? nil : "\"\(value)\" may hold only letters, digits, - and _"
    }

    /// Why `value` is not a name (1–64 characters, no control characters); nil when it is.
    package static func nameProblem(_ value: String, limit: Int = PatrolLimits.nameCharacters) -> String? {
        let trimmed = value.trimmingBlanks
        if trimmed.isEmpty { return "must be given" }
        if value.count > limit { return "at most \(limit) characters, not \(value.count)" }
        if value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            return "must not hold control characters"
        }
        return nil
    }

    /// Why `value` is not a mainland mobile number (11 digits, starting 1); nil when it is.
    package static func phoneProblem(_ value: String) -> String? {
        if value.isEmpty { return "must be given" }
        guard isDigits(value, count: 11), value.hasPrefix("1") else {
            return "\"\(value)\" is not a mobile number (11 digits starting with 1)"
        }
        return nil
    }

    /// "13812345678" → "138****5678".
    package static func masked(phone: String) -> String {
        guard phone.count == 11 else { return phone.isEmpty ? "" : "****" }
        return String(phone.prefix(3)) + "****" + String(phone.suffix(4))
    }

    /// 1–32 of a–z, 0–9 and '_'.
    package static func isSkill(_ value: String) -> Bool {
        !value.isEmpty && value.utf8.count <= PatrolLimits.skillBytes
            && value.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || byte == UInt8(ascii: "_")
            }
    }

    static func isDigits(_ value: String, count: Int) -> Bool {
        value.utf8.count == count && value.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }
}

extension String {
    /// Without leading and trailing spaces, tabs and newlines (no Foundation here).
    package var trimmingBlanks: String {
        let blanks: Set<Character> = [" ", "\t", "\n", "\r", "\u{3000}"]
        guard let first = firstIndex(where: { !blanks.contains($0) }),
            let last = lastIndex(where: { !blanks.contains($0) })
        else { return "" }
        return String(self[first...last])
    }
}
