import PatrolRules
import SanlianClock
import Testing

@Suite("Each hard rule, kept by the solver and caught by the checker")
struct HardRuleTests {
    @Test("availability and time off: nobody is put on a shift they are off for or outside their hours")
    func availability() throws {
        var people = Fixture.volunteers(3)
        people[0].timeOff = [Fixture.wholeDay(Fixture.day(1))]
        // v01 only on Monday's day shift.
        let monday = Fixture.day(0)
        people[1].available = [
            TimeWindow(
                from: Fixture.time.unixMilliseconds(monday, minute: 7 * 60),
                to: Fixture.time.unixMilliseconds(monday, minute: 17 * 60)
            )
        ]
        let problem = Fixture.problem(days: 3, volunteers: people, templates: [Fixture.dayShift(people: 2)])
        let solution = try Fixture.solve(problem)
        #expect(!Fixture.shifts(of: "v00", in: solution).contains { $0.day == Fixture.day(1) })
        #expect(Fixture.shifts(of: "v01", in: solution).allSatisfy { $0.day == monday })

        let broken = [RosterAssignment(shift: ShiftKey(templateID: "day-a1", day: Fixture.day(1)), volunteerID: "v00")]
        #expect(RosterChecker.violations(of: broken, in: problem).map(\.rule) == [.unavailable])
    }

    @Test("no overlapping shifts: one volunteer, two areas' shifts at the same time, one of them left unfilled")
    func overlaps() throws {
        let problem = Fixture.problem(
            days: 1,
            volunteers: Fixture.volunteers(1),
            templates: [Fixture.dayShift("a1"), Fixture.dayShift("a2")]
        )
        let solution = try Fixture.solve(problem)
        #expect(solution.roster.count == 1)
        #expect(solution.unfilled.count == 1)
        #expect(solution.unfilled.first?.reason.contains("on another shift or resting") == true, "\(solution.unfilled)")

        let day = Fixture.day(0)
        let broken = ["a1", "a2"].map {
            RosterAssignment(shift: ShiftKey(templateID: "day-\($0)", day: day), volunteerID: "v00")
        }
        #expect(RosterChecker.violations(of: broken, in: problem).map(\.rule) == [.overlapping])
    }

    @Test("the minimum rest: nobody works a day shift starting within eight hours of their night shift's end")
    func rest() throws {
        // The night ends 06:00, the next day shift starts 08:00: two hours.
        let problem = Fixture.problem(
            days: 3,
            volunteers: Fixture.volunteers(4, veterans: 4),
            templates: [Fixture.dayShift(people: 2), Fixture.nightShift()]
        )
        let solution = try Fixture.solve(problem)
        for volunteer in ["v00", "v01", "v02", "v03"] {
            let nights = Fixture.shifts(of: volunteer, in: solution).filter { $0.templateID == "night-a1" }
            for night in nights {
                #expect(
                    !Fixture.shifts(of: volunteer, in: solution).contains(
                        ShiftKey(templateID: "day-a1", day: night.day.adding(days: 1))
                    )
                )
            }
        }
        let broken = [
            RosterAssignment(shift: ShiftKey(templateID: "night-a1", day: Fixture.day(0)), volunteerID: "v00"),
            RosterAssignment(shift: ShiftKey(templateID: "night-a1", day: Fixture.day(0)), volunteerID: "v01"),
            RosterAssignment(shift: ShiftKey(templateID: "day-a1", day: Fixture.day(1)), volunteerID: "v00"),
        ]
        #expect(RosterChecker.violations(of: broken, in: problem).map(\.rule) == [.restTooShort])
    }

    @Test("the weekly limit: no volunteer works more shifts in an ISO week than allowed; the rest is reported")
    func weeklyLimit() throws {
        let problem = Fixture.problem(
            days: 7,
            volunteers: Fixture.volunteers(1),
            templates: [Fixture.dayShift()],
            weekly: 3
        )
        let solution = try Fixture.solve(problem)
        #expect(solution.roster.count == 3)
        #expect(solution.unfilled.count == 4)
        #expect(solution.unfilled.allSatisfy { $0.reason.contains("at the weekly limit of 3") }, "\(solution.unfilled)")

        let broken = (0..<4).map {
            RosterAssignment(shift: ShiftKey(templateID: "day-a1", day: Fixture.day($0)), volunteerID: "v00")
        }
        #expect(RosterChecker.violations(of: broken, in: problem).map(\.rule) == [.weeklyLimit])
    }

    @Test("nobody alone at night: with one volunteer free, the night shift is left empty and says why")
    func nobodyAloneAtNight() throws {
        let problem = Fixture.problem(
            days: 1,
            volunteers: Fixture.volunteers(1, veterans: 1),
            templates: [Fixture.nightShift()]
        )
        let solution = try Fixture.solve(problem)
        #expect(solution.roster.isEmpty)
        #expect(solution.unfilled.first?.missing == 2)
        #expect(solution.unfilled.first?.reason.contains("nobody to go with") == true, "\(solution.unfilled)")

        let broken = [
            RosterAssignment(shift: ShiftKey(templateID: "night-a1", day: Fixture.day(0)), volunteerID: "v00")
        ]
        #expect(RosterChecker.violations(of: broken, in: problem).map(\.rule) == [.aloneAtNight])
    }

    @Test("a veteran on every night shift: without one free, the night is left empty, the reason naming the veteran")
    func veteranAtNight() throws {
        let problem = Fixture.problem(days: 2, volunteers: Fixture.volunteers(4), templates: [Fixture.nightShift()])
        let solution = try Fixture.solve(problem)
        #expect(solution.roster.isEmpty)
        #expect(solution.unfilled.allSatisfy { $0.reason.contains("veteran") }, "\(solution.unfilled)")

        let day = Fixture.day(0)
        let broken = ["v00", "v01"].map {
            RosterAssignment(shift: ShiftKey(templateID: "night-a1", day: day), volunteerID: $0)
        }
        #expect(RosterChecker.violations(of: broken, in: problem).map(\.rule) == [.noVeteranAtNight])

        // With one veteran, every night gets them and a partner.
        let staffed = try Fixture.solve(
            Fixture.problem(days: 1, volunteers: Fixture.volunteers(4, veterans: 1), templates: [Fixture.nightShift()])
        )
        #expect(staffed.roster.count == 2)
        #expect(staffed.roster.contains { $0.volunteerID == "v00" })
    }

    @Test("required skills: someone with first aid on the shift, or the shift left empty with the reason")
    func requiredSkills() throws {
        var people = Fixture.volunteers(5)
        people[3].skills = ["first_aid"]
        let problem = Fixture.problem(
            days: 1,
            volunteers: people,
            templates: [Fixture.dayShift(people: 2, skills: ["first_aid"])]
        )
        let solution = try Fixture.solve(problem)
        #expect(solution.roster.contains { $0.volunteerID == "v03" })

        people[3].timeOff = [Fixture.wholeDay(Fixture.day(0))]
        let without = try Fixture.solve(
            Fixture.problem(
                days: 1,
                volunteers: people,
                templates: [Fixture.dayShift(people: 2, skills: ["first_aid"])]
            )
        )
        #expect(without.roster.isEmpty)
        #expect(without.unfilled.first?.reason.contains("first_aid") == true, "\(without.unfilled)")

        let broken = ["v00", "v01"].map {
            RosterAssignment(shift: ShiftKey(templateID: "day-a1", day: Fixture.day(0)), volunteerID: $0)
        }
        #expect(RosterChecker.violations(of: broken, in: problem).map(\.rule) == [.missingSkill])
    }

    @Test("the checker catches inactive and unknown volunteers, unknown shifts, and one volunteer twice on a shift")
    func checkerCatchesTheRest() {
        var people = Fixture.volunteers(2)
        people[1].active = false
        let problem = Fixture.problem(days: 1, volunteers: people, templates: [Fixture.dayShift(people: 3)])
        let day = Fixture.day(0)
        let roster = [
            RosterAssignment(shift: ShiftKey(templateID: "day-a1", day: day), volunteerID: "v01"),
            RosterAssignment(shift: ShiftKey(templateID: "day-a1", day: day), volunteerID: "nobody"),
            RosterAssignment(shift: ShiftKey(templateID: "gone", day: day), volunteerID: "v00"),
            RosterAssignment(shift: ShiftKey(templateID: "day-a1", day: day), volunteerID: "v00"),
            RosterAssignment(shift: ShiftKey(templateID: "day-a1", day: day), volunteerID: "v00"),
        ]
        let rules = Set(RosterChecker.violations(of: roster, in: problem).map(\.rule))
        #expect(rules == [.inactive, .unknownVolunteer, .unknownShift, .twiceOnOneShift])
    }
}
