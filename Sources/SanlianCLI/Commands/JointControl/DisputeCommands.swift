import ArgumentParser
import Foundation
import HazardsContract
import SanlianClock
import SanlianRPC
import SanlianWire

/// `sanlian disputes …`: the 四分 method.
struct DisputesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disputes",
        abstract: "The 四分 dispute method: intake, assess, route, mediate, follow up, close; the monthly analysis.",
        discussion: """
            分类受理 intake (every complaint is accepted), 分级评估 assess, 分流化解 route to a mediation \
            channel, 分案处理 sessions and the outcome; what is not resolved is followed up. Closing a \
            case graded relatively_major (较大) or above needs a station leader.
            """,
        subcommands: [
            Intake.self, Assess.self, Route.self, Session.self, Outcome.self, FollowUp.self, Close.self, Show.self,
            List.self, Workers.self, Analysis.self,
        ]
    )

    /// Prints the dispute's new state after a step.
    static func stepped(_ dispute: HazardsV1.Dispute, json: Bool) {
        if json { return Output.json(dispute) }
        Console.current.line("\(dispute.id): \(JointControlLabels.state(dispute.state))")
    }

    struct Intake: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Accept a complaint (有诉必受) into one of the five categories.",
            discussion: """
                Each --party is the party's name, then any of role=, id= (an 18-character resident \
                ID number), phone= and enterprise=, separated by commas: \
                --party "王大山,role=complainant,phone=13812345601".
                """
        )
        @Option(help: "land_requisition, labour_wages, public_order, safety or other.") var category:
            HazardsV1.DisputeCategory
        @Option(name: .customLong("party"), help: "A party (repeatable; see above).") var parties: [String]
        @Option(help: "12-digit village code.") var village: String
        @Option(help: "Village group (村民小组).") var group: String = ""
        @Option(help: "Where, e.g. 葡萄园.") var place: String = ""
        @Option(help: "The complaint (1–1000 characters).") var complaint: String
        @Flag(help: "An exercise: marked as a drill, never counted.") var drill = false
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = HazardsV1.IntakeRequest(
                category: category,
                parties: try parties.enumerated().map { try Self.party($1, index: $0) },
                place: CommonV1.Place(villageCode: village, villageGroup: group, description: place),
                complaint: complaint,
                drill: drill
            )
            let dispute = try await JointControlSession.run(connection) { try await $0.disputes.intake(request) }
            if json { return Output.json(dispute) }
            Console.current.line(
                Labels.text("已受理 \(dispute.id)", "accepted: \(dispute.id)")
                    + (dispute.recurrenceOf.isEmpty
                        ? "" : Labels.text("（复发，前案 \(dispute.recurrenceOf)）", " (recurs \(dispute.recurrenceOf))"))
            )
        }

        static func party(_ text: String, index: Int) throws -> HazardsV1.Party {
            let items = text.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            var party = HazardsV1.Party(name: items.first ?? "")
            for item in items.dropFirst() {
                let pair = item.split(separator: "=", maxSplits: 1).map(String.init)
                guard pair.count == 2 else {
                    throw ValidationError("--party \(index + 1): \"\(item)\" is not role=, id=, phone= or enterprise=")
                }
                switch pair[0] {
                case "role": party.role = pair[1]
                case "id": party.residentIDNumber = pair[1]
                case "phone": party.phone = pair[1]
                case "enterprise": party.enterprise = pair[1]
                default:
                    throw ValidationError("--party \(index + 1): \"\(pair[0])\" is not role, id, phone or enterprise")
                }
            }
            return party
        }
    }

    struct Assess: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Grade a dispute (分级评估): a recurrence is raised one level, the reason recorded."
        )
        @Argument(help: "The dispute's id.") var id: String
        @Option(help: "extremely_major, major, relatively_major, general or simple.") var grade: HazardsV1.DisputeGrade
        @Option(help: "Why this grade.") var reason: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = HazardsV1.AssessRequest(id: id, grade: grade, reason: reason)
            let dispute = try await JointControlSession.run(connection) { try await $0.disputes.assess(request) }
            if json { return Output.json(dispute) }
            Console.current.line("\(dispute.id): \(JointControlLabels.grade(dispute.grade))（\(dispute.gradeReason)）")
        }
    }

    struct Route: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Route a dispute to a mediation channel (分流化解).")
        @Argument(help: "The dispute's id.") var id: String
        @Option(help: "police_administrative, peoples, professional or judicial.") var channel:
            HazardsV1.MediationChannel
        @Option(help: "Why this channel.") var reason: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = HazardsV1.RouteRequest(id: id, channel: channel, reason: reason)
            DisputesCommand.stepped(
                try await JointControlSession.run(connection) { try await $0.disputes.route(request) },
                json: json
            )
        }
    }

    struct Session: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a mediation session: when, who mediated, what happened."
        )
        @Argument(help: "The dispute's id.") var id: String
        @Option(help: "Who mediated.") var mediator: String
        @Option(help: "What happened.") var summary: String
        @Option(help: "When, e.g. \"2026-12-07 10:00\" (default: now).") var at: String?
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let time = JointControlSession.time(try connection.resolve())
            let held = try at.map { try LocalTime.parse($0, option: "--at", time: time) } ?? 0
            let request = HazardsV1.MediationSessionRequest(
                id: id,
                session: HazardsV1.MediationSession(heldUnixMs: held, mediator: mediator, summary: summary)
            )
            DisputesCommand.stepped(
                try await JointControlSession.run(connection) { try await $0.disputes.recordSession(request) },
                json: json
            )
        }
    }

    struct Outcome: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Record the outcome: resolved (with the agreement's terms), not_resolved, or referred_upward (上交)."
        )
        @Argument(help: "The dispute's id.") var id: String
        @Argument(help: "resolved, not_resolved or referred_upward.") var outcome: HazardsV1.Outcome
        @Option(help: "The agreement's terms (for resolved).") var agreement: String = ""
        @Option(help: "Why (for not_resolved and referred_upward).") var note: String = ""
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = HazardsV1.OutcomeRequest(id: id, agreement: agreement, outcome: outcome, note: note)
            DisputesCommand.stepped(
                try await JointControlSession.run(connection) { try await $0.disputes.recordOutcome(request) },
                json: json
            )
        }
    }

    struct FollowUp: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "followup",
            abstract: "Schedule and record follow-up visits (跟踪回访), and list those due.",
            subcommands: [Schedule.self, Record.self, Due.self]
        )

        struct Schedule: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Schedule a follow-up visit.")
            @Argument(help: "The dispute's id.") var id: String
            @Option(help: "When, e.g. \"2026-12-14 10:00\".") var due: String
            @Flag(help: "Print JSON.") var json = false
            @OptionGroup(title: "Connection options") var connection: ConnectionOptions

            func run() async throws {
                let time = JointControlSession.time(try connection.resolve())
                let request = HazardsV1.FollowUpRequest(
                    id: id,
                    dueUnixMs: try LocalTime.parse(due, option: "--due", time: time)
                )
                DisputesCommand.stepped(
                    try await JointControlSession.run(connection) { try await $0.disputes.scheduleFollowUp(request) },
                    json: json
                )
            }
        }

        struct Record: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Record a follow-up visit made.")
            @Argument(help: "The dispute's id.") var id: String
            @Option(help: "What was found.") var note: String
            @Option(name: .customLong("follow-up"), help: "The follow-up visited (default: the earliest not done).")
            var followUp: String = ""
            @Flag(help: "Print JSON.") var json = false
            @OptionGroup(title: "Connection options") var connection: ConnectionOptions

            func run() async throws {
                let request = HazardsV1.FollowUpRecord(id: id, note: note, followUpID: followUp)
                DisputesCommand.stepped(
                    try await JointControlSession.run(connection) { try await $0.disputes.recordFollowUp(request) },
                    json: json
                )
            }
        }

        struct Due: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List follow-up visits due and not made.")
            @Option(help: "Due before this time, e.g. \"2026-12-31 00:00\" (default: now).") var before: String?
            @Flag(help: "Print JSON.") var json = false
            @OptionGroup(title: "Connection options") var connection: ConnectionOptions

            func run() async throws {
                let time = JointControlSession.time(try connection.resolve())
                let dueBefore = try before.map { try LocalTime.parse($0, option: "--before", time: time) } ?? 0
                let due = try await JointControlSession.run(connection) { session in
                    try await Paging.all { page in
                        let answer = try await session.disputes.listFollowUpsDue(
                            HazardsV1.ListFollowUpsDueRequest(dueBeforeUnixMs: dueBefore, page: page)
                        )
                        return (answer.followUps, answer.page)
                    }
                }
                if json { return Output.json(due) }
                Output.table(
                    [
                        Labels.text("回访", "FOLLOW-UP"), Labels.text("纠纷", "DISPUTE"), Labels.text("到期", "DUE"),
                        Labels.text("类别", "CATEGORY"), Labels.text("等级", "GRADE"), Labels.text("村", "VILLAGE"),
                    ],
                    due.map { item in
                        let when = LocalTime.format(item.followUp?.dueUnixMs ?? 0, time)
                        return [
                            item.followUp?.id ?? "", item.disputeID, item.late ? Colour.warning(when + "!") : when,
                            JointControlLabels.category(item.category), JointControlLabels.grade(item.grade),
                            item.villageCode,
                        ]
                    }
                )
            }
        }
    }

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Close a resolved or referred case (a station leader for 较大 and above)."
        )
        @Argument(help: "The dispute's id.") var id: String
        @Option(help: "A note.") var note: String = ""
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = HazardsV1.CloseDisputeRequest(id: id, note: note)
            DisputesCommand.stepped(
                try await JointControlSession.run(connection) { try await $0.disputes.close(request) },
                json: json
            )
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a dispute: its parties, sessions, follow-ups and history."
        )
        @Argument(help: "The dispute's id.") var id: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = HazardsV1.GetDisputeRequest(id: id)
            let (dispute, time) = try await JointControlSession.run(connection) { session in
                (try await session.disputes.get(request), session.time)
            }
            if json { return Output.json(dispute) }
            let rows: [(String, String)] = [
                (Labels.text("编号", "id"), dispute.id + (dispute.drill ? " " + Labels.drill : "")),
                (Labels.text("类别", "category"), JointControlLabels.category(dispute.category)),
                (Labels.text("状态", "state"), JointControlLabels.state(dispute.state)),
                (
                    Labels.text("等级", "grade"),
                    JointControlLabels.grade(dispute.grade)
                        + (dispute.gradeReason.isEmpty ? "" : "（\(dispute.gradeReason)）")
                ),
                (
                    Labels.text("分流", "channel"),
                    JointControlLabels.channel(dispute.channel)
                        + (dispute.channelReason.isEmpty ? "" : "（\(dispute.channelReason)）")
                ),
                (Labels.text("复发前案", "recurs"), dispute.recurrenceOf),
                (Labels.text("地点", "place"), JointControlLabels.place(dispute.place)),
                (Labels.text("诉求", "complaint"), dispute.complaint),
                (
                    Labels.text("受理", "accepted"),
                    LocalTime.format(dispute.acceptedUnixMs, time) + " " + dispute.acceptedBy
                ),
                (Labels.text("协议", "agreement"), dispute.agreement),
                (Labels.text("批准结案", "closing approved by"), dispute.closingApprovedBy),
            ]
            for (label, value) in rows where !value.trimmingCharacters(in: .whitespaces).isEmpty {
                Console.current.line(label + ": " + value)
            }
            Console.current.line()
            Output.table(
                [
                    Labels.text("当事人", "PARTY"), Labels.text("角色", "ROLE"), Labels.text("身份证号", "ID NUMBER"),
                    Labels.text("电话", "PHONE"), Labels.text("单位", "ENTERPRISE"),
                ],
                dispute.parties.map { [$0.name, $0.role, $0.residentIDNumber, $0.phone, $0.enterprise] }
            )
            if !dispute.sessions.isEmpty {
                Console.current.line()
                Output.table(
                    [Labels.text("调解时间", "SESSION"), Labels.text("调解人", "MEDIATOR"), Labels.text("情况", "SUMMARY")],
                    dispute.sessions.map { [LocalTime.format($0.heldUnixMs, time), $0.mediator, $0.summary] }
                )
            }
            if !dispute.followUps.isEmpty {
                Console.current.line()
                Output.table(
                    [
                        Labels.text("回访", "FOLLOW-UP"), Labels.text("到期", "DUE"), Labels.text("完成", "DONE"),
                        Labels.text("情况", "NOTE"),
                    ],
                    dispute.followUps.map {
                        [$0.id, LocalTime.format($0.dueUnixMs, time), LocalTime.format($0.doneUnixMs, time), $0.note]
                    }
                )
            }
            Console.current.line()
            Output.table(
                [
                    Labels.text("时间", "WHEN"), Labels.text("变化", "CHANGE"), Labels.text("由", "BY"),
                    Labels.text("说明", "NOTE"),
                ],
                dispute.history.map { event in
                    [
                        LocalTime.format(event.atUnixMs, time),
                        (event.from == .unspecified || event.from == event.to
                            ? "" : JointControlLabels.state(event.from) + " → ")
                            + JointControlLabels.state(event.to),
                        event.by, event.note,
                    ]
                }
            )
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List disputes, oldest first.")
        @Option(name: .customLong("state"), help: "Only in this state (repeatable).") var states:
            [HazardsV1.DisputeState] = []
        @Option(name: .customLong("category"), help: "Only of this category (repeatable).") var categories:
            [HazardsV1.DisputeCategory] = []
        @Option(name: .customLong("grade"), help: "Only of this grade (repeatable).") var grades:
            [HazardsV1.DisputeGrade] = []
        @Option(help: "Only in this 12-digit village.") var village: String = ""
        @Flag(help: "Only recurrences.") var recurrences = false
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = HazardsV1.ListDisputesRequest(
                states: states,
                categories: categories,
                grades: grades,
                villageCode: village,
                recurrences: recurrences
            )
            let (disputes, time) = try await JointControlSession.run(connection) { session in
                let disputes = try await Paging.all { page in
                    var paged = request
                    paged.page = page
                    let answer = try await session.disputes.list(paged)
                    return (answer.disputes, answer.page)
                }
                return (disputes, session.time)
            }
            if json { return Output.json(disputes) }
            Output.table(
                [
                    Labels.text("编号", "ID"), Labels.text("类别", "CATEGORY"), Labels.text("等级", "GRADE"),
                    Labels.text("分流", "CHANNEL"), Labels.text("状态", "STATE"), Labels.text("受理", "ACCEPTED"),
                    Labels.text("诉求", "COMPLAINT"),
                ],
                disputes.map { dispute in
                    [
                        dispute.id + (dispute.recurrenceOf.isEmpty ? "" : " ↺"),
                        JointControlLabels.category(dispute.category),
                        JointControlLabels.grade(dispute.grade), JointControlLabels.channel(dispute.channel),
                        JointControlLabels.state(dispute.state), LocalTime.format(dispute.acceptedUnixMs, time),
                        (dispute.drill ? Labels.drill + " " : "") + String(dispute.complaint.prefix(30)),
                    ]
                }
            )
        }
    }

    struct Workers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "List the registered workers of the enterprise a labour dispute is against (from the residents service)."
        )
        @Argument(help: "The dispute's id.") var id: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let id = id
            let (enterprise, workers) = try await JointControlSession.run(connection) { session in
                var enterprise = ""
                let workers = try await Paging.all { page in
                    let answer = try await session.disputes.listEnterpriseWorkers(
                        HazardsV1.DisputeWorkersRequest(id: id, page: page)
                    )
                    enterprise = answer.enterprise
                    return (answer.workers, answer.page)
                }
                return (enterprise, workers)
            }
            if json { return Output.json(workers) }
            Console.current.line(enterprise)
            Output.table(
                [
                    Labels.text("姓名", "NAME"), Labels.text("身份证号", "ID NUMBER"), Labels.text("电话", "PHONE"),
                    Labels.text("在册", "PRESENT"),
                ],
                workers.map {
                    [$0.name, $0.idNumber, $0.phone, $0.present ? Labels.text("是", "yes") : Labels.text("否", "no")]
                }
            )
        }
    }

    struct Analysis: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "The monthly analysis (每月分析研判): figures beside the previous month and a year earlier, and breakdowns."
        )
        @Option(help: "The month, e.g. 2026-12.") var month: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = HazardsV1.MonthlyAnalysisRequest(month: try LocalTime.month(month, option: "--month"))
            let report = try await JointControlSession.run(connection) {
                try await $0.disputes.monthlyAnalysis(request)
            }
            if json { return Output.json(report) }
            Console.current.lines(AnalysisText.render(report))
        }
    }
}

/// The monthly analysis as text tables.
enum AnalysisText {
    static func render(_ report: HazardsV1.MonthlyAnalysisReport) -> [String] {
        let now = report.figures ?? HazardsV1.MonthFigures()
        let before = report.previousMonth ?? HazardsV1.MonthFigures()
        let year = report.yearEarlier ?? HazardsV1.MonthFigures()
        func tenths(_ value: UInt32) -> String { String(format: "%.1f", Double(value) / 10) }
        func change(_ current: UInt32, _ earlier: UInt32) -> String {
            guard earlier > 0 else { return current == 0 ? "-" : "+\(current)" }
            return String(format: "%+.1f%%", (Double(current) - Double(earlier)) * 100 / Double(earlier))
        }
        let figures: [(String, (HazardsV1.MonthFigures) -> UInt32, (UInt32) -> String)] = [
            (Labels.text("新受理纠纷", "new disputes"), \.newDisputes, String.init),
            (Labels.text("化解", "resolved"), \.resolved, String.init),
            (Labels.text("上交", "referred upward"), \.referredUpward, String.init),
            (Labels.text("月末存量", "in stock at the end"), \.inStock, String.init),
            (Labels.text("化解率", "resolution rate"), \.resolutionRatePermille, Output.percent(permille:)),
            (Labels.text("平均化解天数", "average days to resolve"), \.averageDaysToResolveTenths, tenths),
            (Labels.text("最长化解天数", "longest days to resolve"), \.longestDaysToResolve, String.init),
            (Labels.text("复发", "recurrences"), \.recurrences, String.init),
            (Labels.text("应回访", "follow-ups due"), \.followUpsDue, String.init),
            (Labels.text("已回访", "follow-ups done"), \.followUpsDone, String.init),
            (Labels.text("逾期回访", "follow-ups late"), \.followUpsLate, String.init),
            (Labels.text("报告隐患", "hazards reported"), \.hazardsReported, String.init),
            (Labels.text("销号隐患", "hazards closed"), \.hazardsClosed, String.init),
            (Labels.text("逾期隐患", "hazards overdue"), \.hazardsOverdue, String.init),
        ]
        let month = report.month.map { String(format: "%04d-%02d", $0.year, $0.month) } ?? ""
        var lines = [Labels.text("\(month) 月度分析研判", "Monthly analysis, \(month)"), ""]
        lines += Output.tableLines(
            [
                Labels.text("指标", "FIGURE"), Labels.text("本月", "THIS MONTH"), Labels.text("上月", "PREVIOUS"),
                Labels.text("环比", "CHANGE"), Labels.text("去年同期", "A YEAR EARLIER"), Labels.text("同比", "CHANGE"),
            ],
            figures.map { name, value, text in
                [
                    name, text(value(now)), text(value(before)), change(value(now), value(before)), text(value(year)),
                    change(value(now), value(year)),
                ]
            }
        )
        if !report.disputes.isEmpty {
            lines += [
                "",
                Labels.text("本月纠纷（类别 × 等级 × 分流 × 村）", "This month's disputes (category × grade × channel × village)"),
            ]
            lines += Output.tableLines(
                [
                    Labels.text("类别", "CATEGORY"), Labels.text("等级", "GRADE"), Labels.text("分流", "CHANNEL"),
                    Labels.text("村", "VILLAGE"), Labels.text("件数", "COUNT"),
                ],
                report.disputes.map { cell in
                    [
                        JointControlLabels.category(cell.category), JointControlLabels.grade(cell.grade),
                        JointControlLabels.channel(cell.channel), cell.villageCode, String(cell.count),
                    ]
                }
            )
        }
        if !report.hazards.isEmpty {
            lines += ["", Labels.text("本月隐患（类别 × 负责部门）", "This month's hazards (kind × department)")]
            lines += Output.tableLines(
                [
                    Labels.text("类别", "KIND"), Labels.text("负责", "DEPARTMENT"), Labels.text("报告", "REPORTED"),
                    Labels.text("销号", "CLOSED"), Labels.text("逾期", "OVERDUE"), Labels.text("平均处置（分）", "AVG MINUTES"),
                    Labels.text("最长（分）", "LONGEST"),
                ],
                report.hazards.map { row in
                    [
                        JointControlLabels.kind(row.kind), row.responsibleDepartment, String(row.count),
                        String(row.closed),
                        String(row.overdue), String(row.averageHandlingMinutes), String(row.longestHandlingMinutes),
                    ]
                }
            )
        }
        return lines
    }
}
