import ArgumentParser
import Foundation
import PatrolContract
import PatrolRules
import SanlianClock
import SanlianRPC
import SanlianWire

/// `sanlian patrol roster …`.
struct RosterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roster",
        abstract: "Generate the roster for a period, show it as an area × day grid, export a volunteer's.",
        subcommands: [Generate.self, Show.self, Export.self]
    )

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Solve the roster of a period and store it.",
            discussion: """
                Keeps locked, confirmed, done and past assignments, keeps the period's other \
                assignments where the rules still allow them (after someone falls ill, only their \
                shifts move), and fills the rest under the hard rules. Prints the score and every \
                shift it could not fill, with the reason.
                """
        )
        @Option(help: "First day, e.g. 2026-12-07.") var from: String
        @Option(help: "Last day, included.") var to: String
        @Option(help: "Seed for tie-breaking: the same input and seed give the same roster.") var seed: UInt64 = 0
        @Option(
            name: .customLong("min-rest"),
            help: "Minimum rest between shifts, in minutes (default: the compose file's)."
        )
        var minRest: UInt32 = 0
        @Option(
            name: .customLong("max-per-week"),
            help: "Most shifts per volunteer per week (default: the compose file's)."
        )
        var maxPerWeek: UInt32 = 0
        @Flag(help: "Solve and score, store nothing.") var dryRun = false
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func validate() throws {
            _ = try PatrolArguments.day(from, option: "--from")
            _ = try PatrolArguments.day(to, option: "--to")
        }

        func run() async throws {
            let request = PatrolV1.GenerateRosterRequest(
                firstDay: from,
                lastDay: to,
                rules: PatrolV1.RosterRules(minRestMinutes: minRest, maxShiftsPerWeek: maxPerWeek, seed: seed),
                dryRun: dryRun
            )
            Console.current.note(Labels.text("正在排班 \(from) 至 \(to)…", "solving the roster of \(from) to \(to)…"))
            let answer = try await PatrolSession.run(connection) { try await $0.roster.generateRoster(request) }
            if json { return Output.json(answer) }
            let score = answer.score ?? PatrolV1.RosterScore()
            let lines: [(String, String)] = [
                (Labels.text("排班", "assignments"), "\(score.assignments)"),
                (
                    Labels.text("保留 / 变动 / 新增", "kept / moved / added"),
                    "\(score.kept) / \(score.changed) / \(score.added)"
                ),
                (Labels.text("违反硬规则", "hard-rule violations"), "\(score.hardViolations)"),
                (
                    Labels.text("未排满班次", "shifts not filled"),
                    "\(score.unfilledShifts) (\(Labels.text("缺", "places missing:")) \(score.unfilledPlaces))"
                ),
                (Labels.text("公平差（最多减最少）", "fairness spread (most − fewest)"), "\(score.fairnessSpread)"),
                (Labels.text("满足意向", "preferences met"), "\(score.preferencesMet) / \(score.preferencesStated)"),
                (
                    Labels.text("区域覆盖", "area coverage"),
                    "\(score.areaCoverageMinPercent)%–\(score.areaCoverageMaxPercent)%"
                ),
                (Labels.text("用时", "solved in"), "\(answer.solveMilliseconds) ms"),
            ]
            if dryRun { Console.current.line(Labels.text("（试排，未保存）", "(dry run: nothing stored)")) }
            for (label, value) in lines { Console.current.line(label + ": " + value) }
            if !answer.unfilled.isEmpty {
                Console.current.line()
                Output.table(
                    [
                        Labels.text("日期", "DAY"), Labels.text("区域", "AREA"), Labels.text("班次", "SHIFT"),
                        Labels.text("缺", "MISSING"), Labels.text("原因", "WHY"),
                    ],
                    answer.unfilled.map { [$0.day, $0.areaID, $0.shiftTemplateID, String($0.missing), $0.reason] }
                )
                if answer.unfilled.count < score.unfilledShifts {
                    Console.current.note(
                        Labels.text(
                            "（共 \(score.unfilledShifts) 个，显示 \(answer.unfilled.count) 个）",
                            "(\(answer.unfilled.count) of \(score.unfilledShifts) shown)"
                        )
                    )
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the roster as an area × day grid, or one volunteer's shifts.",
            discussion: """
                In the grid each cell holds the area's shifts of the day, in order of start: the \
                people on it over the people needed (2/2), ! where it is short. --names lists who \
                is on each shift instead.
                """
        )
        @Option(help: "First day.") var from: String
        @Option(help: "Last day, included (default: a week from --from).") var to: String?
        @Option(help: "Only this area.") var area: String = ""
        @Option(help: "Only this volunteer's shifts, as a list.") var volunteer: String = ""
        @Flag(help: "List who is on each shift.") var names = false
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let first = try PatrolArguments.day(from, option: "--from")
            let last = try to.map { try PatrolArguments.day($0, option: "--to") } ?? first.adding(days: 6)
            guard last >= first, last.ordinal - first.ordinal < 62 else {
                throw ValidationError("--to: from 0 to 61 days after --from")
            }
            let (area, volunteer) = (area, volunteer)
            let (assignments, templates, time) = try await PatrolSession.run(connection) { patrol in
                let time = patrol.time
                let range = CommonV1.TimeRange(
                    fromUnixMs: time.unixMilliseconds(first, minute: 0),
                    toUnixMs: time.unixMilliseconds(last.adding(days: 1), minute: 0)
                )
                let assignments = try await PatrolSession.all { page in
                    let answer = try await patrol.roster.listAssignments(
                        PatrolV1.ListAssignmentsRequest(volunteerID: volunteer, range: range, page: page, areaID: area)
                    )
                    return (answer.assignments, answer.page)
                }
                let templates = try await PatrolSession.all { page in
                    let answer = try await patrol.roster.listShiftTemplates(
                        PatrolV1.ListShiftTemplatesRequest(areaID: area, page: page)
                    )
                    return (answer.templates, answer.page)
                }
                return (assignments, templates, time)
            }
            if json { return Output.json(assignments) }
            if !volunteer.isEmpty || names {
                Output.table(
                    [
                        Labels.text("日期", "DAY"), Labels.text("时间", "TIME"), Labels.text("区域", "AREA"),
                        Labels.text("班次", "SHIFT"), Labels.text("志愿者", "VOLUNTEER"), Labels.text("状态", "STATE"),
                        Labels.text("编号", "ASSIGNMENT"),
                    ],
                    assignments.map { assignment in
                        [
                            assignment.day,
                            PatrolArguments.clock(assignment.startsUnixMs, time) + "–"
                                + PatrolArguments.clock(assignment.endsUnixMs, time),
                            assignment.areaID, assignment.shiftName, assignment.volunteerID,
                            PatrolLabels.state(assignment.state) + (assignment.locked ? " 🔒" : ""), assignment.id,
                        ]
                    }
                )
                return
            }
            Console.current.lines(
                RosterGrid.render(assignments: assignments, templates: templates, from: first, to: last)
            )
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export one volunteer's shifts as an iCalendar file their phone's calendar imports."
        )
        @Argument(help: "The volunteer's id.") var volunteer: String
        @Option(help: "First day.") var from: String
        @Option(help: "Last day, included.") var to: String
        @Option(name: [.short, .customLong("output")], help: "The file to write (default: VOLUNTEER.ics).") var output:
            String?
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let first = try PatrolArguments.day(from, option: "--from")
            let last = try PatrolArguments.day(to, option: "--to")
            guard last >= first else { throw ValidationError("--to: must not come before --from") }
            let volunteer = volunteer
            let (person, assignments, areas) = try await PatrolSession.run(connection) { patrol in
                let time = patrol.time
                let person = try await patrol.roster.getVolunteer(PatrolV1.GetVolunteerRequest(id: volunteer))
                let range = CommonV1.TimeRange(
                    fromUnixMs: time.unixMilliseconds(first, minute: 0),
                    toUnixMs: time.unixMilliseconds(last.adding(days: 1), minute: 0)
                )
                let assignments = try await PatrolSession.all { page in
                    let answer = try await patrol.roster.listAssignments(
                        PatrolV1.ListAssignmentsRequest(volunteerID: volunteer, range: range, page: page)
                    )
                    return (answer.assignments, answer.page)
                }
                let areas = try await PatrolSession.all { page in
                    let answer = try await patrol.roster.listAreas(PatrolV1.ListAreasRequest(page: page))
                    return (answer.areas, answer.page)
                }
                return (person, assignments, areas)
            }
            let areaNames = Dictionary(areas.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            let events = assignments.filter { $0.state != .cancelled && $0.state != .swapped }.map { assignment in
                let area = areaNames[assignment.areaID]
                return CalendarEvent(
                    uid: "\(assignment.id)@sanlian-patrol",
                    startMs: assignment.startsUnixMs,
                    endMs: assignment.endsUnixMs,
                    summary: "巡逻 \(area?.name ?? assignment.areaID)（\(assignment.shiftName)）",
                    location: area?.place?.description ?? area?.name ?? "",
                    description: "联防巡逻 \(assignment.day) \(assignment.shiftName)；编号 \(assignment.id)",
                    confirmed: assignment.state == .confirmed || assignment.state == .completed
                )
            }
            let document = ICalendar.document(
                name: "\(person.name)的巡逻排班",
                events: events,
                stampMs: Int64(Date().timeIntervalSince1970 * 1000)
            )
            let path = output ?? "\(volunteer).ics"
            do {
                try document.write(toFile: path, atomically: true, encoding: .utf8)
            } catch {
                throw CLIError("\(path): cannot write the file: \(error.localizedDescription)")
            }
            Console.current.line(
                Labels.text("已导出 \(events.count) 个班次到 \(path)", "wrote \(events.count) shifts to \(path)")
            )
        }
    }
}

/// The roster as a grid for the terminal: a row per area, a column per day, in each cell the
/// area's shifts of the day in order of start, as people on it over people needed.
enum RosterGrid {
    static func render(
        assignments: [PatrolV1.Assignment],
        templates: [PatrolV1.ShiftTemplate],
        from first: LocalDay,
        to last: LocalDay
    ) -> [String] {
        let days = (first.ordinal...last.ordinal).map(LocalDay.init(ordinal:))
        var onShift: [String: Int] = [:]
        for assignment in assignments { onShift["\(assignment.shiftTemplateID)@\(assignment.day)", default: 0] += 1 }
        let byArea = Dictionary(grouping: templates.filter { !$0.retired }, by: \.areaID)
        var rows: [[String]] = []
        for area in byArea.keys.sorted() {
            let shifts = byArea[area]!.sorted { ($0.startMinute, $0.id) < ($1.startMinute, $1.id) }
            var row = [area]
            for day in days {
                let cells = shifts.filter { $0.weekdays.isEmpty || $0.weekdays.contains(UInt32(day.isoWeekday)) }.map {
                    shift in
                    let count = onShift["\(shift.id)@\(day)"] ?? 0
                    let cell = "\(count)/\(shift.peopleNeeded)"
                    return count < Int(shift.peopleNeeded) ? Colour.warning(cell + "!") : cell
                }
                row.append(cells.isEmpty ? "-" : cells.joined(separator: " "))
            }
            rows.append(row)
        }
        let header =
            [Labels.text("区域", "AREA")]
            + days.map { day in
                let (_, month, dayOfMonth) = day.components
                let weekday = ["一", "二", "三", "四", "五", "六", "日"][day.isoWeekday - 1]
                return Labels.text(
                    "\(month)/\(dayOfMonth) 周\(weekday)",
                    "\(month)/\(dayOfMonth) \(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][day.isoWeekday - 1])"
                )
            }
        return Output.tableLines(header, rows)
    }
}
