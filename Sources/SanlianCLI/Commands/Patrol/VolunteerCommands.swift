import ArgumentParser
import Foundation
import PatrolContract
import SanlianRPC
import SanlianWire

/// `sanlian patrol volunteer …`.
struct VolunteerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "volunteer",
        abstract: "Add, change, show, list and import volunteers.",
        subcommands: [Add.self, Show.self, List.self, Import.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a volunteer, or change one (every field as given)."
        )

        @Argument(help: "The volunteer's id (letters, digits, - and _).") var id: String
        @Option(help: "Name.") var name: String
        @Option(help: "Mobile number, 11 digits.") var phone: String
        @Option(help: "veteran, activist or other.") var kind: PatrolV1.VolunteerKind
        @Option(name: .customLong("skill"), help: "A skill, e.g. first_aid (repeatable).") var skills: [String] = []
        @Option(help: "12-digit village code.") var village: String = ""
        @Option(help: "Team id.") var team: String = ""
        @Option(name: .customLong("prefer-area"), help: "An area the volunteer prefers (repeatable).")
        var preferredAreas: [String] = []
        @Option(name: .customLong("prefer-shift"), help: "A shift name the volunteer prefers, e.g. day (repeatable).")
        var preferredShifts: [String] = []
        @Flag(help: "Not active: never rostered.") var inactive = false
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let volunteer = PatrolV1.Volunteer(
                id: id,
                name: name,
                phone: phone,
                kind: kind,
                skills: skills,
                villageCode: village,
                teamID: team,
                active: !inactive,
                preferredAreaIds: preferredAreas,
                preferredShiftNames: preferredShifts
            )
            let stored = try await PatrolSession.run(connection) { patrol in
                try await patrol.roster.upsertVolunteer(PatrolV1.UpsertVolunteerRequest(volunteer: volunteer))
            }
            if json {
                Output.json(stored)
            } else {
                Console.current.line(Labels.text("已保存 \(stored.id)", "saved \(stored.id)"))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a volunteer.")
        @Argument(help: "The volunteer's id.") var id: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let volunteer = try await PatrolSession.run(connection) { patrol in
                try await patrol.roster.getVolunteer(PatrolV1.GetVolunteerRequest(id: id))
            }
            if json { return Output.json(volunteer) }
            let rows: [(String, String)] = [
                (Labels.text("编号", "id"), volunteer.id),
                (Labels.text("姓名", "name"), volunteer.name),
                (Labels.text("电话", "phone"), volunteer.phone),
                (Labels.text("类别", "kind"), PatrolLabels.kind(volunteer.kind)),
                (Labels.text("技能", "skills"), volunteer.skills.joined(separator: ", ")),
                (Labels.text("村", "village"), volunteer.villageCode),
                (Labels.text("队", "team"), volunteer.teamID),
                (Labels.text("在岗", "active"), volunteer.active ? Labels.text("是", "yes") : Labels.text("否", "no")),
                (Labels.text("意向区域", "prefers areas"), volunteer.preferredAreaIds.joined(separator: ", ")),
                (Labels.text("意向班次", "prefers shifts"), volunteer.preferredShiftNames.joined(separator: ", ")),
            ]
            for (label, value) in rows where !value.isEmpty { Console.current.line(label + ": " + value) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List volunteers, by id.")
        @Option(help: "Only of this 12-digit village.") var village: String = ""
        @Option(help: "Only of this team.") var team: String = ""
        @Flag(help: "Inactive ones too.") var all = false
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let (village, team, all) = (village, team, all)
            let volunteers = try await PatrolSession.run(connection) { patrol in
                try await PatrolSession.all { page in
                    let answer = try await patrol.roster.listVolunteers(
                        PatrolV1.ListVolunteersRequest(
                            villageCode: village,
                            includeInactive: all,
                            page: page,
                            teamID: team
                        )
                    )
                    return (answer.volunteers, answer.page)
                }
            }
            if json { return Output.json(volunteers) }
            Output.table(
                [
                    Labels.text("编号", "ID"), Labels.text("姓名", "NAME"), Labels.text("电话", "PHONE"),
                    Labels.text("类别", "KIND"), Labels.text("技能", "SKILLS"), Labels.text("队", "TEAM"),
                    Labels.text("村", "VILLAGE"), Labels.text("在岗", "ACTIVE"),
                ],
                volunteers.map { volunteer in
                    [
                        volunteer.id, volunteer.name, volunteer.phone, PatrolLabels.kind(volunteer.kind),
                        volunteer.skills.joined(separator: ","), volunteer.teamID, volunteer.villageCode,
                        volunteer.active ? Labels.text("是", "yes") : Labels.text("否", "no"),
                    ]
                }
            )
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import volunteers from a CSV file: all of them, or none.",
            discussion: """
                The file is UTF-8 (as spreadsheets save "CSV UTF-8"), its first row the column \
                names: id, name, phone, kind (veteran, activist, other, or 退伍老兵, 治安积极分子, 其他), \
                and optionally skills, village_code, team_id, active (yes/no, 是/否; default yes), \
                preferred_area_ids, preferred_shift_names; lists separated by ; or |. A volunteer \
                whose id exists is updated. When any row is rejected, nothing is imported, and every \
                rejected row is listed with its field.
                """
        )

        @Argument(help: "The CSV file.") var file: String
        @Flag(help: "Check every row, import nothing.") var dryRun = false
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let rows = try VolunteerCSV.read(path: file)
            Console.current.note(Labels.text("读取 \(rows.rows.count) 行", "read \(rows.rows.count) rows from \(file)"))
            // Rows the file itself gets wrong are checked by the service too (a dry run), so that
            // every problem of every row is listed at once.
            let local = rows.rejected
            let dryRun = dryRun || !local.isEmpty
            var answer = try await PatrolSession.run(connection) { patrol in
                try await patrol.roster.importVolunteers(
                    PatrolV1.ImportVolunteersRequest(rows: rows.rows, dryRun: dryRun)
                )
            }
            let localFields = Set(local.map { "\($0.row)/\($0.field)" })
            let rejected = (local + answer.rejected.filter { !localFields.contains("\($0.row)/\($0.field)") })
                .sorted { ($0.row, $0.field) < ($1.row, $1.field) }
            answer.rejected = rejected
            if json {
                Output.json(answer)
            } else if rejected.isEmpty {
                Console.current.line(
                    self.dryRun
                        ? Labels.text(
                            "检查通过：将新增 \(answer.created)，更新 \(answer.updated)",
                            "all rows are good: \(answer.created) to add, \(answer.updated) to update"
                        )
                        : Labels.text(
                            "已导入：新增 \(answer.created)，更新 \(answer.updated)",
                            "imported: \(answer.created) added, \(answer.updated) updated"
                        )
                )
            } else {
                Output.table(
                    [Labels.text("行", "ROW"), Labels.text("列", "COLUMN"), Labels.text("问题", "PROBLEM")],
                    rejected.map { [String($0.row), $0.field, $0.message] }
                )
            }
            if !rejected.isEmpty {
                let count = Set(rejected.map(\.row)).count
                throw CLIError(
                    Labels.text(
                        "\(count) 行有误，未导入任何记录",
                        "\(count) \(count == 1 ? "row" : "rows") rejected; nothing was imported"
                    )
                )
            }
        }
    }
}

/// `sanlian patrol team …`.
struct TeamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "team",
        abstract: "Add and list patrol teams.",
        subcommands: [Add.self, List.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a team, or rename one.")
        @Argument(help: "The team's id.") var id: String
        @Option(help: "Name.") var name: String
        @Option(help: "The leading volunteer's id.") var leader: String = ""
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let team = PatrolV1.Team(id: id, name: name, leaderVolunteerID: leader)
            _ = try await PatrolSession.run(connection) { try await $0.roster.upsertTeam(team) }
            Console.current.line(Labels.text("已保存 \(id)", "saved \(id)"))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List teams.")
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let teams = try await PatrolSession.run(connection) { patrol in
                try await PatrolSession.all { page in
                    let answer = try await patrol.roster.listTeams(PatrolV1.ListTeamsRequest(page: page))
                    return (answer.teams, answer.page)
                }
            }
            if json { return Output.json(teams) }
            Output.table(
                [Labels.text("编号", "ID"), Labels.text("名称", "NAME"), Labels.text("队长", "LEADER")],
                teams.map { [$0.id, $0.name, $0.leaderVolunteerID] }
            )
        }
    }
}

/// `sanlian patrol area …`.
struct AreaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "area",
        abstract: "Add and list patrol areas (villages, enterprise zones, roads).",
        subcommands: [Add.self, List.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an area, or change one.")
        @Argument(help: "The area's id.") var id: String
        @Option(help: "Name.") var name: String
        @Option(help: "village, enterprise_zone or road.") var kind: PatrolV1.AreaKind
        @Option(help: "12-digit village code.") var village: String = ""
        @Option(help: "Where: a road and kilometre, a landmark.") var place: String = ""
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let area = PatrolV1.PatrolArea(
                id: id,
                name: name,
                kind: kind,
                place: village.isEmpty && place.isEmpty ? nil : CommonV1.Place(villageCode: village, description: place)
            )
            _ = try await PatrolSession.run(connection) { try await $0.roster.upsertArea(area) }
            Console.current.line(Labels.text("已保存 \(id)", "saved \(id)"))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List areas.")
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let areas = try await PatrolSession.run(connection) { patrol in
                try await PatrolSession.all { page in
                    let answer = try await patrol.roster.listAreas(PatrolV1.ListAreasRequest(page: page))
                    return (answer.areas, answer.page)
                }
            }
            if json { return Output.json(areas) }
            Output.table(
                [
                    Labels.text("编号", "ID"), Labels.text("名称", "NAME"), Labels.text("类别", "KIND"),
                    Labels.text("位置", "PLACE"),
                ],
                areas.map { [$0.id, $0.name, $0.kind.shortName, $0.place?.description ?? ""] }
            )
        }
    }
}

/// `sanlian patrol shift …`.
struct ShiftCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shift",
        abstract: "Add and list shift templates (an area's day, evening and night shifts).",
        subcommands: [Add.self, List.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a shift template, or change one.",
            discussion: "A shift ending at or before its start ends the next day (22:00 to 06:00)."
        )
        @Argument(help: "The template's id.") var id: String
        @Option(help: "The area's id.") var area: String
        @Option(help: "Name: day, evening, night…") var name: String
        @Option(help: "Start, e.g. 22:00.") var start: String
        @Option(help: "End, e.g. 06:00.") var end: String
        @Option(help: "People needed.") var people: UInt32
        @Flag(help: "A night shift: nobody alone, a veteran on it.") var night = false
        @Option(name: .customLong("skill"), help: "A skill someone on the shift must have (repeatable).")
        var skills: [String] = []
        @Option(
            name: .customLong("weekday"),
            help: "An ISO weekday it runs, 1 = Monday (repeatable; default every day)."
        )
        var weekdays: [UInt32] = []
        @Flag(help: "No new shifts of it.") var retired = false
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let template = PatrolV1.ShiftTemplate(
                id: id,
                name: name,
                areaID: area,
                startMinute: try PatrolArguments.minute(start, option: "--start"),
                endMinute: try PatrolArguments.minute(end, option: "--end"),
                peopleNeeded: people,
                night: night,
                requiredSkills: skills,
                weekdays: weekdays,
                retired: retired
            )
            let stored = try await PatrolSession.run(connection) { try await $0.roster.upsertShiftTemplate(template) }
            if json { return Output.json(stored) }
            Console.current.line(
                Labels.text(
                    "已保存 \(id)（每 \(stored.checkInEveryMinutes) 分钟签到一次）",
                    "saved \(id) (check-in every \(stored.checkInEveryMinutes) minutes)"
                )
            )
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List shift templates.")
        @Option(help: "Only of this area.") var area: String = ""
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let area = area
            let templates = try await PatrolSession.run(connection) { patrol in
                try await PatrolSession.all { page in
                    let answer = try await patrol.roster.listShiftTemplates(
                        PatrolV1.ListShiftTemplatesRequest(areaID: area, page: page)
                    )
                    return (answer.templates, answer.page)
                }
            }
            if json { return Output.json(templates) }
            func clock(_ minute: UInt32) -> String { String(format: "%02d:%02d", minute / 60, minute % 60) }
            Output.table(
                [
                    Labels.text("编号", "ID"), Labels.text("区域", "AREA"), Labels.text("班次", "SHIFT"),
                    Labels.text("时间", "TIME"), Labels.text("人数", "PEOPLE"), Labels.text("要求", "NEEDS"),
                    Labels.text("签到间隔", "CHECK-IN"), Labels.text("星期", "DAYS"),
                ],
                templates.map { template in
                    [
                        template.id + (template.retired ? Labels.text("（停用）", " (retired)") : ""), template.areaID,
                        template.name, clock(template.startMinute) + "–" + clock(template.endMinute),
                        String(template.peopleNeeded),
                        ((template.night ? [Labels.text("夜班", "night")] : []) + template.requiredSkills).joined(
                            separator: ","
                        ),
                        "\(template.checkInEveryMinutes)m",
                        template.weekdays.isEmpty
                            ? Labels.text("每天", "every day")
                            : template.weekdays.map(String.init).joined(separator: ","),
                    ]
                }
            )
        }
    }
}

/// `sanlian patrol availability …`.
struct AvailabilityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "availability",
        abstract: "Set and show when a volunteer can patrol, and their time off.",
        subcommands: [SetAvailability.self, Show.self]
    )

    struct SetAvailability: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Set a volunteer's availability and time off (replacing what they had, unless --append).",
            discussion: """
                Spans are whole days (2026-12-07..2026-12-09, the last included) or times \
                ("2026-12-07 18:00..2026-12-07 23:00"). With no --available span a volunteer is \
                available whenever not on time off.
                """
        )
        @Argument(help: "The volunteer's id.") var volunteer: String
        @Option(name: .customLong("available"), help: "A span the volunteer can patrol in (repeatable).")
        var available: [String] = []
        @Option(name: .customLong("off"), help: "A span of time off (repeatable).") var off: [String] = []
        @Flag(help: "Add to the volunteer's spans instead of replacing them.") var append = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let time = PatrolSession.time(try connection.resolve())
            let windows =
                try available.map {
                    PatrolV1.AvailabilityWindow(
                        range: try PatrolArguments.span($0, option: "--available", time: time),
                        available: true
                    )
                }
                + off.map {
                    PatrolV1.AvailabilityWindow(
                        range: try PatrolArguments.span($0, option: "--off", time: time),
                        available: false
                    )
                }
            let request = PatrolV1.SetAvailabilityRequest(volunteerID: volunteer, windows: windows, append: append)
            let answer = try await PatrolSession.run(connection) { try await $0.roster.setAvailability(request) }
            Console.current.line(
                Labels.text("已保存：\(volunteer) 共 \(answer.windows) 段", "saved: \(volunteer) has \(answer.windows) spans")
            )
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a volunteer's availability and time off.")
        @Argument(help: "The volunteer's id.") var volunteer: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = PatrolV1.GetAvailabilityRequest(volunteerID: volunteer)
            let (answer, time) = try await PatrolSession.run(connection) { patrol in
                (try await patrol.roster.getAvailability(request), patrol.time)
            }
            if json { return Output.json(answer) }
            if answer.windows.isEmpty {
                return Console.current.line(Labels.text("随时可排班", "available at any time"))
            }
            Output.table(
                [Labels.text("类型", "KIND"), Labels.text("从", "FROM"), Labels.text("到", "TO")],
                answer.windows.map { window in
                    [
                        window.available ? Labels.text("可排班", "available") : Labels.text("请假", "time off"),
                        PatrolArguments.moment(window.range?.fromUnixMs ?? 0, time),
                        PatrolArguments.moment(window.range?.toUnixMs ?? 0, time),
                    ]
                }
            )
        }
    }
}
