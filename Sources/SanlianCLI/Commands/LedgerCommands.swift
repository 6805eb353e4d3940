import ArgumentParser
import SanlianContracts
import SanlianRPC
import SanlianWire

/// `sanlian ledger`: read the alert ledger without a subscription.
struct LedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Read the alert ledger without a subscription.",
        discussion: """
            Reads as many answers from the broker as it takes (each holds at most 1,000 events, \
            fewer when they are large) and says where to go on when --limit stops it first.
            """
    )

    @Option(help: "First sequence to read.") var from: UInt64 = 1
    @Option(help: "At most this many events.") var limit: Int = 50
    @Option(help: "Only subjects matching this pattern (* one token, > the rest).") var subject: String = ""
    @Flag(help: "Print JSON.") var json = false

    @OptionGroup(title: "Connection options") var connection: ConnectionOptions

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit: must be a positive number, got \(limit)") }
    }

    func run() async throws {
        let (events, next, last) = try await BrokerSession.run(connection) { session in
            var events: [AlertV1.LedgerEvent] = []
            var next = from
            var last: UInt64 = 0
            while events.count < limit {
                let answer = try await session.broker.readLedger(
                    BrokerV1.ReadLedgerRequest(
                        fromSequence: next,
                        limit: UInt32(min(limit - events.count, 1000)),
                        subjectPattern: subject
                    )
                )
                events += answer.events
                last = answer.lastSequence
                guard answer.nextFromSequence > next else { break }
                next = answer.nextFromSequence
                if next > last { break }
            }
            return (events, next, last)
        }
        if json {
            Output.json(events)
            return
        }
        Output.table(
            [
                Labels.text("序号", "SEQ"), Labels.text("记录时间", "RECORDED"), Labels.text("主题", "SUBJECT"),
                Labels.text("指纹", "FINGERPRINT"), Labels.text("事件", "EVENT"),
            ],
            events.map { event in
                [
                    "#\(event.sequence)", Output.time(event.recordedUnixMs), event.subject, event.aggregateFingerprint,
                    (event.drill ? Labels.drill + " " : "") + EventText.describe(event),
                ]
            }
        )
        if next <= last {
            Console.current.note(
                Labels.text(
                    "（账本到 #\(last)；继续读：--from \(next)）",
                    "(the ledger goes on to #\(last); read on with --from \(next))"
                )
            )
        }
    }
}

/// `sanlian dead-letters`: events a subscription gave up on.
struct DeadLettersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "List or redrive events a subscription gave up on."
    )

    @Option(help: "Subscription name (default: every subscription of the department).") var subscription: String = ""
    @Flag(help: "Deliver them again to the subscription.") var redrive = false
    @Flag(help: "Print JSON.") var json = false

    @OptionGroup(title: "Connection options") var connection: ConnectionOptions

    func validate() throws {
        if redrive, subscription.isEmpty { throw ValidationError("--redrive needs --subscription") }
    }

    func run() async throws {
        if redrive {
            let answer = try await BrokerSession.run(connection) { session in
                try await session.broker.redriveDeadLetters(
                    BrokerV1.RedriveDeadLettersRequest(subscription: subscription)
                )
            }
            if json {
                Output.json(answer)
            } else {
                Console.current.line(Labels.text("已重新投递 \(answer.redriven) 条", "redriven: \(answer.redriven)"))
            }
            return
        }
        let letters = try await BrokerSession.run(connection) { session in
            var all: [BrokerV1.DeadLetter] = []
            var token = ""
            repeat {
                let page = try await session.broker.listDeadLetters(
                    BrokerV1.ListDeadLettersRequest(
                        subscription: subscription,
                        page: CommonV1.PageRequest(pageToken: token)
                    )
                )
                all += page.deadLetters
                token = page.page?.nextPageToken ?? ""
            } while !token.isEmpty
            return all
        }
        if json {
            Output.json(letters)
            return
        }
        Output.table(
            [
                Labels.text("订阅", "SUBSCRIPTION"), Labels.text("序号", "SEQ"), Labels.text("投递次数", "ATTEMPTS"),
                Labels.text("放弃时间", "DEAD SINCE"),
            ],
            letters.map { ["\($0.subscription)", "#\($0.sequence)", String($0.attempts), Output.time($0.deadUnixMs)] }
        )
    }
}
