import ArgumentParser
import SanlianContracts
import SanlianRPC
import SanlianWire

/// `sanlian alert …`: publish alerts and work the command room's aggregated list.
struct AlertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alert",
        abstract: "Publish alerts and work the aggregated alert list.",
        subcommands: [Publish.self, List.self, Show.self, Acknowledge.self, Resolve.self]
    )

    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish a CAP-shaped alert to the durable ledger."
        )

        @Option(help: "Unique identifier, per department (1-128 bytes).") var id: String
        @Option(help: "Subject, e.g. alert.hazards.traffic.") var subject: String
        @Option(help: "One-line headline (1-200 characters).") var headline: String
        @Option(help: "Longer description.") var description: String = ""
        @Option(help: "What to do about it.") var instruction: String = ""
        @Option(help: "Severity.") var severity: AlertV1.Severity = .unknown
        @Option(help: "Category.") var category: AlertV1.Category = .other
        @Option(help: "12-digit village code.") var village: String = ""
        @Option(help: "Deduplication fingerprint (same hazard, same place).") var fingerprint: String = ""
        @Flag(help: "Mark as a drill (CAP Exercise): never counted in statistics.") var drill = false
        @Flag(help: "Print JSON.") var json = false

        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func validate() throws {
            guard headline.contains(where: { !$0.isWhitespace }) else {
                throw ValidationError("--headline: must not be blank")
            }
            if !village.isEmpty, !CommonV1.Place.isVillageCode(village) {
                throw ValidationError("--village: must be 12 digits, got \"\(village)\"")
            }
        }

        func run() async throws {
            let alert = AlertV1.Alert(
                identifier: id,
                status: drill ? .exercise : .actual,
                msgType: .alert,
                subject: subject,
                category: category,
                severity: severity,
                area: village.isEmpty ? nil : CommonV1.Place(villageCode: village),
                headline: headline,
                description: description,
                instruction: instruction,
                fingerprint: fingerprint
            )
            let receipt = try await BrokerSession.run(connection) { session in
                try await session.broker.publishAlert(BrokerV1.PublishAlertRequest(alert: alert))
            }
            if json {
                Output.json(receipt)
            } else if receipt.duplicate {
                Console.current.line(Labels.text("重复：已记录为 #\(receipt.sequence)", "duplicate of #\(receipt.sequence)"))
            } else {
                Console.current.line(Labels.text("已记录为 #\(receipt.sequence)", "stored as #\(receipt.sequence)"))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List aggregated alerts: firing first, the most severe and most escalated first.",
            discussion: """
                Filters, like amtool's matchers: each repeated option is a list of alternatives; \
                different options must all match. By default the firing and acknowledged ones.
                """
        )

        @Option(name: .customLong("state"), help: "Only in this state (repeatable).") var states:
            [AlertV1.AggregateState] =
                []
        @Flag(help: "Every state, resolved ones too.") var all = false
        @Option(name: .customLong("severity"), help: "Only of this severity (repeatable).") var severities:
            [AlertV1.Severity] = []
        @Option(
            name: .customLong("sender"),
            help: "Only those whose latest alert came from this department (repeatable)."
        )
        var departments: [String] =
            []
        @Option(name: .customLong("village"), help: "Only in this 12-digit village (repeatable).") var villages:
            [String] = []
        @Option(help: "At most this many (default: all).") var limit: Int?
        @Flag(help: "Print JSON.") var json = false

        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = BrokerV1.ListAggregatesRequest(
                states: all ? [] : (states.isEmpty ? [.firing, .acknowledged] : states),
                severities: severities,
                departments: departments,
                villageCodes: villages
            )
            let limit = self.limit
            let (aggregates, total) = try await BrokerSession.run(connection) { session in
                var all: [AlertV1.Aggregate] = []
                var total = 0
                var page = request
                repeat {
                    let answer = try await session.broker.listAggregates(page)
                    all += answer.aggregates
                    total = Int(answer.page?.total ?? 0)
                    page.page = CommonV1.PageRequest(pageToken: answer.page?.nextPageToken ?? "")
                } while page.page?.pageToken.isEmpty == false && all.count < (limit ?? .max)
                return (Array(all.prefix(limit ?? .max)), total)
            }
            if json {
                Output.json(aggregates)
                return
            }
            Output.table(
                [
                    Labels.text("指纹", "FINGERPRINT"), Labels.text("状态", "STATE"), Labels.text("级别", "SEVERITY"),
                    Labels.text("升级", "LEVEL"), Labels.text("次数", "COUNT"), Labels.text("部门", "FROM"),
                    Labels.text("村", "VILLAGE"), Labels.text("最近", "LAST SEEN"), Labels.text("标题", "HEADLINE"),
                ],
                aggregates.map { aggregate in
                    let latest = aggregate.latest
                    let severity = latest?.severity ?? .unknown
                    return [
                        aggregate.fingerprint, Labels.state(aggregate.state),
                        Colour.severity(severity, Labels.severity(severity)), String(aggregate.escalationLevel),
                        String(aggregate.count), latest?.senderDepartment ?? "", latest?.area?.villageCode ?? "",
                        Output.time(aggregate.lastSeenUnixMs),
                        (aggregate.drill ? Labels.drill + " " : "") + (latest?.headline ?? ""),
                    ]
                }
            )
            if aggregates.count < total {
                Console.current.note(
                    Labels.text("（共 \(total) 条，显示 \(aggregates.count) 条）", "(\(aggregates.count) of \(total) shown)")
                )
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one aggregate and its history in the ledger."
        )

        @Argument(help: "The aggregate's fingerprint, as `alert list` and `watch` show it.") var fingerprint: String
        @Option(help: "At most this many history events, the most recent.") var history: UInt32 = 50
        @Flag(help: "Print JSON.") var json = false

        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let answer = try await BrokerSession.run(connection) { session in
                try await session.broker.getAggregate(
                    BrokerV1.GetAggregateRequest(fingerprint: fingerprint, historyLimit: history)
                )
            }
            if json {
                Output.json(answer)
                return
            }
            guard let aggregate = answer.aggregate else { return }
            let latest = aggregate.latest
            let severity = latest?.severity ?? .unknown
            let rows: [(String, String)] = [
                (Labels.text("指纹", "fingerprint"), aggregate.fingerprint),
                (Labels.text("标题", "headline"), (aggregate.drill ? Labels.drill + " " : "") + (latest?.headline ?? "")),
                (Labels.text("状态", "state"), Labels.state(aggregate.state)),
                (Labels.text("级别", "severity"), Colour.severity(severity, Labels.severity(severity))),
                (Labels.text("类别", "category"), Labels.category(latest?.category ?? .unspecified)),
                (
                    Labels.text("部门", "from"),
                    [latest?.senderDepartment, latest?.senderOperator].compactMap { $0 }
                        .filter { !$0.isEmpty }.joined(separator: "/")
                ),
                (Labels.text("村", "village"), latest?.area?.villageCode ?? ""),
                (Labels.text("次数", "count"), String(aggregate.count)),
                (Labels.text("首次", "first seen"), Output.time(aggregate.firstSeenUnixMs)),
                (Labels.text("最近", "last seen"), Output.time(aggregate.lastSeenUnixMs)),
                (Labels.text("升级", "escalation level"), String(aggregate.escalationLevel)),
                (Labels.text("接手", "acknowledged by"), aggregate.acknowledgedBy),
                (Labels.text("解除", "resolved by"), aggregate.resolvedBy),
                (Labels.text("描述", "description"), latest?.description ?? ""),
            ]
            for (label, value) in rows where !value.isEmpty {
                Console.current.line(label + ": " + value)
            }
            Console.current.line()
            Output.table(
                [Labels.text("序号", "SEQ"), Labels.text("记录时间", "RECORDED"), Labels.text("事件", "EVENT")],
                answer.history.map { event in
                    ["#\(event.sequence)", Output.time(event.recordedUnixMs), EventText.describe(event)]
                }
            )
            if Int(answer.historyTotal) > answer.history.count {
                Console.current.note(
                    Labels.text(
                        "（共 \(answer.historyTotal) 条历史，显示最近 \(answer.history.count) 条）",
                        "(the last \(answer.history.count) of \(answer.historyTotal) events shown)"
                    )
                )
            }
        }
    }

    struct Acknowledge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ack",
            abstract: "Take ownership of an aggregate (firing → acknowledged)."
        )
        @Argument(help: "The aggregate's fingerprint, as `alert list` and `watch` show it.") var fingerprint: String
        @Option(help: "A note, logged with the acknowledgement.") var note: String = ""
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let aggregate = try await AlertCommand.act(acknowledge: true, fingerprint, note, connection)
            if json {
                Output.json(aggregate)
            } else {
                Console.current.line(
                    "\(fingerprint): "
                        + Labels.text(
                            "已由 \(aggregate.acknowledgedBy) 接手",
                            "acknowledged by \(aggregate.acknowledgedBy)"
                        )
                )
            }
        }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resolve an aggregate; a new alert with its fingerprint fires it again."
        )
        @Argument(help: "The aggregate's fingerprint, as `alert list` and `watch` show it.") var fingerprint: String
        @Option(help: "A note, logged with the resolution.") var note: String = ""
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let aggregate = try await AlertCommand.act(acknowledge: false, fingerprint, note, connection)
            if json {
                Output.json(aggregate)
            } else {
                Console.current.line(
                    "\(fingerprint): "
                        + Labels.text("已由 \(aggregate.resolvedBy) 解除", "resolved by \(aggregate.resolvedBy)")
                )
            }
        }
    }

    /// Acknowledges (or resolves) the aggregate `fingerprint`; returns it as the broker left it.
    static func act(
        acknowledge: Bool,
        _ fingerprint: String,
        _ note: String,
        _ connection: ConnectionOptions
    ) async throws -> AlertV1.Aggregate {
        try await BrokerSession.run(connection) { session in
            let request = BrokerV1.AggregateActionRequest(fingerprint: fingerprint, note: note)
            let answer =
                acknowledge
                ? try await session.broker.acknowledgeAggregate(request)
                : try await session.broker.resolveAggregate(request)
            return answer.aggregate ?? AlertV1.Aggregate(fingerprint: fingerprint)
        }
    }
}

/// One line for a ledger event, as the feed and the history show it.
enum EventText {
    static func describe(_ event: AlertV1.LedgerEvent) -> String {
        switch event.body {
        case .alert(let alert)?:
            let severity = Colour.severity(alert.severity, Labels.severity(alert.severity))
            return "\(severity) \(alert.senderDepartment) \(alert.headline)"
        case .escalation(let escalation)?:
            return Labels.text("升级至 \(escalation.level) 级", "escalated to level \(escalation.level)") + ": "
                + (escalation.aggregate?.latest?.headline ?? "")
        case .transition(let aggregate)?:
            let by = aggregate.state == .resolved ? aggregate.resolvedBy : aggregate.acknowledgedBy
            return Labels.state(aggregate.state) + Labels.text("，由 \(by)", " by \(by)")
        case nil:
            return event.subject
        }
    }
}
