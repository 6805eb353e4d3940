import Foundation
import GRDB
package import SanlianWire

extension AlertLedger {
    /// The command room takes ownership: firing → acknowledged (by `by`). Records a transition
    /// event in the ledger.
    /// - Throws: NOT_FOUND for an unknown fingerprint; FAILED_PRECONDITION unless firing.
    package func acknowledge(fingerprint: String, by: String, note: String = "") async throws -> AlertV1.Aggregate {
        try await transition(fingerprint: fingerprint) { aggregate, now throws(LedgerError) in
            guard aggregate.state == .firing else {
                throw LedgerError(
                    .failedPrecondition,
                    "aggregate \(fingerprint) is \(aggregate.state.protoName), not firing"
                )
            }
            aggregate.state = .acknowledged
            aggregate.acknowledgedBy = by
            aggregate.acknowledgedUnixMs = now
        }
    }

    /// firing or acknowledged → resolved. A later alert with the same fingerprint fires it again.
    package func resolve(fingerprint: String, by: String, note: String = "") async throws -> AlertV1.Aggregate {
        try await transition(fingerprint: fingerprint) { aggregate, now throws(LedgerError) in
            guard aggregate.state != .resolved else {
                throw LedgerError(.failedPrecondition, "aggregate \(fingerprint) is already resolved")
            }
            aggregate.state = .resolved
            aggregate.resolvedBy = by
            aggregate.resolvedUnixMs = now
        }
    }

    private func transition(
        fingerprint: String,
        _ change: @escaping @Sendable (inout AlertV1.Aggregate, Int64) throws(LedgerError) -> Void
    ) async throws -> AlertV1.Aggregate {
        let now = clock.nowMilliseconds()
        let (aggregate, sequence) = try await pool.write { db -> (AlertV1.Aggregate, UInt64) in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: "SELECT body, firing_since_ms FROM aggregates WHERE key = ?",
                    arguments: [fingerprint]
                )
            else { throw LedgerError(.notFound, "no aggregate with fingerprint \(fingerprint)") }
            var aggregate = try AlertV1.Aggregate(serializedBytes: row["body"] as Data)
            try change(&aggregate, now)
            try Self.saveAggregate(aggregate, key: fingerprint, firingSince: row["firing_since_ms"], db)
            let event = try Self.append(
                subject: Self.derivedSubject("aggregate", aggregate.latest?.subject),
                body: .transition(aggregate),
                drill: aggregate.drill,
                now: now,
                db
            )
            return (aggregate, event.sequence)
        }
        notifier.advance(to: sequence)
        return aggregate
    }

    /// "alert.hazards.traffic" → "escalation.hazards.traffic" (prefix "escalation").
    static func derivedSubject(_ prefix: String, _ subject: String?) -> String {
        guard let subject, !subject.isEmpty else { return prefix }
        if subject.hasPrefix("alert.") { return prefix + subject.dropFirst("alert".count) }
        return prefix + "." + subject
    }

    /// Aggregates in the given states (all when empty), most recently seen first.
    package func aggregates(states: [AlertV1.AggregateState] = [], limit: Int = 500) async throws -> [AlertV1.Aggregate]
    {
        try await pool.read { db in
            let filter =
                states.isEmpty ? "" : "WHERE state IN (\(states.map { String($0.rawValue) }.joined(separator: ",")))"
            return try Data.fetchAll(db, sql: "SELECT body FROM aggregates \(filter)")
                .map { try AlertV1.Aggregate(serializedBytes: $0) }
                .sorted { $0.lastSeenUnixMs > $1.lastSeenUnixMs }
                .prefix(limit)
                .map { $0 }
        }
    }

    /// Emits an escalation event for every firing aggregate that has stayed unacknowledged past
    /// the time its severity allows (and again at each further multiple).
    /// - Returns: the escalation events recorded.
    @discardableResult
    package func checkEscalations() async throws -> [AlertV1.LedgerEvent] {
        let now = clock.nowMilliseconds()
        let policy = escalation
        let events = try await pool.write { db -> [AlertV1.LedgerEvent] in
            var events: [AlertV1.LedgerEvent] = []
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT key, body, firing_since_ms FROM aggregates WHERE state = ?",
                arguments: [AlertV1.AggregateState.firing.rawValue]
            )
            for row in rows {
                var aggregate = try AlertV1.Aggregate(serializedBytes: row["body"] as Data)
                let firingSince: Int64 = row["firing_since_ms"]
                let due = policy.dueLevel(for: aggregate, firingSince: firingSince, now: now)
                guard due > aggregate.escalationLevel else { continue }
                aggregate.escalationLevel = due
                try Self.saveAggregate(aggregate, key: row["key"], firingSince: firingSince, db)
                let escalation = AlertV1.Escalation(
                    fingerprint: aggregate.fingerprint,
                    level: due,
                    firingSinceUnixMs: firingSince,
                    escalatedUnixMs: now,
                    aggregate: aggregate
                )
                events.append(
                    try Self.append(
                        subject: Self.derivedSubject("escalation", aggregate.latest?.subject),
                        body: .escalation(escalation),
                        drill: aggregate.drill,
                        now: now,
                        db
                    )
                )
            }
            return events
        }
        if let last = events.last { notifier.advance(to: last.sequence) }
        return events
    }
}
