import PatrolRules
import SanlianClock
import Testing

@Suite("The roster's goals: fairness, locks, small changes, reasons, determinism")
struct RosterGoalTests {
    @Test("fairness: ten volunteers with the same availability share 28 places 2 or 3 each (spread at most 1)")
    func fairness() throws {
        let problem = Fixture.problem(
            days: 7,
            volunteers: Fixture.volunteers(10),
            templates: [Fixture.dayShift(people: 2), Fixture.eveningShift(people: 2)]
        )
        let solution = try Fixture.solve(problem)
        #expect(solution.roster.count == 28)
        let counts = (0..<10).map { Fixture.shifts(of: "v0\($0)", in: solution).count }
        #expect(counts.max()! - counts.min()! <= 1, "\(counts)")
        #expect(solution.score.fairnessSpread <= 1)
    }

    @Test("stated preferences are met where the share allows")
    func preferences() throws {
        var people = Fixture.volunteers(4)
        people[0].preferredAreaIDs = ["a2"]
        people[1].preferredAreaIDs = ["a2"]
        let problem = Fixture.problem(
            days: 4,
            volunteers: people,
            templates: [Fixture.dayShift("a1"), Fixture.dayShift("a2")]
        )
        let solution = try Fixture.solve(problem)
        #expect(solution.score.preferencesStated > 0)
        #expect(solution.score.preferencesMet == solution.score.preferencesStated, "\(solution.score)")
    }

    @Test("a locked assignment is kept as it is and the rest is solved around it")
    func locked() throws {
        let lockedShift = ShiftKey(templateID: "day-a1", day: Fixture.day(2))
        let problem = Fixture.problem(
            days: 5,
            volunteers: Fixture.volunteers(5),
            templates: [Fixture.dayShift(people: 2)],
            existing: [ExistingAssignment(RosterAssignment(shift: lockedShift, volunteerID: "v04"), standing: .fixed)]
        )
        let solution = try Fixture.solve(problem)
        #expect(
            solution.assignments.contains {
                $0.assignment == RosterAssignment(shift: lockedShift, volunteerID: "v04") && $0.origin == .fixed
            }
        )
        #expect(solution.roster.filter { $0.shift == lockedShift }.count == 2)
    }

    @Test("a locked assignment the rules no longer allow is a conflict naming it, not a roster breaking a rule")
    func lockedConflict() {
        var people = Fixture.volunteers(3)
        people[0].timeOff = [Fixture.wholeDay(Fixture.day(1))]
        let problem = Fixture.problem(
            days: 3,
            volunteers: people,
            templates: [Fixture.dayShift()],
            existing: [
                ExistingAssignment(
                    RosterAssignment(shift: ShiftKey(templateID: "day-a1", day: Fixture.day(1)), volunteerID: "v00"),
                    standing: .fixed
                )
            ]
        )
        #expect {
            try RosterSolver.solve(problem)
        } throws: { error in
            (error as? RosterConflict)?.description.contains("locked v00 on day-a1 on 2026-12-08") == true
        }
    }

    @Test("re-solving after one volunteer falls ill moves only that volunteer's shifts")
    func minimalChange() throws {
        var people = Fixture.volunteers(12, veterans: 4)
        let templates = [Fixture.dayShift(people: 2), Fixture.eveningShift(people: 2), Fixture.nightShift()]
        let first = try Fixture.solve(Fixture.problem(days: 7, volunteers: people, templates: templates))
        let illDays = [Fixture.day(3), Fixture.day(4)]
        // Someone with a shift on those days falls ill.
        let ill = try #require(first.roster.first { illDays.contains($0.shift.day) }?.volunteerID)
        let index = try #require(people.firstIndex { $0.id == ill })
        people[index].timeOff = illDays.map(Fixture.wholeDay)
        let existing = first.roster.map { ExistingAssignment($0, standing: .movable) }
        let second = try Fixture.solve(
            Fixture.problem(days: 7, volunteers: people, templates: templates, existing: existing)
        )

        let lost = first.roster.filter { $0.volunteerID == ill && illDays.contains($0.shift.day) }
        #expect(!lost.isEmpty, "the fixture should give \(ill) shifts on those days")
        #expect(second.score.changed == lost.count)
        let before = Set(first.roster)
        let after = Set(second.roster)
        #expect(before.subtracting(after) == Set(lost), "only the ill volunteer's shifts left the roster")
        #expect(after.subtracting(before).count == second.score.added)
        #expect(second.score.kept == first.roster.count - lost.count)
    }

    @Test("the same input and seed give the same roster")
    func determinism() throws {
        let problem = Fixture.township(volunteers: 60, areas: 3, days: 10, seed: 42)
        let once = try Fixture.solve(problem)
        let again = try Fixture.solve(problem)
        #expect(once.roster == again.roster)
        #expect(once.unfilled == again.unfilled)
        #expect(once.score == again.score)
    }

    @Test("a generated township: every hard rule kept, spread at most 1, every unfilled shift with a reason")
    func township() throws {
        let problem = Fixture.township(volunteers: 150, areas: 5, days: 14, seed: 7)
        let solution = try Fixture.solve(problem)
        #expect(solution.score.fairnessSpread <= 1, "\(solution.score)")
        #expect(solution.unfilled.allSatisfy { !$0.reason.isEmpty })
        #expect(solution.score.assignments == solution.roster.count)
    }

    @Test("too few volunteers: shortages reported shift by shift, areas covered alike")
    func shortage() throws {
        let problem = Fixture.problem(
            days: 7,
            volunteers: Fixture.volunteers(4),
            templates: ["a1", "a2", "a3"].map { Fixture.dayShift($0, people: 2) },
            weekly: 5
        )
        let solution = try Fixture.solve(problem)
        #expect(solution.score.unfilledShifts > 0)
        #expect(solution.score.unfilledPlaces == 42 - solution.roster.count)
        #expect(
            solution.score.areaCoverageMaxPercent - solution.score.areaCoverageMinPercent <= 15,
            "\(solution.score)"
        )
    }
}
