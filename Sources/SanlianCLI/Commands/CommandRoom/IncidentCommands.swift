import ArgumentParser
import Foundation
import SanlianRPC
import SanlianWire
import StationContract

/// `sanlian incidents …`: the station's incident log.
struct IncidentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incidents",
        abstract: "The incident log: cases (案件) and traffic accidents.",
        discussion: "Served by sanlian-station. Cases are the station's; the traffic office records accidents too.",
        subcommands: [AddCase.self, ClearCase.self, Cases.self, AddAccident.self, Accidents.self]
    )

    struct AddCase: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "case", abstract: "Record a case.")
        @Option(help: "theft, fraud, assault, robbery, public_order or other.") var kind: StationV1.CaseKind
        @Option(help: "When it happened, 2026-12-07.") var date: String
        @Option(help: "12-digit village code.") var village: String
        @Option(help: "What happened (at most 500 characters).") var summary: String = ""
        @Flag(help: "Already cleared (破案).") var cleared = false
        @Option(help: "Your own id for the request: recording again with it is the same case.") var id: String?
        @Flag(help: "An exercise.") var drill = false
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = StationV1.CaseRecord(
                kind: kind,
                date: date,
                villageCode: village,
                summary: summary,
                cleared: cleared,
                requestID: id ?? newRequestID("cli-"),
                drill: drill
            )
            let record = try await CommandRoomSession.run(connection) { try await $0.incidents.recordCase(request) }
            if json { return Output.json(record) }
            Console.current.line(Labels.text("已登记案件 \(record.id)", "recorded case \(record.id)"))
        }
    }

    struct ClearCase: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "clear", abstract: "Mark a case cleared (破案).")
        @Argument(help: "The case's id.") var id: String
        @Option(help: "When, 2026-12-07 (default today).") var date: String = ""
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let record = try await CommandRoomSession.run(connection) { [id, date] session in
                try await session.incidents.clearCase(StationV1.ClearCaseRequest(id: id, date: date))
            }
            Console.current.line(
                Labels.text("\(record.id) 已于 \(record.clearedDate) 破案", "\(record.id) cleared on \(record.clearedDate)")
            )
        }
    }

    struct Cases: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List cases, newest first.")
        @Option(help: "Only of this month, 2026-12.") var month: String?
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func validate() throws { _ = try month.map { try LocalTime.month($0, option: "--month") } }

        func run() async throws {
            let request = StationV1.ListIncidentsRequest(
                month: try month.map { try LocalTime.month($0, option: "--month") }
            )
            let cases = try await CommandRoomSession.run(connection) { session in
                try await Paging.all { page in
                    var paged = request
                    paged.page = page
                    let answer = try await session.incidents.listCases(paged)
                    return (answer.cases, answer.page)
                }
            }
            if json { return Output.json(cases) }
            Output.table(
                [
                    Labels.text("编号", "ID"), Labels.text("日期", "DATE"), Labels.text("类别", "KIND"),
                    Labels.text("村", "VILLAGE"), Labels.text("破案", "CLEARED"), Labels.text("摘要", "SUMMARY"),
                ],
                cases.map {
                    [
                        $0.id, $0.date, CommandRoomLabels.caseKind($0.kind), $0.villageCode,
                        $0.cleared ? $0.clearedDate : "-", (($0.drill ? Labels.drill + " " : "") + $0.summary),
                    ]
                }
            )
        }
    }

    struct AddAccident: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "accident", abstract: "Record a traffic accident.")
        @Option(help: "When, 2026-12-07.") var date: String
        @Option(help: "Where: the road and kilometre, e.g. \"G318 K1203\".") var road: String
        @Option(help: "12-digit village code.") var village: String = ""
        @Option(help: "People killed.") var deaths: UInt32 = 0
        @Option(help: "People injured.") var injuries: UInt32 = 0
        @Option(help: "What happened.") var summary: String = ""
        @Option(help: "Your own id for the request: recording again with it is the same accident.") var id: String?
        @Flag(help: "An exercise.") var drill = false
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = StationV1.AccidentRecord(
                date: date,
                road: road,
                villageCode: village,
                deaths: deaths,
                injuries: injuries,
                summary: summary,
                requestID: id ?? newRequestID("cli-"),
                drill: drill
            )
            let record = try await CommandRoomSession.run(connection) { try await $0.incidents.recordAccident(request) }
            if json { return Output.json(record) }
            Console.current.line(Labels.text("已登记事故 \(record.id)", "recorded accident \(record.id)"))
        }
    }

    struct Accidents: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List traffic accidents, newest first.")
        @Option(help: "Only of this month, 2026-12.") var month: String?
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func validate() throws { _ = try month.map { try LocalTime.month($0, option: "--month") } }

        func run() async throws {
            let request = StationV1.ListIncidentsRequest(
                month: try month.map { try LocalTime.month($0, option: "--month") }
            )
            let accidents = try await CommandRoomSession.run(connection) { session in
                try await Paging.all { page in
                    var paged = request
                    paged.page = page
                    let answer = try await session.incidents.listAccidents(paged)
                    return (answer.accidents, answer.page)
                }
            }
            if json { return Output.json(accidents) }
            Output.table(
                [
                    Labels.text("编号", "ID"), Labels.text("日期", "DATE"), Labels.text("道路", "ROAD"),
                    Labels.text("死亡", "DEATHS"), Labels.text("受伤", "INJURED"), Labels.text("登记", "BY"),
                ],
                accidents.map {
                    [$0.id, $0.date, $0.road, String($0.deaths), String($0.injuries), $0.recordedBy]
                }
            )
        }
    }
}
