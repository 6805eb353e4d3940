import AlertLedger
import Foundation
import Logging
import SanlianClock
import SanlianWire
import Testing

func makeAlert(
    _ identifier: String,
    fingerprint: String = "road:G318",
    severity: AlertV1.Severity = .severe,
    type: AlertV1.MessageType = .alert,
    drill: Bool = false
) -> AlertV1.Alert {
    AlertV1.Alert(
        identifier: identifier,
        senderDepartment: "traffic",
        status: drill ? .exercise : .actual,
        msgType: type,
        subject: "alert.hazards.traffic",
        severity: severity,
        fingerprint: fingerprint
    )
}

@Suite("Aggregation and escalation rules", .timeLimit(.minutes(1)))
struct AggregationRulesTests {
    @Test("alerts with one fingerprint fold into one aggregate with a count and first/last seen")
    func folding() {
        var aggregate = AggregationRules.fold(makeAlert("a"), into: nil, now: 1_000)
        aggregate = AggregationRules.fold(makeAlert("b"), into: aggregate, now: 5_000)
        #expect(aggregate.count == 2)
        #expect(aggregate.firstSeenUnixMs == 1_000)
        #expect(aggregate.lastSeenUnixMs == 5_000)
        #expect(aggregate.state == .firing)
        #expect(aggregate.latest?.identifier == "b")
    }

    @Test("a resolved aggregate fires again on a new alert; a Cancel resolves it")
    func refireAndCancel() {
        var aggregate = AggregationRules.fold(makeAlert("a"), into: nil, now: 1_000)
        aggregate.state = .resolved
        aggregate.resolvedBy = "station"
        aggregate.escalationLevel = 2
        aggregate = AggregationRules.fold(makeAlert("b"), into: aggregate, now: 2_000)
        #expect(aggregate.state == .firing)
        #expect(aggregate.refireCount == 1)
        #expect(aggregate.escalationLevel == 0)
        #expect(aggregate.resolvedBy.isEmpty)
        aggregate = AggregationRules.fold(makeAlert("c", type: .cancel), into: aggregate, now: 3_000)
        #expect(aggregate.state == .resolved)
        #expect(aggregate.resolvedBy == "traffic")
    }

    @Test("drills never fold into real aggregates; an alert without fingerprint stands alone")
    func keys() {
        #expect(AggregationRules.key(for: makeAlert("a")) == "road:G318")
        #expect(AggregationRules.key(for: makeAlert("a", drill: true)) == "drill:road:G318")
        #expect(AggregationRules.key(for: makeAlert("a", fingerprint: "")) == "traffic:a")
    }

    @Test("escalation levels per severity, only while firing")
    func escalationLevels() {
        let policy = EscalationPolicy(extreme: 60, severe: 300, moderate: 3600, minor: 14_400, unknown: 3600)
        var aggregate = AggregationRules.fold(makeAlert("a", severity: .severe), into: nil, now: 0)
        #expect(policy.dueLevel(for: aggregate, firingSince: 0, now: 299_999) == 0)
        #expect(policy.dueLevel(for: aggregate, firingSince: 0, now: 300_000) == 1)
        #expect(policy.dueLevel(for: aggregate, firingSince: 0, now: 900_000) == 3)
        aggregate.state = .acknowledged
        #expect(policy.dueLevel(for: aggregate, firingSince: 0, now: 900_000) == 0)
        let extreme = AggregationRules.fold(makeAlert("b", severity: .extreme), into: nil, now: 0)
        #expect(policy.dueLevel(for: extreme, firingSince: 0, now: 60_000) == 1)
    }
}

@Suite("The ledger with a controlled clock", .timeLimit(.minutes(1)))
struct LedgerClockTests {
    static func withLedger(_ body: (AlertLedger, ManualClock) async throws -> Void) async throws {
        let directory = NSTemporaryDirectory() + "sl-ledger-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = ManualClock(1_800_000_000_000)
        let ledger = try AlertLedger(
            path: directory + "/ledger.sqlite",
            clock: clock,
            escalation: EscalationPolicy(extreme: 60, severe: 300, moderate: 3600, minor: 14_400, unknown: 3600),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await ledger.runWriter() }
            defer { ledger.stopWriter() }
            try await body(ledger, clock)
        }
    }

    @Test(
        "an unacknowledged aggregate escalates when its time passes, and again at each multiple; acknowledging stops it"
    )
    func escalation() async throws {
        try await Self.withLedger { ledger, clock in
            _ = try await ledger.publish(makeAlert("a"))
            #expect(try await ledger.checkEscalations().isEmpty)
            clock.advance(seconds: 299)
            #expect(try await ledger.checkEscalations().isEmpty)
            clock.advance(seconds: 1)
            let first = try await ledger.checkEscalations()
            #expect(first.count == 1)
            guard case .escalation(let escalation)? = first.first?.body else {
                Issue.record("expected an escalation event")
                return
            }
            #expect(escalation.level == 1)
            #expect(first.first?.subject == "escalation.hazards.traffic")
            #expect(try await ledger.checkEscalations().isEmpty, "no repeat before the next multiple")
            clock.advance(seconds: 300)
            #expect(try await ledger.checkEscalations().count == 1)
            _ = try await ledger.acknowledge(fingerprint: "road:G318", by: "station/duty")
            clock.advance(seconds: 3000)
            #expect(try await ledger.checkEscalations().isEmpty)
        }
    }

    @Test("a repeated identifier is a duplicate stored once; sequences are gap-free")
    func duplicates() async throws {
        try await Self.withLedger { ledger, _ in
            async let a = ledger.publish(makeAlert("x"))
            async let b = ledger.publish(makeAlert("y"))
            async let c = ledger.publish(makeAlert("x"))
            let receipts = try await [a, b, c]
            #expect(receipts.filter(\.duplicate).count == 1)
            #expect(Set(receipts.map(\.sequence)) == [1, 2])
            #expect(try await ledger.alertCount() == 2)
            #expect(try await ledger.read(after: 0, limit: 10).map(\.sequence) == [1, 2])
        }
    }

    @Test("illegal aggregate transitions are refused")
    func transitions() async throws {
        try await Self.withLedger { ledger, _ in
            _ = try await ledger.publish(makeAlert("x"))
            _ = try await ledger.resolve(fingerprint: "road:G318", by: "station")
            await #expect(throws: LedgerError.self) {
                try await ledger.acknowledge(fingerprint: "road:G318", by: "station")
            }
            await #expect(throws: LedgerError.self) { try await ledger.resolve(fingerprint: "nope", by: "station") }
        }
    }
}
