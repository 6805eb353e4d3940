import Foundation
import GRDB
import SanlianClock
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
                    sql: "SELECT body, firing_since_ms, last_sequence, event_count FROM aggregates WHERE key = ?",
                    arguments: [fingerprint]
                )
            else { throw LedgerError(.notFound, "no aggregate with fingerprint \(fingerprint)") }
            var aggregate = try AlertV1.Aggregate(serializedBytes: row["body"] as Data)
            try change(&aggregate, now)
            var chain = AggregateChain(row)
            let event = try Self.append(
                subject: Self.derivedSubject("aggregate", aggregate.latest?.subject),
                body: .transition(aggregate),
                drill: aggregate.drill,
                previousInAggregate: chain.last,
                now: now,
                db
            )
            chain.append(event.sequence)
            try Self.saveAggregate(aggregate, key: fingerprint, firingSince: row["firing_since_ms"], chain: chain, db)
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

    /// One page of aggregates in the command room's order (`AggregateCursor`), as stored
    /// (encoded `Aggregate`s), after `cursor`; with how many match in all.
    /// - Parameters:
    ///   - readable: the subjects the caller may read; an aggregate whose latest alert's subject
    ///     it may not read is left out, and not counted.
    package func aggregatePage(
        _ filter: AggregateFilter,
        after cursor: AggregateCursor?,
        limit: Int,
        readable: (@Sendable (String) -> Bool)? = nil
    ) async throws -> (aggregates: [StoredAggregate], total: Int) {
        try await pool.read { db in
            var conditions: [String] = []
            var arguments: [any DatabaseValueConvertible] = []
            func any<T: DatabaseValueConvertible>(_ column: String, _ values: [T]) {
                guard !values.isEmpty else { return }
                conditions.append("\(column) IN (\(Array(repeating: "?", count: values.count).joined(separator: ",")))")
                arguments.append(contentsOf: values.map { $0 as any DatabaseValueConvertible })
            }
            any("state", filter.states.map { Int64($0.rawValue) })
            any("severity_rank", filter.severities.map { Int64(AggregationRules.severityRank($0)) })
            any("department", filter.departments)
            any("village", filter.villageCodes)
            let filtered = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            let total: Int
            if let readable {
                var count = 0
                let subjects = try String.fetchCursor(
                    db,
                    sql: "SELECT subject FROM aggregates \(filtered)",
                    arguments: StatementArguments(arguments)
                )
                while let subject = try subjects.next() {
                    if readable(subject) { count += 1 }
                }
                total = count
            } else {
                total =
                    try Int.fetchOne(
                        db,
                        sql: "SELECT COUNT(*) FROM aggregates \(filtered)",
                        arguments: StatementArguments(arguments)
                    ) ?? 0
            }
            var page: [StoredAggregate] = []
            var after = cursor
            // Pages through the rows in order until `limit` readable ones are found.
            while page.count < limit {
                var pageConditions = conditions
                var pageArguments = arguments
                if let after {
                    pageConditions.append(
                        "(state, severity_rank, -escalation_level, -last_seen_ms, key) > (?, ?, ?, ?, ?)"
                    )
                    pageArguments += [
                        after.state, after.severityRank, -after.escalationLevel, -after.lastSeenMs, after.key,
                    ]
                }
                let whereClause = pageConditions.isEmpty ? "" : "WHERE " + pageConditions.joined(separator: " AND ")
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT key, state, severity_rank, escalation_level, last_seen_ms, subject, body
                        FROM aggregates \(whereClause)
                        ORDER BY state, severity_rank, escalation_level DESC, last_seen_ms DESC, key
                        LIMIT ?
                        """,
                    arguments: StatementArguments(pageArguments + [Int64(max(limit - page.count, 16))])
                )
                if rows.isEmpty { break }
                for row in rows where page.count < limit {
                    let position = AggregateCursor(
                        state: row["state"],
                        severityRank: row["severity_rank"],
                        escalationLevel: row["escalation_level"],
                        lastSeenMs: row["last_seen_ms"],
                        key: row["key"]
                    )
                    after = position
                    if let readable, !readable(row["subject"]) { continue }
                    page.append(StoredAggregate(cursor: position, encoded: [UInt8](row["body"] as Data)))
                }
            }
            return (page, total)
        }
    }

    /// The aggregate `key`, as stored.
    /// - Throws: NOT_FOUND when there is none.
    package func aggregate(key: String) async throws -> AlertV1.Aggregate {
        try await pool.read { db in
            guard let body = try Data.fetchOne(db, sql: "SELECT body FROM aggregates WHERE key = ?", arguments: [key])
            else { throw LedgerError(.notFound, "no aggregate with fingerprint \(key)") }
            return try AlertV1.Aggregate(serializedBytes: body)
        }
    }

    /// The most recent `limit` events of aggregate `key` as stored, oldest first, and how many it
    /// has in all.
    package func history(ofAggregate key: String, limit: Int) async throws -> (events: [StoredEvent], total: Int) {
        try await pool.read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: "SELECT last_sequence, event_count FROM aggregates WHERE key = ?",
                    arguments: [key]
                )
            else { return ([], 0) }
            let chain = AggregateChain(row)
            let link = try db.cachedStatement(
                sql: "SELECT aggregate_previous, subject, body FROM events WHERE sequence = ?"
            )
            var events: [StoredEvent] = []
            var next = chain.last
            while next != 0, events.count < limit,
                let row = try Row.fetchOne(link, arguments: [Int64(next)])
            {
                events.append(StoredEvent(sequence: next, subject: row[1], encoded: [UInt8](row[2] as Data)))
                next = UInt64((row[0] as Int64?) ?? 0)
            }
            return (events.reversed(), Int(chain.count))
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
                sql: "SELECT key, body, firing_since_ms, last_sequence, event_count FROM aggregates WHERE state = ?",
                arguments: [AlertV1.AggregateState.firing.rawValue]
            )
            for row in rows {
                var aggregate = try AlertV1.Aggregate(serializedBytes: row["body"] as Data)
                let firingSince: Int64 = row["firing_since_ms"]
                let due = policy.dueLevel(for: aggregate, firingSince: firingSince, now: now)
                guard due > aggregate.escalationLevel else { continue }
                aggregate.escalationLevel = due
                let escalation = AlertV1.Escalation(
                    fingerprint: aggregate.fingerprint,
                    level: due,
                    firingSinceUnixMs: firingSince,
                    escalatedUnixMs: now,
                    aggregate: aggregate
                )
                var chain = AggregateChain(row)
                let event = try Self.append(
                    subject: Self.derivedSubject("escalation", aggregate.latest?.subject),
                    body: .escalation(escalation),
                    drill: aggregate.drill,
                    previousInAggregate: chain.last,
                    now: now,
                    db
                )
                chain.append(event.sequence)
                try Self.saveAggregate(aggregate, key: row["key"], firingSince: firingSince, chain: chain, db)
                events.append(event)
            }
            return events
        }
        if let last = events.last { notifier.advance(to: last.sequence) }
        return events
    }
}

/// Which aggregates a list shows; an empty filter matches everything.
package struct AggregateFilter: Sendable, Equatable {
    package var states: [AlertV1.AggregateState]
    package var severities: [AlertV1.Severity]
    package var departments: [String]
    package var villageCodes: [String]

    package init(
        states: [AlertV1.AggregateState] = [],
        severities: [AlertV1.Severity] = [],
        departments: [String] = [],
        villageCodes: [String] = []
    ) {
        self.states = states
        self.severities = severities
        self.departments = departments
        self.villageCodes = villageCodes
    }
}

/// An aggregate as stored, with its place in the list.
package struct StoredAggregate: Sendable {
    package var cursor: AggregateCursor
    /// An encoded `alert.v1.Aggregate`.
    package var encoded: [UInt8]
}

/// A place in the command room's list of aggregates: firing, then acknowledged, then resolved;
/// the most severe first; the highest escalation level; the most recently seen; by key. A list's
/// next page starts after the last aggregate of the one before.
package struct AggregateCursor: Sendable, Hashable {
    package var state: Int64
    package var severityRank: Int64
    package var escalationLevel: Int64
    package var lastSeenMs: Int64
    package var key: String

    package init(state: Int64, severityRank: Int64, escalationLevel: Int64, lastSeenMs: Int64, key: String) {
        self.state = state
        self.severityRank = severityRank
        self.escalationLevel = escalationLevel
        self.lastSeenMs = lastSeenMs
        self.key = key
    }
}
