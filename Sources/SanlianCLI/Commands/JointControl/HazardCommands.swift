import ArgumentParser
import Foundation
import HazardsContract
import SanlianClock
import SanlianRPC
import SanlianWire

/// `sanlian hazards …`.
struct HazardsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hazards",
        abstract: "Report hazards and move them along: acknowledge, assign, handle, close, reopen.",
        discussion: """
            Served by sanlian-hazards (joint control). A report is graded and routed to the \
            responsible department by the compose file's hazards rules and raises an alert; each \
            step is due by the grade's time, and an overdue step raises an escalation.
            """,
        subcommands: [
            Report.self, List.self, Show.self, Acknowledge.self, Assign.self, Handle.self, Close.self, Reopen.self,
        ]
    )

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Report a hazard.")
        @Option(help: "traffic, fire, production_safety, construction, public_order, natural or other.")
        var kind: HazardsV1.HazardKind
        @Option(help: "12-digit village code.") var village: String
        @Option(help: "Village group (村民小组).") var group: String = ""
        @Option(help: "Where: a road and kilometre, a landmark.") var place: String = ""
        @Option(help: "What is wrong (1–1000 characters).") var description: String
        @Option(help: "Your own grade (major, serious, general, minor) instead of the rules'.") var grade:
            HazardsV1.HazardGrade?
        @Option(help: "Your own identifier for the report: reporting it again is then the same report.")
        var id: String = ""
        @Flag(help: "An exercise: marked as a drill everywhere.") var drill = false
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = HazardsV1.ReportHazardRequest(
                kind: kind,
                place: CommonV1.Place(villageCode: village, villageGroup: group, description: place),
                description: description,
                suggestedGrade: grade,
                drill: drill,
                identifier: id
            )
            let hazard = try await JointControlSession.run(connection) { try await $0.hazards.report(request) }
            if json { return Output.json(hazard) }
            Console.current.line(
                Labels.text(
                    "已报告 \(hazard.id)：\(JointControlLabels.grade(hazard.grade))，由 \(hazard.responsibleDepartment) 负责",
                    "reported \(hazard.id): \(JointControlLabels.grade(hazard.grade)), for \(hazard.responsibleDepartment)"
                )
            )
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List hazards, oldest report first.")
        @Option(name: .customLong("state"), help: "Only in this state (repeatable).") var states:
            [HazardsV1.HazardState] = []
        @Option(name: .customLong("kind"), help: "Only of this kind (repeatable).") var kinds: [HazardsV1.HazardKind] =
            []
        @Option(help: "Only those this department is responsible for.") var responsible: String = ""
        @Option(help: "Only in this 12-digit village.") var village: String = ""
        @Flag(help: "Only those whose current step is overdue.") var overdue = false
        @Flag(help: "Closed ones too (by default only open ones).") var all = false
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let open: [HazardsV1.HazardState] = [.reported, .acknowledged, .assigned, .handled, .reopened]
            let request = HazardsV1.ListHazardsRequest(
                states: states.isEmpty && !all ? open : states,
                responsibleDepartment: responsible,
                kinds: kinds,
                overdue: overdue,
                villageCode: village
            )
            let (hazards, time) = try await JointControlSession.run(connection) { session in
                let hazards = try await Paging.all { page in
                    var paged = request
                    paged.page = page
                    let answer = try await session.hazards.list(paged)
                    return (answer.hazards, answer.page)
                }
                return (hazards, session.time)
            }
            if json { return Output.json(hazards) }
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            Output.table(
                [
                    Labels.text("编号", "ID"), Labels.text("类别", "KIND"), Labels.text("等级", "GRADE"),
                    Labels.text("状态", "STATE"), Labels.text("负责", "FOR"), Labels.text("期限", "DUE"),
                    Labels.text("报告", "REPORTED"), Labels.text("描述", "DESCRIPTION"),
                ],
                hazards.map { hazard in
                    let due = LocalTime.format(hazard.dueUnixMs, time)
                    return [
                        hazard.id, JointControlLabels.kind(hazard.kind), JointControlLabels.grade(hazard.grade),
                        JointControlLabels.state(hazard.state), hazard.responsibleDepartment,
                        hazard.dueUnixMs != 0 && hazard.dueUnixMs < now ? Colour.warning(due + "!") : due,
                        LocalTime.format(hazard.reportedUnixMs, time),
                        (hazard.drill ? Labels.drill + " " : "") + String(hazard.description.prefix(40)),
                    ]
                }
            )
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a hazard and its history.")
        @Argument(help: "The hazard's id.") var id: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = HazardsV1.GetHazardRequest(id: id)
            let (hazard, time) = try await JointControlSession.run(connection) { session in
                (try await session.hazards.get(request), session.time)
            }
            if json { return Output.json(hazard) }
            let rows: [(String, String)] = [
                (Labels.text("编号", "id"), hazard.id + (hazard.drill ? " " + Labels.drill : "")),
                (Labels.text("类别", "kind"), JointControlLabels.kind(hazard.kind)),
                (Labels.text("等级", "grade"), JointControlLabels.grade(hazard.grade) + "（\(hazard.gradeReason)）"),
                (Labels.text("状态", "state"), JointControlLabels.state(hazard.state)),
                (Labels.text("负责", "responsible"), hazard.responsibleDepartment + "（\(hazard.routingReason)）"),
                (Labels.text("指派", "assigned to"), hazard.assignedTo),
                (Labels.text("期限", "due"), hazard.dueUnixMs == 0 ? "" : LocalTime.format(hazard.dueUnixMs, time)),
                (Labels.text("位置", "place"), JointControlLabels.place(hazard.place)),
                (Labels.text("描述", "description"), hazard.description),
                (
                    Labels.text("报告", "reported by"),
                    [hazard.reportingDepartment, hazard.reportingOperator].filter { !$0.isEmpty }.joined(separator: "/")
                ),
                (Labels.text("处置", "handling"), hazard.handling),
                (Labels.text("销号依据", "evidence"), hazard.evidence),
                (
                    Labels.text("逾期升级", "overdue escalations"),
                    hazard.overdueEscalations == 0 ? "" : String(hazard.overdueEscalations)
                ),
                (Labels.text("复发", "reopened"), hazard.reopened == 0 ? "" : String(hazard.reopened)),
                (Labels.text("告警", "alert"), hazard.alertIdentifier),
            ]
            for (label, value) in rows where !value.isEmpty { Console.current.line(label + ": " + value) }
            Console.current.line()
            Output.table(
                [
                    Labels.text("时间", "WHEN"), Labels.text("变化", "CHANGE"), Labels.text("由", "BY"),
                    Labels.text("说明", "NOTE"),
                ],
                hazard.history.map { event in
                    [
                        LocalTime.format(event.atUnixMs, time),
                        (event.from == .unspecified ? "" : JointControlLabels.state(event.from) + " → ")
                            + JointControlLabels.state(event.to),
                        [event.byDepartment, event.byOperator].filter { !$0.isEmpty }.joined(separator: "/"),
                        event.note,
                    ]
                }
            )
        }
    }

    /// Moves a hazard to `to`, printing its new state.
    static func move(_ connection: ConnectionOptions, _ request: HazardsV1.HazardTransitionRequest, json: Bool)
        async throws
    {
        let hazard = try await JointControlSession.run(connection) { try await $0.hazards.transition(request) }
        if json { return Output.json(hazard) }
        Console.current.line("\(hazard.id): \(JointControlLabels.state(hazard.state))")
    }

    struct Acknowledge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ack", abstract: "Acknowledge a reported hazard.")
        @Argument(help: "The hazard's id.") var id: String
        @Option(help: "A note.") var note: String = ""
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            try await HazardsCommand.move(
                connection,
                HazardsV1.HazardTransitionRequest(id: id, to: .acknowledged, note: note),
                json: json
            )
        }
    }

    struct Assign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Assign an acknowledged hazard to a team or department."
        )
        @Argument(help: "The hazard's id.") var id: String
        @Option(help: "The team or department.") var to: String
        @Option(help: "A note.") var note: String = ""
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            try await HazardsCommand.move(
                connection,
                HazardsV1.HazardTransitionRequest(id: id, to: .assigned, note: note, assignee: to),
                json: json
            )
        }
    }

    struct Handle: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record what was done about an assigned hazard.")
        @Argument(help: "The hazard's id.") var id: String
        @Option(help: "What was done.") var note: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            try await HazardsCommand.move(
                connection,
                HazardsV1.HazardTransitionRequest(id: id, to: .handled, note: note),
                json: json
            )
        }
    }

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close a handled hazard, with what shows it is gone.")
        @Argument(help: "The hazard's id.") var id: String
        @Option(help: "What shows the hazard is gone.") var evidence: String
        @Option(help: "A note.") var note: String = ""
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            try await HazardsCommand.move(
                connection,
                HazardsV1.HazardTransitionRequest(id: id, to: .closed, note: note, evidence: evidence),
                json: json
            )
        }
    }

    struct Reopen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reopen a closed hazard that recurs.")
        @Argument(help: "The hazard's id.") var id: String
        @Option(help: "Why.") var note: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            try await HazardsCommand.move(
                connection,
                HazardsV1.HazardTransitionRequest(id: id, to: .reopened, note: note),
                json: json
            )
        }
    }
}
