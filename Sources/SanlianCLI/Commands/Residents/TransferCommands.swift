import ArgumentParser
import Foundation
import ResidentsContract
import SanlianClock
import SanlianRPC
import SanlianWire

extension ResidentsV1.TransferKind: ShortNamedArgument {}
extension ResidentsV1.TransferState: ShortNamedArgument {}

/// `sanlian residents transfer …`: household registration transfers (迁户口).
struct TransferCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer",
        abstract: "Household registration transfers (迁户口): request, documents, approve or reject, complete.",
        discussion: "The person's record is locked while a transfer is pending; the lock names the transfer.",
        subcommands: [
            Request.self, Documents.self, Approve.self, Reject.self, Complete.self, Show.self, List.self,
            Checklist.self,
        ]
    )

    static func print(_ transfer: ResidentsV1.Transfer, json: Bool) {
        if json { return Output.json(transfer) }
        let missing = transfer.documents.filter { !$0.received }.map(\.name)
        Console.current.line(
            "\(transfer.id): \(transfer.state.shortName)"
                + (missing.isEmpty || transfer.state != .requested
                    ? "" : Labels.text("；尚缺：", "; still missing: ") + missing.joined(separator: ", "))
        )
    }

    struct Request: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Request a transfer; the documents it needs are listed."
        )
        @Option(help: "move_in, move_out, birth, marriage or study.") var kind: ResidentsV1.TransferKind
        @Option(name: .customLong("id"), help: "The person's ID number.") var idNumber: String
        @Option(help: "The new registration address.") var to: String
        @Option(help: "The current one (default: the person's).") var from: String = ""
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = ResidentsV1.TransferRequest(kind: kind, idNumber: idNumber, fromAddress: from, toAddress: to)
            TransferCommand.print(
                try await ResidentsCommand.Session.run(connection) { try await $0.transfers.requestTransfer(request) },
                json: json
            )
        }
    }

    struct Documents: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mark documents received (by their checklist names).")
        @Argument(help: "The transfer's id.") var id: String
        @Option(name: .customLong("received"), help: "A document received (repeatable).") var received: [String]
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = ResidentsV1.UpdateDocumentsRequest(
                id: id,
                documents: received.map { ResidentsV1.DocumentItem(name: $0, received: true) }
            )
            TransferCommand.print(
                try await ResidentsCommand.Session.run(connection) { try await $0.transfers.updateDocuments(request) },
                json: json
            )
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve a transfer whose documents are complete.")
        @Argument(help: "The transfer's id.") var id: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = ResidentsV1.DecideTransferRequest(id: id, approve: true)
            TransferCommand.print(
                try await ResidentsCommand.Session.run(connection) { try await $0.transfers.decide(request) },
                json: json
            )
        }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reject a transfer, with the reason; the person's record is unlocked."
        )
        @Argument(help: "The transfer's id.") var id: String
        @Option(help: "Why.") var reason: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = ResidentsV1.DecideTransferRequest(id: id, approve: false, reason: reason)
            TransferCommand.print(
                try await ResidentsCommand.Session.run(connection) { try await $0.transfers.decide(request) },
                json: json
            )
        }
    }

    struct Complete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Complete an approved transfer: the registration moves, the record unlocks."
        )
        @Argument(help: "The transfer's id.") var id: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = ResidentsV1.CompleteTransferRequest(id: id)
            TransferCommand.print(
                try await ResidentsCommand.Session.run(connection) { try await $0.transfers.complete(request) },
                json: json
            )
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a transfer and its checklist.")
        @Argument(help: "The transfer's id.") var id: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = ResidentsV1.GetTransferRequest(id: id)
            let (transfer, time) = try await ResidentsCommand.Session.run(connection) { session in
                (try await session.transfers.getTransfer(request), session.time)
            }
            if json { return Output.json(transfer) }
            for (label, value) in [
                (Labels.text("编号", "id"), transfer.id), (Labels.text("类型", "kind"), transfer.kind.shortName),
                (Labels.text("状态", "state"), transfer.state.shortName),
                (Labels.text("身份证号", "ID number"), transfer.idNumber),
                (Labels.text("迁出", "from"), transfer.fromAddress), (Labels.text("迁入", "to"), transfer.toAddress),
                (
                    Labels.text("申请", "requested"),
                    LocalTime.format(transfer.requestedUnixMs, time) + " " + transfer.requestedBy
                ),
                (
                    Labels.text("决定", "decided"),
                    transfer.decidedUnixMs == 0
                        ? "" : LocalTime.format(transfer.decidedUnixMs, time) + " " + transfer.decidedBy
                ),
                (Labels.text("理由", "reason"), transfer.reason),
            ] where !value.trimmingCharacters(in: .whitespaces).isEmpty {
                Console.current.line(label + ": " + value)
            }
            Output.table(
                [Labels.text("材料", "DOCUMENT"), Labels.text("已收", "RECEIVED")],
                transfer.documents.map { [$0.name, $0.received ? Labels.text("是", "yes") : Labels.text("否", "no")] }
            )
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List transfers, oldest first.")
        @Option(name: .customLong("state"), help: "Only in this state (repeatable).") var states:
            [ResidentsV1.TransferState] = []
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let states = states
            let (transfers, time) = try await ResidentsCommand.Session.run(connection) { session in
                let transfers = try await Paging.all { page in
                    let answer = try await session.transfers.listTransfers(
                        ResidentsV1.ListTransfersRequest(states: states, page: page)
                    )
                    return (answer.transfers, answer.page)
                }
                return (transfers, session.time)
            }
            if json { return Output.json(transfers) }
            Output.table(
                [
                    Labels.text("编号", "ID"), Labels.text("类型", "KIND"), Labels.text("状态", "STATE"),
                    Labels.text("身份证号", "ID NUMBER"), Labels.text("迁入", "TO"), Labels.text("申请", "REQUESTED"),
                ],
                transfers.map {
                    [
                        $0.id, $0.kind.shortName, $0.state.shortName, $0.idNumber, $0.toAddress,
                        LocalTime.format($0.requestedUnixMs, time),
                    ]
                }
            )
        }
    }

    struct Checklist: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The documents a kind of transfer needs (the compose file's)."
        )
        @Option(help: "move_in, move_out, birth, marriage or study.") var kind: ResidentsV1.TransferKind
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = ResidentsV1.ChecklistRequest(kind: kind)
            let answer = try await ResidentsCommand.Session.run(connection) {
                try await $0.transfers.checklist(request)
            }
            if json { return Output.json(answer) }
            for document in answer.documents { Console.current.line(document) }
        }
    }
}

/// `sanlian residents window …`: window services (窗口服务).
struct WindowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "window",
        abstract: "Window services: record them received and finished; the month's completion rates.",
        subcommands: [Record.self, Rates.self, List.self]
    )

    struct Record: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Record a service received (and finished); record the same --id again with --finished to finish it."
        )
        @Option(help: "The record's id (default: a new one).") var id: String = ""
        @Option(help: "The business, e.g. id_card, household_transfer, residence_permit (kept when finishing).")
        var business: String = ""
        @Option(help: "Received, e.g. \"2026-12-07 09:00\" (default: now).") var received: String?
        @Option(help: "Finished, e.g. \"2026-12-07 09:20\".") var finished: String?
        @Option(name: .customLong("id-number"), help: "The person served.") var idNumber: String = ""
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let time = LocalTime.time(try connection.resolve(), section: "residents")
            let record = ResidentsV1.WindowServiceRecord(
                id: id,
                business: business,
                receivedUnixMs: try received.map { try LocalTime.parse($0, option: "--received", time: time) } ?? 0,
                finishedUnixMs: try finished.map { try LocalTime.parse($0, option: "--finished", time: time) } ?? 0,
                idNumber: idNumber
            )
            let stored = try await ResidentsCommand.Session.run(connection) { try await $0.window.record(record) }
            if json { return Output.json(stored) }
            Console.current.line(Labels.text("已记录 \(stored.id)", "recorded \(stored.id)"))
        }
    }

    struct Rates: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A month's on-the-spot and same-day completion rates."
        )
        @Option(help: "The month, e.g. 2026-12.") var month: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = ResidentsV1.WindowRatesRequest(month: try LocalTime.month(month, option: "--month"))
            let rates = try await ResidentsCommand.Session.run(connection) { try await $0.window.monthlyRates(request) }
            if json { return Output.json(rates) }
            Console.current.line(
                Labels.text(
                    "\(month)：受理 \(rates.total) 件，当场办结 \(Output.percent(permille: rates.onTheSpotPermille))，当日办结 \(Output.percent(permille: rates.sameDayPermille))，未办结 \(rates.unfinished) 件",
                    "\(month): \(rates.total) received, \(Output.percent(permille: rates.onTheSpotPermille)) finished on the spot, \(Output.percent(permille: rates.sameDayPermille)) the same day, \(rates.unfinished) unfinished"
                )
            )
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List window services, oldest first.")
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let (records, time) = try await ResidentsCommand.Session.run(connection) { session in
                let records = try await Paging.all { page in
                    let answer = try await session.window.listRecords(ResidentsV1.ListWindowRecordsRequest(page: page))
                    return (answer.records, answer.page)
                }
                return (records, session.time)
            }
            if json { return Output.json(records) }
            Output.table(
                [
                    Labels.text("编号", "ID"), Labels.text("业务", "BUSINESS"), Labels.text("受理", "RECEIVED"),
                    Labels.text("办结", "FINISHED"), Labels.text("身份证号", "ID NUMBER"),
                ],
                records.map {
                    [
                        $0.id, $0.business, LocalTime.format($0.receivedUnixMs, time),
                        LocalTime.format($0.finishedUnixMs, time), $0.idNumber,
                    ]
                }
            )
        }
    }
}
