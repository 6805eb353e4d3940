import ArgumentParser
import Foundation
import SanlianRPC
import SanlianWire
import StationContract

/// `sanlian report …`: the command room's daily summary and the monthly report across departments.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "The daily summary, and the monthly report across departments.",
        discussion: """
            Served by sanlian-station, which asks each department's service for its figures. A \
            service that does not answer is named under the report, its figures left at 0. Drills \
            never count. The same data gives the same report.
            """,
        subcommands: [Daily.self, Monthly.self]
    )

    struct Daily: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One day's summary (default: today).")
        @Option(help: "The day, 2026-12-07.") var date: String = ""
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let (summary, time) = try await CommandRoomSession.run(connection) { [date] session in
                (try await session.reports.getDailySummary(StationV1.DailySummaryRequest(date: date)), session.time)
            }
            if json { return Output.json(summary) }
            Console.current.line(Labels.text("勤务日报 \(summary.date)", "daily summary \(summary.date)"))
            Output.table(
                [Labels.text("项目", "ITEM"), Labels.text("数量", "COUNT")],
                [
                    [Labels.text("派发任务", "tasks dispatched"), String(summary.tasksDispatched)],
                    [Labels.text("完成任务", "tasks completed"), String(summary.tasksCompleted)],
                    [Labels.text("未完成任务", "tasks open"), String(summary.tasksOpen)],
                    [Labels.text("逾期任务", "tasks overdue"), String(summary.tasksOverdue)],
                    [Labels.text("案件（破案）", "cases (cleared)"), "\(summary.cases) (\(summary.casesCleared))"],
                    [
                        Labels.text("交通事故（死/伤）", "traffic accidents (killed/injured)"),
                        "\(summary.accidents) (\(summary.accidentDeaths)/\(summary.accidentInjuries))",
                    ],
                    [Labels.text("上报隐患", "hazards reported"), String(summary.hazardsReported)],
                    [Labels.text("受理纠纷", "disputes accepted"), String(summary.disputesAccepted)],
                    [Labels.text("告警中", "alerts firing"), String(summary.alertsFiring)],
                ]
            )
            if !summary.overdueTasks.isEmpty {
                Console.current.line(Labels.text("逾期任务：", "overdue tasks:"))
                Output.table(
                    [
                        Labels.text("编号", "ID"), Labels.text("派往", "TO"), Labels.text("期限", "DUE"),
                        Labels.text("任务", "TITLE"),
                    ],
                    summary.overdueTasks.map {
                        [$0.id, CommandRoomLabels.assignee($0), LocalTime.format($0.dueUnixMs, time), $0.title]
                    }
                )
            }
            for service in summary.unavailable {
                Console.current.note(Labels.text("未取得：", "not available: ") + service)
            }
        }
    }

    struct Monthly: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The monthly report across departments, beside the previous month and a year earlier."
        )
        @Option(help: "The month, 2026-12.") var month: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func validate() throws { _ = try LocalTime.month(month, option: "--month") }

        func run() async throws {
            let asked = try LocalTime.month(month, option: "--month")
            let report = try await CommandRoomSession.run(connection) { session in
                try await session.reports.getMonthlyReport(StationV1.MonthlyReportRequest(month: asked))
            }
            if json { return Output.json(report) }
            let now = report.month ?? StationV1.MonthSection()
            let previous = report.previousMonth ?? StationV1.MonthSection()
            let earlier = report.yearEarlier ?? StationV1.MonthSection()
            func name(_ section: StationV1.MonthSection) -> String {
                section.month.map { String(format: "%04d-%02d", $0.year, $0.month) } ?? "-"
            }
            typealias Figure = (label: String, value: (StationV1.MonthSection) -> UInt32, rate: Bool)
            let figures: [Figure] = [
                (Labels.text("新增纠纷", "new disputes"), { $0.newDisputes }, false),
                (Labels.text("化解纠纷", "disputes resolved"), { $0.disputesResolved }, false),
                (Labels.text("纠纷存量", "disputes in stock"), { $0.disputesInStock }, false),
                (Labels.text("化解率", "resolution rate"), { $0.disputeResolutionPermille }, true),
                (Labels.text("重复纠纷", "recurrences"), { $0.disputeRecurrences }, false),
                (Labels.text("上报隐患", "hazards reported"), { $0.hazardsReported }, false),
                (Labels.text("销号隐患", "hazards closed"), { $0.hazardsClosed }, false),
                (Labels.text("逾期隐患", "hazards overdue"), { $0.hazardsOverdue }, false),
                (Labels.text("完成巡逻班次", "shifts completed"), { $0.shiftsCompleted }, false),
                (Labels.text("缺岗", "no-shows"), { $0.noShows }, false),
                (Labels.text("漏签到", "check-ins missed"), { $0.missedCheckIns }, false),
                (Labels.text("巡逻时长（分）", "patrol minutes"), { $0.patrolMinutes }, false),
                (Labels.text("宣传场次", "publicity sessions"), { $0.publicitySessions }, false),
                (Labels.text("宣传受众", "publicity attendees"), { $0.publicityAttendees }, false),
                (Labels.text("户籍人口", "registered residents"), { $0.registered }, false),
                (Labels.text("流动人口", "floating population"), { $0.floating }, false),
                (Labels.text("迁入", "arrivals"), { $0.arrivals }, false),
                (Labels.text("迁出", "departures"), { $0.departures }, false),
                (Labels.text("窗口业务", "window services"), { $0.windowServices }, false),
                (Labels.text("当场办结率", "on-the-spot rate"), { $0.onTheSpotPermille }, true),
                (Labels.text("当日办结率", "same-day rate"), { $0.sameDayPermille }, true),
                (Labels.text("派发任务", "tasks dispatched"), { $0.tasksDispatched }, false),
                (Labels.text("按时完成", "tasks done on time"), { $0.tasksDoneOnTime }, false),
                (Labels.text("发案", "cases"), { $0.cases }, false),
                (Labels.text("破案", "cases cleared"), { $0.casesCleared }, false),
                (Labels.text("破案率", "clearance rate"), { $0.clearancePermille }, true),
                (Labels.text("交通事故", "traffic accidents"), { $0.accidents }, false),
                (Labels.text("事故死亡", "accident deaths"), { $0.accidentDeaths }, false),
                (Labels.text("事故受伤", "accident injuries"), { $0.accidentInjuries }, false),
            ]
            Console.current.line(Labels.text("月度报告 \(name(now))", "monthly report \(name(now))"))
            Output.table(
                [
                    Labels.text("项目", "FIGURE"), name(now), name(previous), Labels.text("环比", "VS PREV"), name(earlier),
                    Labels.text("同比", "YEAR ON YEAR"),
                ],
                figures.map { figure in
                    let values = [now, previous, earlier].map(figure.value)
                    let shown = values.map { figure.rate ? Output.percent(permille: $0) : String($0) }
                    return [
                        figure.label, shown[0], shown[1], CommandRoomLabels.change(values[0], values[1]), shown[2],
                        CommandRoomLabels.change(values[0], values[2]),
                    ]
                }
            )
            for service in report.unavailable {
                Console.current.note(Labels.text("未取得：", "not available: ") + service)
            }
        }
    }
}
