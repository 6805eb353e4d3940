package import Foundation
package import PatrolRules
import SanlianClock

/// A roster problem as the benchmark writes it out (docs/ROSTER-INSTANCE.md): everything a
/// solver needs, in plain JSON, so that another solver can be run on exactly the same instance.
package struct RosterInstance: Codable, Sendable {
    package static let format = "sanlian-roster-instance/1"

    package var format = Self.format
    package var seed: UInt64
    package var firstDay: String
    package var lastDay: String
    package var utcOffsetMinutes: Int
    package var minRestMinutes: Int
    package var maxShiftsPerWeek: Int
    package var volunteers: [Volunteer]
    package var shiftTemplates: [Template]
    package var locked: [Locked]

    package struct Volunteer: Codable, Sendable {
        package var id: String
        package var veteran: Bool
        package var skills: [String]
        package var active: Bool
        package var preferredAreas: [String]
        package var preferredShifts: [String]
        /// [from, to) Unix ms; empty: available whenever not on time off.
        package var available: [[Int64]]
        package var timeOff: [[Int64]]
    }

    package struct Template: Codable, Sendable {
        package var id: String
        package var name: String
        package var area: String
        package var startMinute: Int
        package var endMinute: Int
        package var peopleNeeded: Int
        package var night: Bool
        package var requiredSkills: [String]
        package var weekdays: [Int]
    }

    package struct Locked: Codable, Sendable {
        package var shiftTemplate: String
        package var day: String
        package var volunteer: String
    }

    /// The problem the solver is given.
    package var problem: RosterProblem {
        let window = { (span: [Int64]) in TimeWindow(from: span[0], to: span[1]) }
        return RosterProblem(
            firstDay: LocalDay(firstDay)!,
            lastDay: LocalDay(lastDay)!,
            time: TownshipTime(utcOffsetMinutes: utcOffsetMinutes),
            volunteers: volunteers.map { volunteer in
                RosterVolunteer(
                    id: volunteer.id,
                    isVeteran: volunteer.veteran,
                    skills: Set(volunteer.skills),
                    active: volunteer.active,
                    preferredAreaIDs: Set(volunteer.preferredAreas),
                    preferredShiftNames: Set(volunteer.preferredShifts),
                    available: volunteer.available.map(window),
                    timeOff: volunteer.timeOff.map(window)
                )
            },
            templates: shiftTemplates.map { template in
                RosterShiftTemplate(
                    id: template.id,
                    name: template.name,
                    areaID: template.area,
                    startMinute: template.startMinute,
                    endMinute: template.endMinute,
                    peopleNeeded: template.peopleNeeded,
                    night: template.night,
                    requiredSkills: template.requiredSkills,
                    weekdays: Set(template.weekdays)
                )
            },
            limits: RosterLimits(minRestMinutes: minRestMinutes, maxShiftsPerWeek: maxShiftsPerWeek),
            existing: locked.map { lock in
                ExistingAssignment(
                    RosterAssignment(
                        shift: ShiftKey(templateID: lock.shiftTemplate, day: LocalDay(lock.day)!),
                        volunteerID: lock.volunteer
                    ),
                    standing: .fixed
                )
            },
            seed: seed
        )
    }

    package func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    package static func read(_ data: Data) throws -> RosterInstance {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let instance = try decoder.decode(RosterInstance.self, from: data)
        guard instance.format == format else { throw BenchError("not a \(format) file: \(instance.format)") }
        return instance
    }

    /// The benchmark's township from `seed`: `volunteers` volunteers (a fifth veterans, a quarter
    /// with first aid, some driving, a third with two to four days off, half with a preferred
    /// area), `areas` areas with a day (08–16), an evening (16–22) and a night shift (22–06) of two
    /// people each (every other area's day shift needing first aid), over `days` days from
    /// 2027-03-01, with `locks` assignments locked by hand, each one the rules allow.
    package static func township(seed: UInt64, volunteers count: Int, areas: Int, days: Int, locks: Int)
        -> RosterInstance
    {
        var random = SeededRandom(seed)
        let time = TownshipTime(utcOffsetMinutes: 480)
        let first = LocalDay("2027-03-01")!
        let volunteers = (0..<count).map { index -> Volunteer in
            var skills: [String] = []
            if index % 4 == 1 { skills.append("first_aid") }
            if index % 7 == 3 { skills.append("driving") }
            var timeOff: [[Int64]] = []
            if random.next(3) == 0 {
                let start = first.adding(days: random.next(days))
                let length = 2 + random.next(3)
                timeOff = [
                    [
                        time.unixMilliseconds(start, minute: 0),
                        time.unixMilliseconds(start.adding(days: length), minute: 0),
                    ]
                ]
            }
            return Volunteer(
                id: String(format: "v%04d", index),
                veteran: index % 5 == 0,
                skills: skills,
                active: true,
                preferredAreas: random.next(2) == 0 ? ["a\(random.next(areas))"] : [],
                preferredShifts: random.next(4) == 0 ? [["day", "evening", "night"][random.next(3)]] : [],
                available: [],
                timeOff: timeOff
            )
        }
        let templates = (0..<areas).flatMap { area in
            [
                Template(
                    id: "a\(area)-day",
                    name: "day",
                    area: "a\(area)",
                    startMinute: 8 * 60,
                    endMinute: 16 * 60,
                    peopleNeeded: 2,
                    night: false,
                    requiredSkills: area % 2 == 0 ? ["first_aid"] : [],
                    weekdays: []
                ),
                Template(
                    id: "a\(area)-evening",
                    name: "evening",
                    area: "a\(area)",
                    startMinute: 16 * 60,
                    endMinute: 22 * 60,
                    peopleNeeded: 2,
                    night: false,
                    requiredSkills: [],
                    weekdays: []
                ),
                Template(
                    id: "a\(area)-night",
                    name: "night",
                    area: "a\(area)",
                    startMinute: 22 * 60,
                    endMinute: 6 * 60,
                    peopleNeeded: 2,
                    night: true,
                    requiredSkills: [],
                    weekdays: []
                ),
            ]
        }
        var instance = RosterInstance(
            seed: seed,
            firstDay: first.description,
            lastDay: first.adding(days: days - 1).description,
            utcOffsetMinutes: 480,
            minRestMinutes: 8 * 60,
            maxShiftsPerWeek: 5,
            volunteers: volunteers,
            shiftTemplates: templates,
            locked: []
        )
        // Locks the rules allow: each checked with the others by the independent checker (a
        // volunteer's own rules; the solver completes each shift around it).
        var attempts = 0
        while instance.locked.count < locks && attempts < locks * 50 {
            attempts += 1
            let template = templates[random.next(templates.count)]
            let volunteer = volunteers[random.next(count)]
            guard !template.night || volunteer.veteran else { continue }
            let lock = Locked(
                shiftTemplate: template.id,
                day: first.adding(days: random.next(days)).description,
                volunteer: volunteer.id
            )
            var trial = instance
            trial.locked.append(lock)
            let problem = trial.problem
            let roster = problem.existing.map(\.assignment)
            let perVolunteer = RosterChecker.violations(of: roster, in: problem).filter {
                ![.aloneAtNight, .noVeteranAtNight, .missingSkill].contains($0.rule)
            }
            if perVolunteer.isEmpty { instance = trial }
        }
        return instance
    }
}

/// SplitMix64, for instances that are the same on every machine.
struct SeededRandom {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in 0..<bound.
    mutating func next(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

/// What solving an instance gave, and how long it took.
package struct RosterFigures: Sendable {
    package var milliseconds: [Double]
    package var score: RosterScore
    package var checkerViolations: Int

    package var medianMilliseconds: Double { milliseconds.sorted()[milliseconds.count / 2] }

    /// Solves `instance` `runs` times (the first one a warm-up) and checks the roster with the
    /// independent checker.
    package static func measure(_ instance: RosterInstance, runs: Int) throws -> RosterFigures {
        let problem = instance.problem
        var times: [Double] = []
        var solution: RosterSolution?
        for run in 0...runs {
            let start = ContinuousClock.now
            solution = try RosterSolver.solve(problem)
            let elapsed = ContinuousClock.now - start
            if run > 0 {
                times.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
            }
        }
        let violations = RosterChecker.violations(of: solution!.roster, in: problem).count
        return RosterFigures(milliseconds: times, score: solution!.score, checkerViolations: violations)
    }
}
