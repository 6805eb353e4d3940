import BenchSupport
import Foundation
import PatrolRules
import SanlianClock
import Testing

@Suite("The roster benchmark's instance")
struct RosterInstanceTests {
    @Test("generated from a seed, the same on every run; written as JSON and read back to the same problem")
    func roundTrip() throws {
        let instance = RosterInstance.township(seed: 9, volunteers: 60, areas: 3, days: 10, locks: 8)
        let again = RosterInstance.township(seed: 9, volunteers: 60, areas: 3, days: 10, locks: 8)
        #expect(try instance.json() == again.json())
        #expect(instance.locked.count == 8)
        let text = String(decoding: try instance.json(), as: UTF8.self)
        #expect(text.contains("\"format\" : \"sanlian-roster-instance/1\""))
        #expect(text.contains("\"max_shifts_per_week\" : 5"))
        let read = try RosterInstance.read(try instance.json())
        #expect(try read.json() == instance.json())
        #expect(read.problem.shifts == instance.problem.shifts)
    }

    @Test("the benchmark's month for 500 volunteers and 20 areas: every rule kept, locks kept, spread at most 1")
    func benchmarkInstance() throws {
        let instance = RosterInstance.township(seed: 1, volunteers: 500, areas: 20, days: 31, locks: 50)
        #expect(instance.locked.count == 50)
        let figures = try RosterFigures.measure(instance, runs: 1)
        #expect(figures.checkerViolations == 0)
        #expect(figures.score.fairnessSpread <= 1, "\(figures.score)")
        #expect(figures.score.unfilledPlaces == 0, "\(figures.score)")
    }
}
