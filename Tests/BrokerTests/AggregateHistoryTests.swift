import Foundation
import GRDB
import Logging
import SanlianClock
import SanlianWire
import Testing

@testable import AlertLedger

@Suite("An aggregate's history", .timeLimit(.minutes(1)))
struct AggregateHistoryTests {
    @Test("a long history: the most recent events up to the limit, every event counted, repeats left out")
    func longHistory() async throws {
        try await LedgerClockTests.withLedger { ledger, _ in
            var sequences: [UInt64] = []
            for index in 0..<30 {
                sequences.append(try await ledger.publish(makeAlert("long-\(index)")).sequence)
                _ = try await ledger.publish(makeAlert("other-\(index)", fingerprint: "road:S105"))
                #expect(try await ledger.publish(makeAlert("long-\(index)")).duplicate)
            }
            let (events, total) = try await ledger.history(ofAggregate: "road:G318", limit: 10)
            #expect(total == 30)
            #expect(events.map(\.sequence) == Array(sequences.suffix(10)))
            #expect(try await ledger.history(ofAggregate: "road:G318", limit: 500).events.map(\.sequence) == sequences)
        }
    }

    @Test("alerts, an escalation and an acknowledgement are the aggregate's history, oldest first")
    func historyOfAnAggregate() async throws {
        try await LedgerClockTests.withLedger { ledger, clock in
            async let a = ledger.publish(makeAlert("a"))
            async let b = ledger.publish(makeAlert("b"))
            async let other = ledger.publish(makeAlert("o", fingerprint: "road:S105"))
            let receipts = try await [a, b, other]
            clock.advance(seconds: 300)
            let escalations = try await ledger.checkEscalations()
            #expect(escalations.count == 2)
            _ = try await ledger.acknowledge(fingerprint: "road:G318", by: "station/duty-0421")

            let (events, total) = try await ledger.history(ofAggregate: "road:G318", limit: 50)
            #expect(total == 4)
            let sequences = events.map(\.sequence)
            #expect(sequences == sequences.sorted())
            #expect(sequences.prefix(2) == [receipts[0].sequence, receipts[1].sequence].sorted()[...])
            #expect(events.map(\.subject).suffix(2) == ["escalation.hazards.traffic", "aggregate.hazards.traffic"])

            let (recent, sameTotal) = try await ledger.history(ofAggregate: "road:G318", limit: 1)
            #expect(recent.map(\.sequence) == [sequences.last!])
            #expect(sameTotal == 4)
            #expect(try await ledger.history(ofAggregate: "road:S105", limit: 50).total == 2)
            #expect(try await ledger.history(ofAggregate: "nothing", limit: 50).total == 0)
        }
    }

    @Test("a ledger that kept history as an index over events is upgraded with its histories")
    func upgradeFromEventsByAggregate() async throws {
        let directory = NSTemporaryDirectory() + "sl-upgrade-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/ledger.sqlite"

        // The schema as the previous release left it, with three events of one aggregate.
        let queue = try DatabaseQueue(path: path)
        try AlertLedger.migrator.migrate(
            queue,
            upTo: "v3: aggregates listed in order and by filter; events by aggregate"
        )
        try await queue.write { db in
            var aggregate: AlertV1.Aggregate?
            for sequence in 1...3 {
                let alert = makeAlert("u-\(sequence)")
                aggregate = AggregationRules.fold(alert, into: aggregate, now: Int64(sequence))
                let event = AlertV1.LedgerEvent(
                    sequence: UInt64(sequence),
                    recordedUnixMs: Int64(sequence),
                    subject: alert.subject,
                    body: .alert(alert),
                    aggregateFingerprint: "road:G318"
                )
                try db.execute(
                    sql: """
                        INSERT INTO events (sequence, recorded_ms, subject, sender, identifier, aggregate_key, body)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        sequence, sequence, alert.subject, "traffic", alert.identifier, "road:G318",
                        Data(try event.serializedBytes()),
                    ]
                )
            }
            try db.execute(
                sql: "INSERT INTO aggregates (key, state, firing_since_ms, body) VALUES (?, ?, ?, ?)",
                arguments: ["road:G318", aggregate!.state.rawValue, 1, Data(try aggregate!.serializedBytes())]
            )
        }
        try queue.close()

        let ledger = try AlertLedger(
            path: path,
            clock: ManualClock(1_800_000_000_000),
            escalation: EscalationPolicy(extreme: 60, severe: 300, moderate: 3600, minor: 14_400, unknown: 3600),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await ledger.runWriter() }
            defer { ledger.stopWriter() }
            let before = try await ledger.history(ofAggregate: "road:G318", limit: 50)
            #expect(before.events.map(\.sequence) == [1, 2, 3])
            #expect(before.total == 3)
            let receipt = try await ledger.publish(makeAlert("u-4"))
            #expect(receipt.sequence == 4)
            let after = try await ledger.history(ofAggregate: "road:G318", limit: 50)
            #expect(after.events.map(\.sequence) == [1, 2, 3, 4])
            #expect(try await ledger.aggregate(key: "road:G318").count == 4)
        }
    }
}
