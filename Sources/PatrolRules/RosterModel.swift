package import SanlianClock

/// What the roster rules see of a volunteer.
package struct RosterVolunteer: Sendable, Equatable, Codable {
    package var id: String
    package var isVeteran: Bool
    package var skills: Set<String>
    package var active: Bool
    package var preferredAreaIDs: Set<String>
    package var preferredShiftNames: Set<String>
    /// When set, the volunteer is available only within these; empty: whenever not on time off.
    package var available: [TimeWindow]
    package var timeOff: [TimeWindow]

    package init(
        id: String,
        isVeteran: Bool = false,
        skills: Set<String> = [],
        active: Bool = true,
        preferredAreaIDs: Set<String> = [],
        preferredShiftNames: Set<String> = [],
        available: [TimeWindow] = [],
        timeOff: [TimeWindow] = []
    ) {
        self.id = id
        self.isVeteran = isVeteran
        self.skills = skills
        self.active = active
        self.preferredAreaIDs = preferredAreaIDs
        self.preferredShiftNames = preferredShiftNames
        self.available = available
        self.timeOff = timeOff
    }

    /// Whether the volunteer may take a shift from `start` to `end` (Unix ms) by availability and
    /// time off alone.
    package func isAvailable(from start: Int64, to end: Int64) -> Bool {
        guard active else { return false }
        if timeOff.contains(where: { $0.overlaps(start, end) }) { return false }
        return available.isEmpty || available.contains { $0.covers(start, end) }
    }

    /// Whether the volunteer prefers anything at all (the score counts preferences only there).
    package var statesPreferences: Bool { !preferredAreaIDs.isEmpty || !preferredShiftNames.isEmpty }

    package func prefers(_ shift: Shift) -> Bool {
        preferredAreaIDs.contains(shift.areaID) || preferredShiftNames.contains(shift.name)
    }
}

/// A half-open span of time [from, to), Unix milliseconds.
package struct TimeWindow: Sendable, Equatable, Codable {
    package var from: Int64
    package var to: Int64

    package init(from: Int64, to: Int64) {
        self.from = from
        self.to = to
    }

    package func overlaps(_ start: Int64, _ end: Int64) -> Bool { start < to && from < end }
    package func covers(_ start: Int64, _ end: Int64) -> Bool { from <= start && end <= to }
}

/// A shift template: one shift of an area, repeated on its weekdays.
package struct RosterShiftTemplate: Sendable, Equatable, Codable {
    package var id: String
    package var name: String
    package var areaID: String
    /// Minutes after local midnight; the shift ends the next day when `endMinute <= startMinute`.
    package var startMinute: Int
    package var endMinute: Int
    package var peopleNeeded: Int
    package var night: Bool
    package var requiredSkills: [String]
    /// ISO weekdays; empty: every day.
    package var weekdays: Set<Int>

    package init(
        id: String,
        name: String,
        areaID: String,
        startMinute: Int,
        endMinute: Int,
        peopleNeeded: Int,
        night: Bool = false,
        requiredSkills: [String] = [],
        weekdays: Set<Int> = []
    ) {
        self.id = id
        self.name = name
        self.areaID = areaID
        self.startMinute = startMinute
        self.endMinute = endMinute
        self.peopleNeeded = peopleNeeded
        self.night = night
        self.requiredSkills = requiredSkills
        self.weekdays = weekdays
    }

    package var durationMinutes: Int {
        endMinute > startMinute ? endMinute - startMinute : endMinute + 1440 - startMinute
    }

    package func runs(on day: LocalDay) -> Bool { weekdays.isEmpty || weekdays.contains(day.isoWeekday) }

    /// The shift of this template on `day`.
    package func shift(on day: LocalDay, time: TownshipTime) -> Shift {
        let start = time.unixMilliseconds(day, minute: startMinute)
        return Shift(
            templateID: id,
            day: day,
            name: name,
            areaID: areaID,
            startMs: start,
            endMs: start + Int64(durationMinutes) * 60_000,
            peopleNeeded: peopleNeeded,
            night: night,
            requiredSkills: requiredSkills
        )
    }
}

/// One shift: a template on a day.
package struct Shift: Sendable, Equatable, Hashable {
    package var templateID: String
    package var day: LocalDay
    package var name: String
    package var areaID: String
    package var startMs: Int64
    package var endMs: Int64
    package var peopleNeeded: Int
    package var night: Bool
    package var requiredSkills: [String]

    package var key: ShiftKey { ShiftKey(templateID: templateID, day: day) }
}

/// Names a shift: its template and day.
package struct ShiftKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    package var templateID: String
    package var day: LocalDay

    package init(templateID: String, day: LocalDay) {
        self.templateID = templateID
        self.day = day
    }

    package var description: String { "\(templateID) on \(day)" }

    package static func < (lhs: ShiftKey, rhs: ShiftKey) -> Bool {
        (lhs.day, lhs.templateID) < (rhs.day, rhs.templateID)
    }
}

/// The hard limits of a roster besides availability, overlaps and the night and skill rules.
package struct RosterLimits: Sendable, Equatable, Codable {
    package var minRestMinutes: Int
    package var maxShiftsPerWeek: Int

    package init(minRestMinutes: Int, maxShiftsPerWeek: Int) {
        self.minRestMinutes = minRestMinutes
        self.maxShiftsPerWeek = maxShiftsPerWeek
    }
}

/// A volunteer on a shift.
package struct RosterAssignment: Sendable, Equatable, Hashable {
    package var shift: ShiftKey
    package var volunteerID: String

    package init(shift: ShiftKey, volunteerID: String) {
        self.shift = shift
        self.volunteerID = volunteerID
    }
}

/// An assignment the period already has, as the solver is to treat it.
package struct ExistingAssignment: Sendable, Equatable {
    package enum Standing: Sendable, Equatable {
        /// Locked by hand, confirmed, done, or in the past: kept whatever it costs.
        case fixed
        /// Made by an earlier solve: kept where the rules still allow it.
        case movable
    }

    package var assignment: RosterAssignment
    package var standing: Standing

    package init(_ assignment: RosterAssignment, standing: Standing) {
        self.assignment = assignment
        self.standing = standing
    }
}

/// Everything a roster is solved from.
package struct RosterProblem: Sendable {
    package var firstDay: LocalDay
    package var lastDay: LocalDay
    package var time: TownshipTime
    package var volunteers: [RosterVolunteer]
    package var templates: [RosterShiftTemplate]
    package var limits: RosterLimits
    package var existing: [ExistingAssignment]
    package var seed: UInt64

    package init(
        firstDay: LocalDay,
        lastDay: LocalDay,
        time: TownshipTime = TownshipTime(),
        volunteers: [RosterVolunteer],
        templates: [RosterShiftTemplate],
        limits: RosterLimits,
        existing: [ExistingAssignment] = [],
        seed: UInt64 = 0
    ) {
        self.firstDay = firstDay
        self.lastDay = lastDay
        self.time = time
        self.volunteers = volunteers
        self.templates = templates
        self.limits = limits
        self.existing = existing
        self.seed = seed
    }

    /// Every shift of the period, in order of start (then template id).
    package var shifts: [Shift] {
        guard firstDay <= lastDay else { return [] }
        var shifts: [Shift] = []
        for ordinal in firstDay.ordinal...lastDay.ordinal {
            let day = LocalDay(ordinal: ordinal)
            for template in templates where template.runs(on: day) {
                shifts.append(template.shift(on: day, time: time))
            }
        }
        return shifts.sorted { ($0.startMs, $0.templateID) < ($1.startMs, $1.templateID) }
    }
}
