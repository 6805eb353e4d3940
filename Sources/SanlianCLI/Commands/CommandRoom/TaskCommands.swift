import ArgumentParser
import Foundation
import SanlianClock
import SanlianCompose
import SanlianRPC
import SanlianWire
import StationContract

/// `sanlian tasks …`: the command room's tasks (勤务任务).
struct TasksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasks",
        abstract: "Dispatch tasks to teams and departments and follow them: open and overdue first.",
        discussion: """
            Served by sanlian-station. The station dispatches an alert (by its fingerprint), a hazard \
            or a dispute (by its id) to the rural traffic team, the rural policing team, the patrol \
            team or a department, due by a time; the assignee acknowledges, reports progress and \
            completes it. A task past its due time raises an escalation alert. `sanlian tasks` alone \
            lists the open ones, overdue marked.
            """,
        subcommands: [List.self, Dispatch.self, Show.self, Acknowledge.self, Progress.self, Complete.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List open tasks (newest first), overdue marked.")
        @Flag(help: "Only overdue ones.") var overdue = false
        @Flag(help: "Completed ones too.") var all = false
        @Option(help: "Only this team's (rural_traffic, rural_policing, patrol).") var team: StationV1.Team?
        @Option(name: .customLong("to"), help: "Only those dispatched to this department.") var department: String = ""
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = StationV1.ListTasksRequest(
                openOnly: !all,
                overdueOnly: overdue,
                team: team ?? .unspecified,
                department: department
            )
            let (tasks, time) = try await CommandRoomSession.run(connection) { session in
                let tasks = try await Paging.all { page in
                    var paged = request
                    paged.page = page
                    let answer = try await session.tasks.list(paged)
                    return (answer.tasks, answer.page)
                }
                return (tasks, session.time)
            }
            if json { return Output.json(tasks) }
            Output.table(
                [
                    Labels.text("编号", "ID"), Labels.text("派往", "TO"), Labels.text("状态", "STATE"),
                    Labels.text("期限", "DUE"), Labels.text("来源", "SOURCE"), Labels.text("任务", "TITLE"),
                ],
                tasks.map { task in
                    let due = LocalTime.format(task.dueUnixMs, time)
                    return [
                        task.id, CommandRoomLabels.assignee(task), CommandRoomLabels.state(task.state),
                        task.overdue ? Colour.warning(due + " " + Labels.text("逾期", "overdue")) : due,
                        task.source.map { "\($0.kind.shortName):\($0.ref)" } ?? "-",
                        (task.drill ? Labels.drill + " " : "") + String(task.title.prefix(40)),
                    ]
                }
            )
        }
    }

    struct Dispatch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Dispatch a task (the station only).",
            discussion: """
                Examples:
                  sanlian tasks dispatch --hazard H20261207-0001 --team rural_traffic --due "2026-12-07 18:00" \\
                      --title "清理 G318 K1203 落石"
                  sanlian tasks dispatch --alert road:G318 --to traffic --within 2h --title "G318 道路塌方"
                """
        )
        @Option(help: "What to do (1–200 characters).") var title: String
        @Option(help: "The alert aggregate it comes from, by fingerprint.") var alert: String?
        @Option(help: "The hazard it comes from, by id.") var hazard: String?
        @Option(help: "The dispute it comes from, by id.") var dispute: String?
        @Option(help: "To a team: rural_traffic (农村交管队), rural_policing (农村警务队), patrol (联防队).")
        var team: StationV1.Team?
        @Option(name: .customLong("to"), help: "To a department instead.") var department: String = ""
        @Option(help: "Due by this time, \"2026-12-07 18:00\" (the township's).") var due: String?
        @Option(help: "Due within this long: 90m, 2h.") var within: String?
        @Option(help: "12-digit village code.") var village: String = ""
        @Option(help: "A note for the assignee.") var note: String = ""
        @Option(help: "Your own id for the request: dispatching again with it is the same task.") var id: String?
        @Flag(help: "An exercise.") var drill = false
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func validate() throws {
            guard [alert, hazard, dispute].compactMap({ $0 }).count <= 1 else {
                throw ValidationError("give at most one of --alert, --hazard, --dispute")
            }
            guard (team != nil) != !department.isEmpty else {
                throw ValidationError("give --team or --to (a department), one of them")
            }
            guard (due != nil) != (within != nil) else { throw ValidationError("give --due or --within, one of them") }
        }

        func run() async throws {
            let source: StationV1.TaskSource =
                if let alert { StationV1.TaskSource(kind: .alert, ref: alert) } else if let hazard {
                    StationV1.TaskSource(kind: .hazard, ref: hazard)
                } else if let dispute { StationV1.TaskSource(kind: .dispute, ref: dispute) } else {
                    StationV1.TaskSource(kind: .other)
                }
            let task = try await CommandRoomSession.run(connection) { [self] session in
                let dueMs: Int64
                if let due {
                    dueMs = try LocalTime.parse(due, option: "--due", time: session.time)
                } else {
                    let seconds: Int
                    do {
                        seconds = try ComposeFile.duration(within, default: 0, key: "--within")
                    } catch {
                        throw ValidationError("\(error)")
                    }
                    dueMs = Int64(Date().timeIntervalSince1970 * 1000) + Int64(seconds) * 1000
                }
                return try await session.tasks.dispatch(
                    StationV1.DispatchRequest(
                        requestID: id ?? newRequestID("cli-"),
                        title: title,
                        source: source,
                        team: team ?? .unspecified,
                        department: department,
                        dueUnixMs: dueMs,
                        note: note,
                        villageCode: village,
                        drill: drill
                    )
                )
            }
            if json { return Output.json(task) }
            Console.current.line(
                Labels.text(
                    "已派发 \(task.id) 至 \(CommandRoomLabels.assignee(task))",
                    "dispatched \(task.id) to \(CommandRoomLabels.assignee(task))"
                )
            )
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a task and its history.")
        @Argument(help: "The task's id.") var id: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let (task, time) = try await CommandRoomSession.run(connection) { [id] session in
                (try await session.tasks.get(StationV1.GetTaskRequest(id: id)), session.time)
            }
            if json { return Output.json(task) }
            Console.current.lines([
                "\(task.id)  \(task.title)",
                Labels.text("派往", "to") + ": \(CommandRoomLabels.assignee(task))  "
                    + Labels.text("状态", "state") + ": \(CommandRoomLabels.state(task.state))  "
                    + Labels.text("期限", "due") + ": \(LocalTime.format(task.dueUnixMs, time))"
                    + (task.overdue ? " " + Colour.warning(Labels.text("逾期", "overdue")) : ""),
            ])
            Output.table(
                [
                    Labels.text("时间", "WHEN"), Labels.text("状态", "STATE"), Labels.text("谁", "WHO"),
                    Labels.text("说明", "NOTE"),
                ],
                task.events.map {
                    [
                        LocalTime.format($0.atUnixMs, time), CommandRoomLabels.state($0.state),
                        $0.operatorID.isEmpty ? $0.department : "\($0.operatorID) (\($0.department))", $0.note,
                    ]
                }
            )
        }
    }

    struct Acknowledge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ack",
            abstract: "Acknowledge a task (its assignee)."
        )
        @Argument(help: "The task's id.") var id: String
        @Option(help: "A note.") var note: String = ""
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let task = try await CommandRoomSession.run(connection) { [id, note] session in
                try await session.tasks.acknowledge(StationV1.TaskActionRequest(id: id, note: note))
            }
            Console.current.line(Labels.text("\(task.id) 已接收", "\(task.id) acknowledged"))
        }
    }

    struct Progress: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Report progress on a task (its assignee).")
        @Argument(help: "The task's id.") var id: String
        @Option(help: "What has been done (1–500 characters).") var note: String
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let task = try await CommandRoomSession.run(connection) { [id, note] session in
                try await session.tasks.reportProgress(StationV1.TaskActionRequest(id: id, note: note))
            }
            Console.current.line(Labels.text("\(task.id) 进展已记录", "\(task.id): progress recorded"))
        }
    }

    struct Complete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Complete a task (its assignee).")
        @Argument(help: "The task's id.") var id: String
        @Option(help: "What was done.") var note: String = ""
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let task = try await CommandRoomSession.run(connection) { [id, note] session in
                try await session.tasks.complete(StationV1.TaskActionRequest(id: id, note: note))
            }
            Console.current.line(
                task.overdue
                    ? Labels.text("\(task.id) 已完成（逾期）", "\(task.id) completed, after its due time")
                    : Labels.text("\(task.id) 已按时完成", "\(task.id) completed on time")
            )
        }
    }
}
