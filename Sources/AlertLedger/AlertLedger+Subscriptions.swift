import Foundation
import GRDB
import Logging
import SanlianClock
import SanlianWire

/// A dead-lettered event of a durable subscription.
package struct DeadLetterRecord: Sendable, Equatable {
    package var department: String
    package var subscription: String
    package var sequence: UInt64
    package var attempts: UInt32
    package var deadUnixMs: Int64
}

/// Where a durable subscription stands when a subscriber connects.
package struct OpenedSubscription: Sendable, Equatable {
    /// Every event up to this sequence is handled.
    package var ackedThrough: UInt64
    /// Deliveries already made, by earlier connections, of events after `ackedThrough` that were
    /// never acknowledged (`rememberAttempts`).
    package var attempts: [UInt64: UInt32]
}

extension AlertLedger {
    /// The subscription's acknowledged position and the deliveries earlier connections made of
    /// what follows it, creating the subscription at `initial` if new. Its subject pattern is
    /// updated to `pattern`. On the writer, after any `rememberAttempts` queued before it.
    package func openSubscription(department: String, name: String, pattern: String, initial: UInt64) async throws
        -> OpenedSubscription
    {
        try await pool.write { db in
            guard
                let position = try Int64.fetchOne(
                    db,
                    sql: "SELECT acked_through FROM subscriptions WHERE department = ? AND name = ?",
                    arguments: [department, name]
                )
            else {
                try db.execute(
                    sql: "INSERT INTO subscriptions (department, name, pattern, acked_through) VALUES (?, ?, ?, ?)",
                    arguments: [department, name, pattern, Int64(initial)]
                )
                return OpenedSubscription(ackedThrough: initial, attempts: [:])
            }
            // Counts at or below the resume point are of handled events, but for redriven dead
            // letters: those sit below it until acknowledged, and count on like any other.
            try db.execute(
                sql: """
                    UPDATE subscriptions SET pattern = ? WHERE department = ? AND name = ?;
                    DELETE FROM delivery_attempts WHERE department = ? AND name = ? AND sequence <= ?
                        AND sequence NOT IN (SELECT sequence FROM redrives WHERE department = ? AND name = ?)
                    """,
                arguments: [pattern, department, name, department, name, position, department, name]
            )
            var attempts: [UInt64: UInt32] = [:]
            let rows = try Row.fetchCursor(
                db,
                sql: "SELECT sequence, attempts FROM delivery_attempts WHERE department = ? AND name = ?",
                arguments: [department, name]
            )
            while let row = try rows.next() {
                attempts[UInt64(row[0] as Int64)] = UInt32(clamping: row[1] as Int64)
            }
            return OpenedSubscription(ackedThrough: UInt64(position), attempts: attempts)
        }
    }

    /// Remembers how often each of `attempts`' events was delivered to a subscriber that is
    /// gone without acknowledging it, for the next connection to count on from there. Queued on
    /// the writer and not awaited: it runs as a subscriber's session ends, often because its task
    /// was cancelled, which an awaited write would refuse.
    package func rememberAttempts(department: String, name: String, _ attempts: [(sequence: UInt64, attempts: UInt32)])
    {
        guard !attempts.isEmpty else { return }
        let path = self.path
        let logger = self.logger
        pool.asyncWrite(
            { db in
                for (sequence, count) in attempts {
                    try db.execute(
                        // A replaced session may end after the one that took over: the larger count stays.
                        sql: """
                            INSERT INTO delivery_attempts (department, name, sequence, attempts) VALUES (?, ?, ?, ?)
                            ON CONFLICT (department, name, sequence) DO UPDATE SET attempts = max(attempts, excluded.attempts)
                            """,
                        arguments: [department, name, Int64(sequence), Int64(count)]
                    )
                }
            },
            completion: { _, result in
                if case .failure(let error) = result {
                    logger.error(
                        "Saving delivery attempts failed",
                        metadata: ["db.path": "\(path)", "db.error": "\(error)", "subscription.name": "\(name)"]
                    )
                }
            }
        )
    }

    /// Persists the subscription's resume point: every event up to `sequence` is handled.
    /// The subscription `name` of `department` as stored: its pattern and acknowledged
    /// position; nil when there is none.
    package func subscription(department: String, name: String) async throws -> (pattern: String, ackedThrough: UInt64)?
    {
        try await pool.read { db in
            try Row.fetchOne(
                db,
                sql: "SELECT pattern, acked_through FROM subscriptions WHERE department = ? AND name = ?",
                arguments: [department, name]
            ).map { row in (row["pattern"], UInt64(row["acked_through"] as Int64)) }
        }
    }

    package func saveSubscriptionPosition(department: String, name: String, ackedThrough sequence: UInt64) async throws
    {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE subscriptions SET acked_through = ? WHERE department = ? AND name = ?",
                arguments: [Int64(sequence), department, name]
            )
        }
    }

    /// Records an event that exhausted its deliveries.
    package func recordDeadLetter(department: String, name: String, sequence: UInt64, attempts: UInt32) async throws {
        let now = clock.nowMilliseconds()
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO dead_letters (department, name, sequence, attempts, dead_ms) VALUES (?, ?, ?, ?, ?);
                    DELETE FROM redrives WHERE department = ? AND name = ? AND sequence = ?;
                    DELETE FROM delivery_attempts WHERE department = ? AND name = ? AND sequence = ?
                    """,
                arguments: [
                    department, name, Int64(sequence), Int64(attempts), now, department, name, Int64(sequence),
                    department, name, Int64(sequence),
                ]
            )
        }
    }

    /// Dead letters, of one department (nil: all) and one subscription (nil: all).
    /// Dead letters of `department` (of its subscription `name`, when given), in subscription
    /// then sequence order, after `after`; with how many there are in all.
    package func deadLetters(
        department: String,
        name: String?,
        after: (name: String, sequence: UInt64)? = nil,
        limit: Int = .max
    ) async throws -> (records: [DeadLetterRecord], total: Int) {
        try await pool.read { db in
            var conditions = ["department = ?"]
            var arguments: [any DatabaseValueConvertible] = [department]
            if let name {
                conditions.append("name = ?")
                arguments.append(name)
            }
            let total =
                try Int.fetchOne(
                    db,
                    sql: "SELECT COUNT(*) FROM dead_letters WHERE \(conditions.joined(separator: " AND "))",
                    arguments: StatementArguments(arguments)
                ) ?? 0
            if let after {
                conditions.append("(name, sequence) > (?, ?)")
                arguments += [after.name, Int64(clamping: after.sequence)]
            }
            let records = try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM dead_letters WHERE \(conditions.joined(separator: " AND "))
                    ORDER BY name, sequence LIMIT ?
                    """,
                arguments: StatementArguments(arguments + [Int64(clamping: limit)])
            ).map { row in
                DeadLetterRecord(
                    department: row["department"],
                    subscription: row["name"],
                    sequence: UInt64(row["sequence"] as Int64),
                    attempts: UInt32(row["attempts"] as Int64),
                    deadUnixMs: row["dead_ms"]
                )
            }
            return (records, total)
        }
    }

    /// Moves dead letters back in front of their subscription (all of them when `sequences` is empty).
    /// - Returns: the sequences queued for redelivery.
    package func redrive(department: String, name: String, sequences: [UInt64]) async throws -> [UInt64] {
        try await pool.write { db in
            let dead = try Int64.fetchAll(
                db,
                sql: "SELECT sequence FROM dead_letters WHERE department = ? AND name = ? ORDER BY sequence",
                arguments: [department, name]
            ).map(UInt64.init)
            let chosen = sequences.isEmpty ? dead : dead.filter(Set(sequences).contains)
            for sequence in chosen {
                try db.execute(
                    sql: """
                        DELETE FROM dead_letters WHERE department = ? AND name = ? AND sequence = ?;
                        INSERT OR IGNORE INTO redrives (department, name, sequence) VALUES (?, ?, ?)
                        """,
                    arguments: [department, name, Int64(sequence), department, name, Int64(sequence)]
                )
            }
            return chosen
        }
    }

    /// Events queued for redelivery to a subscription.
    package func pendingRedrives(department: String, name: String) async throws -> [UInt64] {
        try await pool.read { db in
            try Int64.fetchAll(
                db,
                sql: "SELECT sequence FROM redrives WHERE department = ? AND name = ? ORDER BY sequence",
                arguments: [department, name]
            ).map(UInt64.init)
        }
    }

    /// A redriven event was acknowledged (or dead again).
    package func finishRedrive(department: String, name: String, sequence: UInt64) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    DELETE FROM redrives WHERE department = ? AND name = ? AND sequence = ?;
                    DELETE FROM delivery_attempts WHERE department = ? AND name = ? AND sequence = ?
                    """,
                arguments: [department, name, Int64(sequence), department, name, Int64(sequence)]
            )
        }
    }
}
