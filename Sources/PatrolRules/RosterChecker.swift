package import SanlianClock

/// A hard rule a roster breaks.
package struct RosterViolation: Sendable, Equatable, CustomStringConvertible {
    package enum Rule: String, Sendable, Equatable, CaseIterable {
        case unknownShift = "unknown shift"
        case unknownVolunteer = "unknown volunteer"
        case inactive = "inactive volunteer"
        case unavailable = "not available"
        case twiceOnOneShift = "twice on one shift"
        case overlapping = "overlapping shifts"
        case restTooShort = "too little rest"
        case weeklyLimit = "weekly limit"
        case aloneAtNight = "alone at night"
        case noVeteranAtNight = "no veteran at night"
        case missingSkill = "required skill missing"
        case overstaffed = "more people than needed"
    }

    package var rule: Rule
    package var shift: ShiftKey
    package var volunteerID: String?
    package var detail: String

    package var description: String {
        "\(rule.rawValue): \(shift)\(volunteerID.map { ", volunteer \($0)" } ?? ""): \(detail)"
    }
}

/// Checks a roster against the hard rules, reading only the roster and the rules: it shares no
/// code with `RosterSolver` beyond the input types, so that each checks the other. The tests run
/// it on every roster they produce.
package enum RosterChecker {
    /// Every hard rule `roster` breaks; empty when it keeps them all.
    package static func violations(of roster: [RosterAssignment], in problem: RosterProblem) -> [RosterViolation] {
        var violations: [RosterViolation] = []
        let templates = Dictionary(problem.templates.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let volunteers = Dictionary(problem.volunteers.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let offset = Int64(problem.time.utcOffsetMinutes)

        struct Placed {
            var key: ShiftKey
            var start: Int64
            var end: Int64
        }
        var byVolunteer: [String: [Placed]] = [:]
        var byShift: [ShiftKey: [String]] = [:]

        for assignment in roster {
            let key = assignment.shift
            guard let template = templates[key.templateID],
                template.weekdays.isEmpty || template.weekdays.contains(key.day.isoWeekday)
            else {
                violations.append(.init(rule: .unknownShift, shift: key, volunteerID: nil, detail: "no such shift"))
                continue
            }
            // Computed here, not with the model's helpers: the checker stands apart.
            let startMinutes = Int64(key.day.ordinal) * 1440 + Int64(template.startMinute) - offset
            var endMinutes = Int64(key.day.ordinal) * 1440 + Int64(template.endMinute) - offset
            if template.endMinute <= template.startMinute { endMinutes += 1440 }
            let placed = Placed(key: key, start: startMinutes * 60_000, end: endMinutes * 60_000)

            guard let volunteer = volunteers[assignment.volunteerID] else {
                violations.append(
                    .init(
                        rule: .unknownVolunteer,
                        shift: key,
                        volunteerID: assignment.volunteerID,
                        detail: "no such volunteer"
                    )
                )
                continue
            }
            if !volunteer.active {
                violations.append(.init(rule: .inactive, shift: key, volunteerID: volunteer.id, detail: "not active"))
            }
            let offDuring = volunteer.timeOff.contains { $0.from < placed.end && placed.start < $0.to }
            let outsideWindows =
                !volunteer.available.isEmpty
                && !volunteer.available.contains { $0.from <= placed.start && placed.end <= $0.to }
            if offDuring || outsideWindows {
                violations.append(
                    .init(
                        rule: .unavailable,
                        shift: key,
                        volunteerID: volunteer.id,
                        detail: offDuring ? "on time off" : "outside the times given as available"
                    )
                )
            }
            if byShift[key, default: []].contains(volunteer.id) {
                violations.append(
                    .init(rule: .twiceOnOneShift, shift: key, volunteerID: volunteer.id, detail: "listed twice")
                )
                continue
            }
            byShift[key, default: []].append(volunteer.id)
            byVolunteer[volunteer.id, default: []].append(placed)
        }

        let rest = Int64(problem.limits.minRestMinutes) * 60_000
        for (volunteerID, shifts) in byVolunteer {
            let ordered = shifts.sorted { $0.start < $1.start }
            for index in ordered.indices.dropFirst() {
                let before = ordered[index - 1]
                let after = ordered[index]
                if after.start < before.end {
                    violations.append(
                        .init(
                            rule: .overlapping,
                            shift: after.key,
                            volunteerID: volunteerID,
                            detail: "overlaps \(before.key)"
                        )
                    )
                } else if after.start - before.end < rest {
                    let minutes = (after.start - before.end) / 60_000
                    violations.append(
                        .init(
                            rule: .restTooShort,
                            shift: after.key,
                            volunteerID: volunteerID,
                            detail: "\(minutes) minutes after \(before.key), \(problem.limits.minRestMinutes) needed"
                        )
                    )
                }
            }
            var perWeek: [Int: Int] = [:]
            for shift in ordered {
                // ISO weeks start on Monday; 1970-01-01 was a Thursday.
                let day = Int(Int64(shift.key.day.ordinal))
                let monday = day - ((day % 7 + 7 + 3) % 7)
                perWeek[monday, default: 0] += 1
            }
            for (monday, count) in perWeek where count > problem.limits.maxShiftsPerWeek {
                violations.append(
                    .init(
                        rule: .weeklyLimit,
                        shift: ShiftKey(templateID: "*", day: LocalDay(ordinal: monday)),
                        volunteerID: volunteerID,
                        detail: "\(count) shifts in the week, at most \(problem.limits.maxShiftsPerWeek)"
                    )
                )
            }
        }

        for (key, people) in byShift {
            guard let template = templates[key.templateID] else { continue }
            let members = people.compactMap { volunteers[$0] }
            if members.count > template.peopleNeeded {
                violations.append(
                    .init(
                        rule: .overstaffed,
                        shift: key,
                        volunteerID: nil,
                        detail: "\(members.count) people, \(template.peopleNeeded) needed"
                    )
                )
            }
            if template.night {
                if members.count < 2 {
                    violations.append(
                        .init(rule: .aloneAtNight, shift: key, volunteerID: people.first, detail: "one person")
                    )
                }
                if !members.contains(where: \.isVeteran) {
                    violations.append(
                        .init(rule: .noVeteranAtNight, shift: key, volunteerID: nil, detail: "no veteran")
                    )
                }
            }
            for skill in template.requiredSkills where !members.contains(where: { $0.skills.contains(skill) }) {
                violations.append(
                    .init(rule: .missingSkill, shift: key, volunteerID: nil, detail: "nobody with \(skill)")
                )
            }
        }
        return violations.sorted { ($0.shift, $0.rule.rawValue) < ($1.shift, $1.rule.rawValue) }
    }
}
