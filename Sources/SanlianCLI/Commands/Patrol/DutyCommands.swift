import ArgumentParser
import Foundation
import PatrolContract
import SanlianRPC
import SanlianWire

/// `sanlian patrol assignment …`.
struct AssignmentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assignment",
        abstract: "Assign by hand, confirm, complete, mark no-shows, cancel, lock and unlock assignments.",
        subcommands: [Add.self, Change.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put a volunteer on a shift by hand (kept to the hard rules)."
        )
        @Option(help: "The shift template's id.") var shift: String
        @Option(help: "The day.") var day: String
        @Option(help: "The volunteer's id.") var volunteer: String
        @Flag(help: "Lock it: generating the roster again keeps it.") var lock = false
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = PatrolV1.AssignByHandRequest(
                shiftTemplateID: shift,
                day: day,
                volunteerID: volunteer,
                locked: lock
            )
            let assignment = try await PatrolSession.run(connection) { try await $0.roster.assignByHand(request) }
            if json { return Output.json(assignment) }
            Console.current.line(Labels.text("已排班 \(assignment.id)", "assigned: \(assignment.id)"))
        }
    }

    struct Change: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Change an assignment's state (confirmed, completed, no_show, cancelled) or its lock."
        )
        @Argument(help: "The assignment's id.") var id: String
        @Option(help: "The new state: confirmed, completed, no_show or cancelled.") var state: PatrolV1.AssignmentState?
        @Flag(inversion: .prefixedNo, help: "Lock or unlock it.") var lock: Bool?
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func validate() throws {
            guard state != nil || lock != nil else { throw ValidationError("give --state, --lock or --no-lock") }
        }

        func run() async throws {
            let request = PatrolV1.UpdateAssignmentRequest(assignmentID: id, state: state ?? .unspecified, locked: lock)
            let assignment = try await PatrolSession.run(connection) { try await $0.roster.updateAssignment(request) }
            if json { return Output.json(assignment) }
            Console.current.line(
                "\(assignment.id): \(PatrolLabels.state(assignment.state))\(assignment.locked ? " 🔒" : "")"
            )
        }
    }
}

/// `sanlian patrol swap …`.
struct SwapCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swap",
        abstract: "Ask for, answer, approve and list shift swaps between volunteers.",
        discussion: """
            A swap is asked, then accepted or declined by the other volunteer, then approved or \
            rejected by a patrol coordinator; the roster changes when it is approved, and only \
            within the hard rules.
            """,
        subcommands: [Request.self, Decide.self, List.self]
    )

    struct Request: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Ask to give an assignment to another volunteer.")
        @Argument(help: "The assignment given away.") var assignment: String
        @Option(help: "The volunteer taking it.") var to: String
        @Option(name: .customLong("in-return"), help: "Their assignment taken in return (an exchange).")
        var inReturn: String = ""
        @Option(help: "Why.") var reason: String = ""
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = PatrolV1.SwapRequest(
                assignmentID: assignment,
                toVolunteerID: to,
                reason: reason,
                inReturnAssignmentID: inReturn
            )
            let swap = try await PatrolSession.run(connection) { try await $0.roster.requestSwap(request) }
            if json { return Output.json(swap) }
            Console.current.line(Labels.text("已申请换班 \(swap.id)", "swap requested: \(swap.id)"))
        }
    }

    struct Decide: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "decide",
            abstract: "Answer a swap: accept or decline (the other volunteer), approve or reject (a coordinator)."
        )
        @Argument(help: "The swap's id.") var swap: String
        @Argument(help: "accept, decline, approve or reject.") var decision: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let decisions: [String: PatrolV1.SwapDecision] = [
                "accept": .accept, "decline": .decline, "approve": .approve, "reject": .reject,
            ]
            guard let decision = decisions[decision.lowercased()] else {
                throw ValidationError("decision: \"\(self.decision)\" is not accept, decline, approve or reject")
            }
            let request = PatrolV1.DecideSwapRequest(swapID: swap, decision: decision)
            let answer = try await PatrolSession.run(connection) { try await $0.roster.decideSwap(request) }
            if json { return Output.json(answer) }
            Console.current.line("\(answer.id): \(answer.state.shortName)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List swaps, oldest first.")
        @Option(name: .customLong("state"), help: "Only in this state (repeatable).") var states: [PatrolV1.SwapState] =
            []
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let states = states
            let (swaps, time) = try await PatrolSession.run(connection) { patrol in
                let swaps = try await PatrolSession.all { page in
                    let answer = try await patrol.roster.listSwaps(
                        PatrolV1.ListSwapsRequest(states: states, page: page)
                    )
                    return (answer.swaps, answer.page)
                }
                return (swaps, patrol.time)
            }
            if json { return Output.json(swaps) }
            Output.table(
                [
                    Labels.text("编号", "ID"), Labels.text("状态", "STATE"), Labels.text("班次", "ASSIGNMENT"),
                    Labels.text("从", "FROM"), Labels.text("给", "TO"), Labels.text("交换", "IN RETURN"),
                    Labels.text("申请时间", "ASKED"), Labels.text("原因", "REASON"),
                ],
                swaps.map { swap in
                    [
                        swap.id, swap.state.shortName, swap.assignmentID, swap.fromVolunteerID, swap.toVolunteerID,
                        swap.inReturnAssignmentID, PatrolArguments.moment(swap.requestedUnixMs, time), swap.reason,
                    ]
                }
            )
        }
    }
}

/// `sanlian patrol checkin ASSIGNMENT`.
struct CheckInCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkin",
        abstract: "Check in on a shift: the first check-in starts the patrol; each later one keeps it on cadence."
    )
    @Argument(help: "The assignment's id.") var assignment: String
    @Option(help: "12-digit village code of where the volunteer is.") var village: String = ""
    @Option(help: "Where the volunteer is.") var place: String = ""
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup(title: "Connection options") var connection: ConnectionOptions

    func run() async throws {
        let request = PatrolV1.CheckInRequest(
            assignmentID: assignment,
            place: village.isEmpty && place.isEmpty ? nil : CommonV1.Place(villageCode: village, description: place)
        )
        let (answer, time) = try await PatrolSession.run(connection) { patrol in
            (try await patrol.patrols.checkIn(request), patrol.time)
        }
        if json { return Output.json(answer) }
        var line = answer.started ? Labels.text("巡逻开始", "patrol started") : Labels.text("已签到", "checked in")
        if answer.resolvedMissed { line += Labels.text("（已解除未签到告警）", " (the missed check-in's alert is resolved)") }
        Console.current.line(
            line + Labels.text("；下次签到 ", "; next check-in due ") + PatrolArguments.moment(answer.nextDueUnixMs, time)
        )
    }
}

/// `sanlian patrol checkout ASSIGNMENT`.
struct CheckOutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "checkout", abstract: "End the patrol on a shift.")
    @Argument(help: "The assignment's id.") var assignment: String
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup(title: "Connection options") var connection: ConnectionOptions

    func run() async throws {
        let request = PatrolV1.CheckOutRequest(assignmentID: assignment)
        let answer = try await PatrolSession.run(connection) { try await $0.patrols.checkOut(request) }
        if json { return Output.json(answer) }
        Console.current.line(
            Labels.text("巡逻结束：\(answer.minutesOnPatrol) 分钟", "patrol ended: \(answer.minutesOnPatrol) minutes")
        )
    }
}

/// `sanlian patrol checkins`.
struct CheckInsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkins",
        abstract: "List check-ins, check-outs and missed check-ins, oldest first."
    )
    @Option(help: "Only of this assignment.") var assignment: String = ""
    @Option(help: "Only within this span, e.g. 2026-12-07..2026-12-07.") var span: String?
    @Flag(help: "Only the missed ones.") var missed = false
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup(title: "Connection options") var connection: ConnectionOptions

    func run() async throws {
        let time = PatrolSession.time(try connection.resolve())
        let range = try span.map { try PatrolArguments.span($0, option: "--span", time: time) }
        let (assignment, missed) = (assignment, missed)
        let records = try await PatrolSession.run(connection) { patrol in
            try await PatrolSession.all { page in
                let answer = try await patrol.patrols.listCheckIns(
                    PatrolV1.ListCheckInsRequest(
                        assignmentID: assignment,
                        range: range,
                        kinds: missed ? [.missed] : [],
                        page: page
                    )
                )
                return (answer.records, answer.page)
            }
        }
        if json { return Output.json(records) }
        Output.table(
            [
                Labels.text("时间", "TIME"), Labels.text("类型", "KIND"), Labels.text("志愿者", "VOLUNTEER"),
                Labels.text("班次", "ASSIGNMENT"), Labels.text("位置", "PLACE"),
            ],
            records.map { record in
                [
                    PatrolArguments.moment(record.atUnixMs, time),
                    record.kind == .missed
                        ? Colour.warning(PatrolLabels.checkIn(record.kind) + " #\(record.missNumber)")
                        : PatrolLabels.checkIn(record.kind),
                    record.volunteerID, record.assignmentID,
                    [record.place?.villageCode, record.place?.description].compactMap { $0 }.filter { !$0.isEmpty }
                        .joined(separator: " "),
                ]
            }
        )
    }
}

/// `sanlian patrol finding …`.
struct FindingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finding",
        abstract: "Report and list what patrols find.",
        subcommands: [Report.self, List.self]
    )

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Report a finding of a patrol: it raises an alert; a hazard is also reported to the hazards service."
        )
        @Argument(help: "The assignment whose patrol found it.") var assignment: String
        @Option(help: "broken_facility, suspicious_person, road_hazard, fire_risk, dispute or other.")
        var kind: PatrolV1.FindingKind
        @Option(help: "What was found (1–500 characters).") var description: String
        @Option(help: "12-digit village code.") var village: String = ""
        @Option(help: "Where: a road and kilometre, a landmark.") var place: String = ""
        @Flag(help: "A hazard (road hazards and fire risks always are).") var hazard = false
        @Flag(help: "An exercise: its alert is marked as a drill.") var drill = false
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = PatrolV1.ReportFindingRequest(
                assignmentID: assignment,
                kind: kind,
                place: village.isEmpty && place.isEmpty
                    ? nil : CommonV1.Place(villageCode: village, description: place),
                description: description,
                raiseHazard: hazard,
                drill: drill
            )
            let finding = try await PatrolSession.run(connection) { try await $0.patrols.reportFinding(request) }
            if json { return Output.json(finding) }
            Console.current.line(
                Labels.text(
                    "已记录 \(finding.id)，告警 \(finding.alertIdentifier)",
                    "recorded \(finding.id), alert \(finding.alertIdentifier)"
                )
                    + (finding.hazardReported ? Labels.text("，已报隐患", ", reported as a hazard") : "")
            )
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List findings, oldest first.")
        @Option(help: "Only within this span, e.g. 2026-12-01..2026-12-31.") var span: String?
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let time = PatrolSession.time(try connection.resolve())
            let range = try span.map { try PatrolArguments.span($0, option: "--span", time: time) }
            let findings = try await PatrolSession.run(connection) { patrol in
                try await PatrolSession.all { page in
                    let answer = try await patrol.patrols.listFindings(
                        PatrolV1.ListFindingsRequest(range: range, page: page)
                    )
                    return (answer.findings, answer.page)
                }
            }
            if json { return Output.json(findings) }
            Output.table(
                [
                    Labels.text("时间", "FOUND"), Labels.text("类型", "KIND"), Labels.text("志愿者", "VOLUNTEER"),
                    Labels.text("描述", "DESCRIPTION"), Labels.text("告警", "ALERT"),
                ],
                findings.map { finding in
                    [
                        PatrolArguments.moment(finding.foundUnixMs, time),
                        finding.kind.shortName
                            + (finding.drill ? " " + Labels.drill : ""), finding.volunteerID,
                        finding.description, finding.alertIdentifier,
                    ]
                }
            )
        }
    }
}

/// `sanlian patrol publicity …`.
struct PublicityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publicity",
        abstract: "Record and list safety-publicity sessions.",
        subcommands: [Record.self, List.self]
    )

    struct Record: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a safety-publicity session.")
        @Option(help: "Topic (1–200 characters).") var topic: String
        @Option(help: "Audience, e.g. 村民, 学生.") var audience: String = ""
        @Option(help: "How many people came.") var attendees: UInt32 = 0
        @Option(help: "When, e.g. \"2026-12-07 19:30\".") var at: String
        @Option(help: "How long, in minutes.") var minutes: UInt32
        @Option(name: .customLong("volunteer"), help: "A volunteer who ran it (repeatable).") var volunteers: [String] =
            []
        @Option(help: "12-digit village code.") var village: String = ""
        @Option(help: "Where.") var place: String = ""
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let time = PatrolSession.time(try connection.resolve())
            let session = PatrolV1.PublicitySession(
                place: village.isEmpty && place.isEmpty
                    ? nil : CommonV1.Place(villageCode: village, description: place),
                topic: topic,
                audience: audience,
                attendees: attendees,
                heldUnixMs: try PatrolArguments.moment(at, option: "--at", time: time),
                durationMinutes: minutes,
                volunteerIds: volunteers
            )
            let stored = try await PatrolSession.run(connection) { try await $0.publicity.recordSession(session) }
            if json { return Output.json(stored) }
            Console.current.line(Labels.text("已记录 \(stored.id)", "recorded \(stored.id)"))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List publicity sessions, oldest first.")
        @Option(help: "Only within this span, e.g. 2026-12-01..2026-12-31.") var span: String?
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let time = PatrolSession.time(try connection.resolve())
            let range = try span.map { try PatrolArguments.span($0, option: "--span", time: time) }
            let sessions = try await PatrolSession.run(connection) { patrol in
                try await PatrolSession.all { page in
                    let answer = try await patrol.publicity.listSessions(
                        PatrolV1.ListSessionsRequest(range: range, page: page)
                    )
                    return (answer.sessions, answer.page)
                }
            }
            if json { return Output.json(sessions) }
            Output.table(
                [
                    Labels.text("时间", "HELD"), Labels.text("主题", "TOPIC"), Labels.text("对象", "AUDIENCE"),
                    Labels.text("人数", "ATTENDEES"), Labels.text("分钟", "MINUTES"), Labels.text("志愿者", "VOLUNTEERS"),
                ],
                sessions.map { session in
                    [
                        PatrolArguments.moment(session.heldUnixMs, time), session.topic, session.audience,
                        String(session.attendees), String(session.durationMinutes),
                        session.volunteerIds.joined(separator: ","),
                    ]
                }
            )
        }
    }
}

/// `sanlian patrol hours --month 2026-12`.
struct HoursCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hours",
        abstract: "A month's volunteer hours: per volunteer, per team and for the township."
    )
    @Option(help: "The month, e.g. 2026-12.") var month: String
    @Option(help: "Only this volunteer.") var volunteer: String = ""
    @Option(help: "Only this team's volunteers.") var team: String = ""
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup(title: "Connection options") var connection: ConnectionOptions

    func run() async throws {
        let month = try PatrolArguments.month(month, option: "--month")
        let (volunteer, team) = (volunteer, team)
        let pages = try await PatrolSession.run(connection) { patrol in
            var pages: [PatrolV1.HoursSummaryResponse] = []
            var token = ""
            repeat {
                let answer = try await patrol.publicity.hoursSummary(
                    PatrolV1.HoursSummaryRequest(
                        month: month,
                        volunteerID: volunteer,
                        teamID: team,
                        page: CommonV1.PageRequest(pageSize: 1000, pageToken: token)
                    )
                )
                pages.append(answer)
                token = answer.page?.nextPageToken ?? ""
            } while !token.isEmpty
            return pages
        }
        var summary = pages[0]
        summary.volunteers = pages.flatMap(\.volunteers)
        if json { return Output.json(summary) }
        func hours(_ minutes: UInt32) -> String { String(format: "%.1f", Double(minutes) / 60) }
        Output.table(
            [
                Labels.text("志愿者", "VOLUNTEER"), Labels.text("姓名", "NAME"), Labels.text("队", "TEAM"),
                Labels.text("巡逻小时", "PATROL H"), Labels.text("宣传小时", "PUBLICITY H"), Labels.text("完成班次", "SHIFTS"),
                Labels.text("缺勤", "NO-SHOWS"), Labels.text("未签到", "MISSED"),
            ],
            summary.volunteers.map { row in
                [
                    row.volunteerID, row.name, row.teamID, hours(row.patrolMinutes), hours(row.publicityMinutes),
                    String(row.shiftsCompleted), String(row.noShows), String(row.missedCheckIns),
                ]
            }
        )
        Console.current.line()
        Output.table(
            [
                Labels.text("队", "TEAM"), Labels.text("名称", "NAME"), Labels.text("人数", "VOLUNTEERS"),
                Labels.text("巡逻小时", "PATROL H"), Labels.text("宣传小时", "PUBLICITY H"), Labels.text("完成班次", "SHIFTS"),
                Labels.text("缺勤", "NO-SHOWS"),
            ],
            summary.teams.map { team in
                [
                    team.teamID.isEmpty ? Labels.text("（无）", "(none)") : team.teamID, team.name,
                    String(team.volunteers),
                    hours(team.patrolMinutes), hours(team.publicityMinutes), String(team.shiftsCompleted),
                    String(team.noShows),
                ]
            }
        )
        Console.current.line()
        Console.current.line(
            Labels.text(
                "全镇：巡逻 \(hours(summary.patrolMinutes)) 小时，宣传 \(summary.sessions) 场 \(summary.attendees) 人次、\(hours(summary.publicityMinutes)) 小时",
                "township: \(hours(summary.patrolMinutes)) patrol hours; \(summary.sessions) publicity sessions, \(summary.attendees) attendees, \(hours(summary.publicityMinutes)) volunteer hours"
            )
        )
    }
}
