import PatrolRules
import SanlianClock
import Testing

/// Small roster problems for the tests, in the township's time (+08:00).
enum Fixture {
    static let time = TownshipTime(utcOffsetMinutes: 480)
    static let monday = LocalDay("2026-12-07")!

    static func day(_ offset: Int) -> LocalDay { monday.adding(days: offset) }

    static func dayShift(_ area: String = "a1", people: Int = 1, skills: [String] = []) -> RosterShiftTemplate {
        RosterShiftTemplate(
            id: "day-\(area)",
            name: "day",
            areaID: area,
            startMinute: 8 * 60,
            endMinute: 16 * 60,
            peopleNeeded: people,
            requiredSkills: skills
        )
    }

    static func eveningShift(_ area: String = "a1", people: Int = 1) -> RosterShiftTemplate {
        RosterShiftTemplate(
            id: "eve-\(area)",
            name: "evening",
            areaID: area,
            startMinute: 16 * 60,
            endMinute: 22 * 60,
            peopleNeeded: people
        )
    }

    static func nightShift(_ area: String = "a1", people: Int = 2) -> RosterShiftTemplate {
        RosterShiftTemplate(
            id: "night-\(area)",
            name: "night",
            areaID: area,
            startMinute: 22 * 60,
            endMinute: 6 * 60,
            peopleNeeded: people,
            night: true
        )
    }

    static func volunteers(_ count: Int, veterans: Int = 0, prefix: String = "v") -> [RosterVolunteer] {
        (0..<count).map { index in
            RosterVolunteer(id: "\(prefix)\(index < 10 ? "0" : "")\(index)", isVeteran: index < veterans)
        }
    }

    /// The whole of `day` (local), as a time-off window.
    static func wholeDay(_ day: LocalDay) -> TimeWindow {
        TimeWindow(
            from: time.unixMilliseconds(day, minute: 0),
            to: time.unixMilliseconds(day.adding(days: 1), minute: 0)
        )
    }

    static func problem(
        days: Int = 7,
        volunteers: [RosterVolunteer],
        templates: [RosterShiftTemplate],
        rest: Int = 8 * 60,
        weekly: Int = 5,
        existing: [ExistingAssignment] = [],
        seed: UInt64 = 1
    ) -> RosterProblem {
        RosterProblem(
            firstDay: monday,
            lastDay: monday.adding(days: days - 1),
            time: time,
            volunteers: volunteers,
            templates: templates,
            limits: RosterLimits(minRestMinutes: rest, maxShiftsPerWeek: weekly),
            existing: existing,
            seed: seed
        )
    }

    /// Solves `problem` and checks the roster with the independent checker: every roster a test
    /// produces keeps every hard rule.
    static func solve(_ problem: RosterProblem, sourceLocation: SourceLocation = #_sourceLocation) throws
        -> RosterSolution
    {
        let solution = try RosterSolver.solve(problem)
        let violations = RosterChecker.violations(of: solution.roster, in: problem)
        #expect(violations.isEmpty, "the checker found: \(violations)", sourceLocation: sourceLocation)
        #expect(solution.score.hardViolations == 0, sourceLocation: sourceLocation)
        return solution
    }

    static func shifts(of volunteer: String, in solution: RosterSolution) -> [ShiftKey] {
        solution.roster.filter { $0.volunteerID == volunteer }.map(\.shift).sorted()
    }

    /// A generated township: `count` volunteers (a fifth veterans, some with first aid, some with
    /// time off), `areas` areas with a day, an evening and a night shift each.
    static func township(volunteers count: Int, areas: Int, days: Int, seed: UInt64) -> RosterProblem {
        var random = SplitMix(seed)
        let volunteers = (0..<count).map { index in
            var volunteer = RosterVolunteer(id: "v\(1000 + index)", isVeteran: index % 5 == 0)
            if index % 4 == 0 { volunteer.skills = ["first_aid"] }
            if random.next() % 3 == 0 {
                let off = day(Int(random.next() % UInt64(days)))
                volunteer.timeOff = [wholeDay(off), wholeDay(off.adding(days: 1))]
            }
            if random.next() % 2 == 0 { volunteer.preferredAreaIDs = ["a\(random.next() % UInt64(areas))"] }
            return volunteer
        }
        let templates = (0..<areas).flatMap { area in
            [
                dayShift("a\(area)", people: 2, skills: area % 2 == 0 ? ["first_aid"] : []),
                eveningShift("a\(area)", people: 2), nightShift("a\(area)"),
            ]
        }
        return problem(days: days, volunteers: volunteers, templates: templates, seed: seed)
    }
}

struct SplitMix {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
