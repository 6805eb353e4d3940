import ArgumentParser
import SanlianContracts
import SanlianRPC
import SanlianWire

/// `sanlian watch`: the command room's live feed, from a durable subscription.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Stream the aggregated alert feed live (the command room's view); resumes where it left off.",
        discussion: """
            Each event is written out, then acknowledged: stopped and started again, the watch \
            resumes after the last event it wrote. When the broker restarts, the watch waits for it \
            and goes on by itself. The first column of an alert's line is the fingerprint that \
            `sanlian alert ack` and `alert show` take. A subscription has one watcher at a time: \
            a second one under the same --name is refused unless it asks to --take-over.
            """
    )

    @Option(help: "Durable subscription name (1-64 letters, digits, '.', '_', '-').") var name: String = "command-room"
    @Option(help: "Subject pattern (* one token, > the rest).") var pattern: String = ">"
    @Option(help: "Replay from this sequence instead of resuming.") var fromSequence: UInt64?
    @Option(help: "Stop after this many events (default: run until interrupted).") var count: Int?
    @Flag(help: "Replace a watcher already connected under this --name.") var takeOver = false
    @Flag(help: "Print one JSON object per event, per line.") var json = false

    @OptionGroup(title: "Connection options") var connection: ConnectionOptions

    func run() async throws {
        let command = self
        try await BrokerSession.run(connection) { session in
            try await command.watch(session)
        }
    }

    private func watch(_ session: BrokerSession) async throws {
        let info = try await session.broker.getSubscription(BrokerV1.GetSubscriptionRequest(name: name))
        if let fromSequence {
            Console.current.note(Labels.text("从 #\(fromSequence) 起重放", "replaying from #\(fromSequence)"))
        } else if info.exists {
            Console.current.note(
                Labels.text("从 #\(info.acknowledgedThrough) 之后继续", "resuming after #\(info.acknowledgedThrough)")
            )
        } else {
            Console.current.note(
                Labels.text("新订阅 \(name)：从账本开头开始", "new subscription \(name): from the start of the ledger")
            )
        }
        var start = fromSequence.map { BrokerV1.StartPosition(position: .fromSequence($0)) }
        var takeOver = self.takeOver
        var written = Set<UInt64>()
        var seen = 0
        while true {
            do {
                let stream = try await session.broker.subscribeLedger(
                    BrokerV1.SubscribeLedgerRequest(
                        name: name,
                        subjectPattern: pattern,
                        start: start,
                        takeOver: takeOver
                    ),
                    options: CallOptions(timeout: .seconds(10 * 365 * 24 * 3600), waitForReady: true)
                )
                for try await delivery in stream {
                    guard let event = delivery.event else { continue }
                    // A redelivery of what this watch wrote before the broker restarted is
                    // acknowledged again, not written twice.
                    if written.insert(event.sequence).inserted {
                        try Console.current.emit(json ? event.jsonText(options: Output.jsonOptions) : line(for: event))
                    }
                    _ = try await session.broker.ackLedger(
                        BrokerV1.AckLedgerRequest(name: name, sequences: [event.sequence])
                    )
                    seen += 1
                    if let count, seen >= count { return }
                }
            } catch let error as RPCError where error.code == .unavailable {
                Console.current.note(
                    Labels.text(
                        "与代理的连接中断（\(error.message)）；等待重连后继续",
                        "lost the broker (\(error.message)); resuming once it is back"
                    )
                )
            } catch let error as RPCError where error.code == .alreadyExists {
                throw CLIError(
                    "the subscription \(name) already has a watcher (another `sanlian watch`?): watch under another --name, or replace it with --take-over"
                )
            } catch let error as RPCError where error.code == .aborted {
                throw CLIError("another watcher took the subscription \(name) over; this one stops")
            }
            // Resumed after what was acknowledged; this watch is the subscriber it replaces.
            start = nil
            takeOver = true
        }
    }

    /// `#12  09:14:02  road:G318  严重  traffic  G318 道路塌方`
    private func line(for event: AlertV1.LedgerEvent) -> String {
        let time = String(Output.time(event.recordedUnixMs).suffix(8))
        let drill = event.drill ? Labels.drill + " " : ""
        return "#\(event.sequence)  \(time)  \(event.aggregateFingerprint)  \(drill)\(EventText.describe(event))"
    }
}
