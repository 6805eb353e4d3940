import PatrolRules
import SanlianClock
import Testing

@Suite("The check-in cadence, with the time given")
struct CheckInRulesTests {
    let cadence = CheckInCadence(everyMilliseconds: 30 * 60_000, graceMilliseconds: 5 * 60_000)
    let start: Int64 = 1_800_000_000_000
    var shiftEnd: Int64 { start + 8 * 3_600_000 }

    @Test("the first check-in starts the patrol; the next is due one interval later")
    func startsThePatrol() {
        let (progress, answered) = CheckInRules.checkIn(nil, at: start, shiftEndsMs: shiftEnd, cadence: cadence)
        #expect(progress.nextDueMs == start + 30 * 60_000)
        #expect(answered == nil)
        #expect(
            CheckInRules.elapse(progress, to: start + 34 * 60_000, cadence: cadence).events.isEmpty,
            "within the grace"
        )
    }

    @Test("one miss: past its due time and grace, once")
    func oneMiss() {
        let (progress, _) = CheckInRules.checkIn(nil, at: start, shiftEndsMs: shiftEnd, cadence: cadence)
        let (missed, events) = CheckInRules.elapse(progress, to: start + 35 * 60_000, cadence: cadence)
        #expect(events == [.missed(number: 1, dueMs: start + 30 * 60_000)])
        #expect(missed.missOpen)
        #expect(
            CheckInRules.elapse(missed, to: start + 40 * 60_000, cadence: cadence).events.isEmpty,
            "not again in the interval"
        )
        #expect(CheckInRules.severity(ofMiss: 1, night: false) == .moderate)
        #expect(CheckInRules.severity(ofMiss: 1, night: true) == .severe)
    }

    @Test("two misses: a second interval without a check-in is a second miss, more severe")
    func twoMisses() {
        let (progress, _) = CheckInRules.checkIn(nil, at: start, shiftEndsMs: shiftEnd, cadence: cadence)
        let (after, events) = CheckInRules.elapse(progress, to: start + 65 * 60_000, cadence: cadence)
        #expect(
            events == [.missed(number: 1, dueMs: start + 30 * 60_000), .missed(number: 2, dueMs: start + 60 * 60_000)]
        )
        #expect(after.misses == 2)
        #expect(CheckInRules.severity(ofMiss: 2, night: false) == .severe)
        #expect(CheckInRules.severity(ofMiss: 2, night: true) == .extreme)
        #expect(CheckInRules.severity(ofMiss: 5, night: false) == .extreme)
    }

    @Test("a late check-in answers the open miss and sets the next due time from itself")
    func lateCheckIn() {
        let (progress, _) = CheckInRules.checkIn(nil, at: start, shiftEndsMs: shiftEnd, cadence: cadence)
        let (missed, _) = CheckInRules.elapse(progress, to: start + 36 * 60_000, cadence: cadence)
        let late = start + 40 * 60_000
        let (back, answered) = CheckInRules.checkIn(missed, at: late, shiftEndsMs: shiftEnd, cadence: cadence)
        #expect(answered == .missResolved(number: 1))
        #expect(!back.missOpen)
        #expect(back.nextDueMs == late + 30 * 60_000)
        #expect(CheckInRules.checkIn(back, at: late + 60_000, shiftEndsMs: shiftEnd, cadence: cadence).answered == nil)
    }

    @Test("the shift's end closes a patrol not checked out; nothing is due after it")
    func closesAtShiftEnd() {
        let (progress, _) = CheckInRules.checkIn(
            nil,
            at: shiftEnd - 10 * 60_000,
            shiftEndsMs: shiftEnd,
            cadence: cadence
        )
        let (closed, events) = CheckInRules.elapse(progress, to: shiftEnd + 6 * 60_000, cadence: cadence)
        #expect(events == [.closed(atMs: shiftEnd)])
        #expect(closed.closedMs == shiftEnd)
        #expect(CheckInRules.nextDeadline(closed, cadence: cadence) == nil)
        #expect(CheckInRules.elapse(closed, to: shiftEnd + 3_600_000, cadence: cadence).events.isEmpty)
    }
}
