import Foundation
import PatrolRules
import SanlianClock
import Testing

@Suite("Dates, volunteer records, the calendar file and hours")
struct RecordRulesTests {
    @Test("local days: parsing, weekdays, ISO weeks, and the township's time")
    func days() {
        let day = LocalDay("2026-12-07")!
        #expect(day.description == "2026-12-07")
        #expect(day.isoWeekday == 1)
        #expect(LocalDay("2026-12-13")!.weekStart == day)
        #expect(LocalDay("2026-02-29") == nil)
        #expect(LocalDay("2028-02-29") != nil)
        #expect(LocalDay("2026-1-07") == nil)
        let time = TownshipTime(offset: "+08:00")!
        // Local midnight of 2026-12-07 is 16:00 UTC the day before.
        // 2026-12-07T00:00:00Z is 1,796,601,600 s.
        #expect(time.unixMilliseconds(day, minute: 0) == 1_796_601_600_000 - 8 * 3_600_000)
        #expect(time.day(of: time.unixMilliseconds(day, minute: 23 * 60 + 59)) == day)
        #expect(time.minuteOfDay(time.unixMilliseconds(day, minute: 22 * 60)) == 22 * 60)
        #expect(TownshipTime(offset: "8") == nil)
    }

    @Test("a volunteer's record: each wrong field named; phones masked")
    func volunteers() {
        let good = VolunteerEntry(
            id: "v-001",
            name: "王大山",
            phone: "13812345678",
            kind: "veteran",
            skills: ["first_aid"]
        )
        #expect(VolunteerRules.check(good).isEmpty)
        let bad = VolunteerEntry(
            id: "v 1",
            name: " ",
            phone: "1381234",
            kind: "soldier",
            skills: ["First Aid"],
            villageCode: "5116"
        )
        let fields = VolunteerRules.check(bad).map(\.field)
        #expect(fields == ["id", "name", "phone", "kind", "skills", "village_code"])
        #expect(VolunteerRules.masked(phone: "13812345678") == "138****5678")
    }

    @Test("the iCalendar file: CRLF lines of at most 75 octets, text escaped, times in UTC")
    func calendar() {
        let start: Int64 = 1_796_601_600_000
        let document = ICalendar.document(
            name: "王大山的巡逻",
            events: [
                CalendarEvent(
                    uid: "as-1@sanlian",
                    startMs: start,
                    endMs: start + 8 * 3_600_000,
                    summary: "巡逻：一组, 夜班; 带手电",
                    location: String(repeating: "高兴镇一组村道", count: 8),
                    confirmed: true
                )
            ],
            stampMs: start
        )
        #expect(document.hasPrefix("BEGIN:VCALENDAR\r\n"))
        #expect(document.hasSuffix("END:VCALENDAR\r\n"))
        let lines = document.components(separatedBy: "\r\n")
        #expect(lines.allSatisfy { $0.utf8.count <= 75 })
        #expect(document.contains("DTSTART:20261207T000000Z"))
        #expect(document.contains("SUMMARY:巡逻：一组\\, 夜班\\; 带手电"))
        #expect(document.contains("\r\n LOCATION") == false)
        let unfolded = document.replacingOccurrences(of: "\r\n ", with: "")
        #expect(unfolded.contains("LOCATION:" + String(repeating: "高兴镇一组村道", count: 8)))
    }

    @Test("a month's hours per volunteer: patrols completed, no-shows, missed check-ins, publicity once per session")
    func hours() {
        let totals = PatrolHours.perVolunteer(
            patrols: [
                PatrolRecord(volunteerID: "v1", outcome: .completed, patrolMinutes: 480, missedCheckIns: 1),
                PatrolRecord(volunteerID: "v1", outcome: .noShow, patrolMinutes: 0, missedCheckIns: 0),
                PatrolRecord(volunteerID: "v2", outcome: .open, patrolMinutes: 0, missedCheckIns: 0),
            ],
            sessions: [(minutes: 90, volunteerIDs: ["v1", "v2", "v2"])]
        )
        #expect(totals["v1"]?.patrolMinutes == 480)
        #expect(totals["v1"]?.shiftsCompleted == 1)
        #expect(totals["v1"]?.noShows == 1)
        #expect(totals["v1"]?.missedCheckIns == 1)
        #expect(totals["v2"]?.publicityMinutes == 90)
    }
}
