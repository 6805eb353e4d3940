import ArgumentParser
import Foundation
import NIOCore
import SanlianRPC
import SanlianWire

struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check the broker, or a service behind it.")

    @OptionGroup var broker: BrokerOptions

    @Argument(help: "A service name, e.g. sanlian.hazards.v1.Hazards (default: the broker itself).")
    var service: String = ""

    func run() async throws {
        let status = try await broker.withClient { client, options in
            try await client.unary(
                HealthV1.Health.check,
                HealthV1.HealthCheckRequest(service: service),
                options: options
            )
        }.status
        if broker.json {
            printJSON(["service": service.isEmpty ? "sanlian-broker" : service, "status": status.protoName])
        } else {
            print("\(service.isEmpty ? "sanlian-broker" : service): \(status.protoName)")
        }
        if status != .serving { throw ExitCode(2) }
    }
}

struct Services: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the services the broker routes, with their instances and methods."
    )

    @OptionGroup var broker: BrokerOptions

    func run() async throws {
        let services = try await broker.withClient { client, options in
            try await client.unary(BrokerV1.Broker.listServices, BrokerV1.ListServicesRequest(), options: options)
        }.services
        if broker.json {
            printJSON(
                services.map {
                    [
                        "service": $0.service?.name ?? "", "instances": $0.instanceNames,
                        "methods": ($0.service?.methods ?? []).map(\.name),
                    ] as [String: Any]
                }
            )
            return
        }
        printTable(
            ["SERVICE", "INSTANCES", "METHODS"],
            services.map {
                [
                    $0.service?.name ?? "", $0.instanceNames.joined(separator: ","),
                    ($0.service?.methods ?? []).map(\.name).joined(separator: " "),
                ]
            }
        )
    }
}

struct AlertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alert",
        abstract: "Publish alerts and work the aggregated alert list.",
        subcommands: [Publish.self, List.self, Acknowledge.self, Resolve.self]
    )

    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Publish a CAP-shaped alert to the durable ledger.")

        @OptionGroup var broker: BrokerOptions
        @Option(help: "Unique identifier (per department).") var id: String
        @Option(help: "Subject, e.g. alert.hazards.traffic.") var subject: String
        @Option(help: "One-line headline.") var headline: String
        @Option(help: "Longer description.") var description: String = ""
        @Option(help: "extreme, severe, moderate, minor or unknown.") var severity: String = "unknown"
        @Option(
            help:
                "traffic, fire, production_safety, construction, public_order, natural, dispute, patrol, population, other."
        )
        var category: String = "other"
        @Option(help: "12-digit village code.") var village: String = ""
        @Option(help: "Deduplication fingerprint (same hazard, same place).") var fingerprint: String = ""
        @Flag(help: "Mark as a drill (CAP Exercise).") var drill = false

        func run() async throws {
            guard
                let severity = AlertV1.Severity.knownCases.first(where: {
                    $0.protoName == "SEVERITY_\(self.severity.uppercased())"
                })
            else {
                throw CLIError("--severity: \(self.severity) is not one of extreme, severe, moderate, minor, unknown")
            }
            guard
                let category = AlertV1.Category.knownCases.first(where: {
                    $0.protoName == "CATEGORY_\(self.category.uppercased())"
                })
            else {
                throw CLIError("--category: \(self.category) is not a known category")
            }
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
                fingerprint: fingerprint
            )
            let receipt = try await broker.withClient { client, options in
                try await client.unary(
                    BrokerV1.Broker.publishAlert,
                    BrokerV1.PublishAlertRequest(alert: alert),
                    options: options
                )
            }
            if broker.json {
                printJSON(["sequence": receipt.sequence, "duplicate": receipt.duplicate])
            } else {
                print(receipt.duplicate ? "duplicate of #\(receipt.sequence)" : "stored as #\(receipt.sequence)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List aggregated alerts (firing first).")

        @OptionGroup var broker: BrokerOptions
        @Flag(help: "Include resolved aggregates.") var all = false

        func run() async throws {
            let states: [AlertV1.AggregateState] = all ? [] : [.firing, .acknowledged]
            let aggregates = try await broker.withClient { client, options in
                try await client.unary(
                    BrokerV1.Broker.listAggregates,
                    BrokerV1.ListAggregatesRequest(states: states),
                    options: options
                )
            }.aggregates
            if broker.json {
                printJSON(
                    aggregates.map {
                        [
                            "fingerprint": $0.fingerprint, "state": $0.state.protoName, "count": $0.count,
                            "headline": $0.latest?.headline ?? "", "drill": $0.drill,
                            "escalation_level": $0.escalationLevel,
                            "last_seen_unix_ms": $0.lastSeenUnixMs,
                        ] as [String: Any]
                    }
                )
                return
            }
            printTable(
                ["FINGERPRINT", "STATE", "COUNT", "LEVEL", "LAST SEEN", "HEADLINE"],
                aggregates.map {
                    [
                        $0.fingerprint, String($0.state.protoName.dropFirst("AGGREGATE_STATE_".count)),
                        String($0.count),
                        String($0.escalationLevel), formatTime($0.lastSeenUnixMs),
                        ($0.drill ? "[演练] " : "") + ($0.latest?.headline ?? ""),
                    ]
                }
            )
        }
    }

    struct Acknowledge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ack",
            abstract: "Take ownership of an aggregate (firing → acknowledged)."
        )
        @OptionGroup var broker: BrokerOptions
        @Argument(help: "The aggregate's fingerprint.") var fingerprint: String

        func run() async throws {
            let aggregate = try await AlertCommand.act(BrokerV1.Broker.acknowledgeAggregate, on: fingerprint, broker)
            print("\(fingerprint): acknowledged by \(aggregate?.acknowledgedBy ?? "?")")
        }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resolve an aggregate; a new alert fires it again.")
        @OptionGroup var broker: BrokerOptions
        @Argument(help: "The aggregate's fingerprint.") var fingerprint: String

        func run() async throws {
            let aggregate = try await AlertCommand.act(BrokerV1.Broker.resolveAggregate, on: fingerprint, broker)
            print("\(fingerprint): resolved by \(aggregate?.resolvedBy ?? "?")")
        }
    }

    /// Acknowledges or resolves the aggregate `fingerprint`; returns it as the broker left it.
    static func act(
        _ method: WireMethod<BrokerV1.AggregateActionRequest, BrokerV1.AggregateActionResponse>,
        on fingerprint: String,
        _ broker: BrokerOptions
    ) async throws -> AlertV1.Aggregate? {
        try await broker.withClient { client, options in
            try await client.unary(method, BrokerV1.AggregateActionRequest(fingerprint: fingerprint), options: options)
        }.aggregate
    }
}

struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stream the aggregated alert feed live (the command room's view); resumes where it left off."
    )

    @OptionGroup var broker: BrokerOptions
    @Option(help: "Durable subscription name.") var name: String = "command-room"
    @Option(help: "Subject pattern (* one token, > the rest).") var pattern: String = ">"
    @Option(help: "Replay from this sequence instead of resuming.") var fromSequence: UInt64?
    @Option(help: "Stop after this many events (default: run until interrupted).") var count: Int?

    func run() async throws {
        let request = BrokerV1.SubscribeLedgerRequest(
            name: name,
            subjectPattern: pattern,
            start: fromSequence.map { BrokerV1.StartPosition(position: .fromSequence($0)) }
        )
        let json = broker.json
        let limit = count
        try await broker.withClient { client, _ in
            let stream = try await client.serverStream(
                BrokerV1.Broker.subscribeLedger,
                request,
                options: CallOptions(timeout: .hours(24 * 365), waitForReady: true)
            )
            var seen = 0
            for try await delivery in stream {
                guard let event = delivery.event else { continue }
                if json {
                    printJSON([
                        "sequence": event.sequence, "subject": event.subject, "drill": event.drill,
                        "line": describe(event),
                    ])
                } else {
                    print(
                        String(
                            format: "#%-6llu %@  %@%@",
                            event.sequence,
                            formatTime(event.recordedUnixMs),
                            event.drill ? "[演练] " : "",
                            describe(event)
                        )
                    )
                }
                // Out before acknowledged: piped, standard output is block-buffered, and an event
                // acknowledged while its line still sat in the buffer was lost when the watch was
                // stopped (and reached a reader only kilobytes later).
                // fflush(nil): every output stream; the global `stdout` is not concurrency-safe to name.
                guard fflush(nil) == 0 else {
                    throw CLIError("cannot write the feed to standard output: \(String(cString: strerror(errno)))")
                }
                _ = try await client.unary(
                    BrokerV1.Broker.ackLedger,
                    BrokerV1.AckLedgerRequest(name: request.name, sequences: [event.sequence])
                )
                seen += 1
                if let limit, seen >= limit { return }
            }
        }
    }

    func describe(_ event: AlertV1.LedgerEvent) -> String {
        switch event.body {
        case .alert(let alert)?:
            let severity = String(alert.severity.protoName.dropFirst("SEVERITY_".count))
            return
                "\(severity) \(alert.senderDepartment) \(alert.subject) \(alert.headline) [\(alert.fingerprint.isEmpty ? alert.identifier : alert.fingerprint)]"
        case .escalation(let escalation)?:
            return
                "ESCALATION level \(escalation.level) \(escalation.fingerprint): \(escalation.aggregate?.latest?.headline ?? "")"
        case .transition(let aggregate)?:
            let state = String(aggregate.state.protoName.dropFirst("AGGREGATE_STATE_".count))
            let by = aggregate.state == .resolved ? aggregate.resolvedBy : aggregate.acknowledgedBy
            return "\(state) \(aggregate.fingerprint) by \(by)"
        case nil:
            return event.subject
        }
    }
}

struct LedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Read the alert ledger without a subscription."
    )

    @OptionGroup var broker: BrokerOptions
    @Option(help: "First sequence to read.") var from: UInt64 = 1
    @Option(help: "At most this many events.") var limit: UInt32 = 50

    func run() async throws {
        let response = try await broker.withClient { client, options in
            try await client.unary(
                BrokerV1.Broker.readLedger,
                BrokerV1.ReadLedgerRequest(fromSequence: from, limit: limit),
                options: options
            )
        }
        printTable(
            ["SEQ", "RECORDED", "SUBJECT", "KIND"],
            response.events.map { event in
                let kind: String
                switch event.body {
                case .alert(let alert)?: kind = "alert \(alert.identifier)"
                case .escalation(let escalation)?: kind = "escalation \(escalation.level)"
                case .transition(let aggregate)?: kind = "transition \(aggregate.state.protoName)"
                case nil: kind = "-"
                }
                return [String(event.sequence), formatTime(event.recordedUnixMs), event.subject, kind]
            }
        )
        print("last sequence: \(response.lastSequence)")
    }
}

struct DeadLetters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "List or redrive events a subscription gave up on."
    )

    @OptionGroup var broker: BrokerOptions
    @Option(help: "Subscription name.") var subscription: String = ""
    @Flag(help: "Deliver them again to the subscription.") var redrive = false

    func run() async throws {
        if redrive {
            guard !subscription.isEmpty else { throw CLIError("--redrive needs --subscription") }
            let response = try await broker.withClient { client, options in
                try await client.unary(
                    BrokerV1.Broker.redriveDeadLetters,
                    BrokerV1.RedriveDeadLettersRequest(subscription: subscription),
                    options: options
                )
            }
            print("redriven: \(response.redriven)")
            return
        }
        let letters = try await broker.withClient { client, options in
            try await client.unary(
                BrokerV1.Broker.listDeadLetters,
                BrokerV1.ListDeadLettersRequest(subscription: subscription),
                options: options
            )
        }.deadLetters
        printTable(
            ["SUBSCRIPTION", "SEQ", "ATTEMPTS", "DEAD SINCE"],
            letters.map { [$0.subscription, String($0.sequence), String($0.attempts), formatTime($0.deadUnixMs)] }
        )
    }
}
