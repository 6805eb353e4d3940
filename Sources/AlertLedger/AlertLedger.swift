import Foundation
import GRDB
import GRDBSQLite
package import Logging
package import SanlianClock
package import SanlianWire
import Synchronization

/// Why the ledger refused or failed an operation.
package struct LedgerError: Error, CustomStringConvertible, Equatable {
    package enum Kind: Sendable, Equatable {
        case invalid
        case notFound
        case alreadyExists
        case failedPrecondition
        case aborted
        case storage
    }

    package var kind: Kind
    package var description: String

    package init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}

/// The result of publishing one alert.
package struct PublishReceipt: Sendable, Equatable {
    package var sequence: UInt64
    package var duplicate: Bool
}

/// The broker's durable, ordered, deduplicated alert ledger, in its own SQLite file (WAL,
/// synchronous=FULL: an acknowledged alert survives a crash of the broker or of the machine).
///
/// Every event gets the next sequence number inside the transaction that stores it, so
/// sequences are gap-free and monotonic. Publishes are group-committed: everything waiting while
/// one transaction commits goes into the next, so a burst costs one fsync per batch, not per alert.
package final class AlertLedger: Sendable {
    package let path: String
    let pool: DatabasePool
    let clock: any WallClock
    let escalation: EscalationPolicy
    let logger: Logger
    /// The highest committed sequence; waiters hear each advance.
    package let notifier: SequenceNotifier

    private struct PendingPublish {
        var alert: AlertV1.Alert
        var done: @Sendable (Result<PublishReceipt, LedgerError>) -> Void
    }

    private let pending = Mutex<[PendingPublish]>([])
    private let wakeWriter: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>

    /// Opens (creating if needed) the ledger at `path` and brings its schema up to date.
    /// - Throws: `LedgerError` when the file cannot be opened or migrated.
    package init(path: String, clock: any WallClock, escalation: EscalationPolicy, logger: Logger) throws(LedgerError) {
        self.path = path
        self.clock = clock
        self.escalation = escalation
        self.logger = logger
        var configuration = Configuration()
        // Two readers are plenty for subscriptions and listings, and each connection has its own
        // page cache: fewer, smaller caches keep the broker's memory down.
        configuration.maximumReaderCount = 2
        configuration.prepareDatabase { db in
            // FULL: the WAL is fsynced at every commit, so an acknowledged alert is on disk.
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // 256 KiB a connection: appends and in-order scans reuse few pages, and the kernel
            // caches the file anyway; more holds more of the broker's memory for no throughput.
            try db.execute(sql: "PRAGMA cache_size = -256")
        }
        do {
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o750]
            )
            pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
            // Alerts name people and places: not for every local user to read.
            chmod(path, 0o640)
            let last = try pool.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(sequence) FROM events") ?? 0 }
            notifier = SequenceNotifier(UInt64(last))
        } catch {
            throw LedgerError(.storage, "cannot open the ledger \(path): \(error)")
        }
        (wakes, wakeWriter) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: events, alerts, aggregates, subscriptions") { db in
            try db.execute(
                sql: """
                    CREATE TABLE events (
                        sequence INTEGER PRIMARY KEY,
                        recorded_ms INTEGER NOT NULL,
                        subject TEXT NOT NULL,
                        -- for alerts: who sent it and its identifier, unique together (deduplication)
                        sender TEXT,
                        identifier TEXT,
                        body BLOB NOT NULL
                    );
                    CREATE INDEX events_by_time ON events(recorded_ms);
                    CREATE UNIQUE INDEX events_by_alert ON events(sender, identifier) WHERE identifier IS NOT NULL;
                    CREATE TABLE aggregates (
                        key TEXT PRIMARY KEY,
                        state INTEGER NOT NULL,
                        firing_since_ms INTEGER NOT NULL,
                        body BLOB NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX aggregates_by_state ON aggregates(state);
                    CREATE TABLE subscriptions (
                        department TEXT NOT NULL,
                        name TEXT NOT NULL,
                        pattern TEXT NOT NULL,
                        acked_through INTEGER NOT NULL,
                        PRIMARY KEY (department, name)
                    ) WITHOUT ROWID;
                    CREATE TABLE dead_letters (
                        department TEXT NOT NULL,
                        name TEXT NOT NULL,
                        sequence INTEGER NOT NULL,
                        attempts INTEGER NOT NULL,
                        dead_ms INTEGER NOT NULL,
                        PRIMARY KEY (department, name, sequence)
                    ) WITHOUT ROWID;
                    CREATE TABLE redrives (
                        department TEXT NOT NULL,
                        name TEXT NOT NULL,
                        sequence INTEGER NOT NULL,
                        PRIMARY KEY (department, name, sequence)
                    ) WITHOUT ROWID;
                    """
            )
        }
        // A subscriber that fails on an event and reconnects would otherwise get it as a first
        // delivery every time, and never see it dead-lettered.
        migrator.registerMigration("v2: delivery attempts across a subscription's connections") { db in
            try db.execute(
                sql: """
                    CREATE TABLE delivery_attempts (
                        department TEXT NOT NULL,
                        name TEXT NOT NULL,
                        sequence INTEGER NOT NULL,
                        attempts INTEGER NOT NULL,
                        PRIMARY KEY (department, name, sequence)
                    ) WITHOUT ROWID;
                    """
            )
        }
        // The command room's list (state, severity, escalation, time) and its filters read
        // columns, so that a page is an indexed range rather than every aggregate decoded and
        // sorted.
        migrator.registerMigration("v3: aggregates listed in order and by filter; events by aggregate") { db in
            try db.execute(
                sql: """
                    ALTER TABLE events ADD COLUMN aggregate_key TEXT;
                    ALTER TABLE aggregates ADD COLUMN severity_rank INTEGER NOT NULL DEFAULT 5;
                    ALTER TABLE aggregates ADD COLUMN escalation_level INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE aggregates ADD COLUMN last_seen_ms INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE aggregates ADD COLUMN department TEXT NOT NULL DEFAULT '';
                    ALTER TABLE aggregates ADD COLUMN village TEXT NOT NULL DEFAULT '';
                    ALTER TABLE aggregates ADD COLUMN subject TEXT NOT NULL DEFAULT '';
                    """
            )
            let aggregates = try Row.fetchAll(db, sql: "SELECT key, body FROM aggregates")
            for row in aggregates {
                let aggregate = try AlertV1.Aggregate(serializedBytes: row["body"] as Data)
                let latest = aggregate.latest
                try db.execute(
                    sql: """
                        UPDATE aggregates SET severity_rank = ?, escalation_level = ?, last_seen_ms = ?,
                            department = ?, village = ?, subject = ?
                        WHERE key = ?
                        """,
                    arguments: [
                        AggregationRules.severityRank(latest?.severity ?? .unspecified),
                        Int64(aggregate.escalationLevel), aggregate.lastSeenUnixMs,
                        latest?.senderDepartment ?? "", latest?.area?.villageCode ?? "", latest?.subject ?? "",
                        row["key"] as String,
                    ]
                )
            }
            let events = try Row.fetchAll(db, sql: "SELECT sequence, body FROM events")
            for row in events {
                var event = try AlertV1.LedgerEvent(serializedBytes: row["body"] as Data)
                guard let key = AggregationRules.key(of: event) else { continue }
                event.aggregateFingerprint = key
                try db.execute(
                    sql: "UPDATE events SET aggregate_key = ?, body = ? WHERE sequence = ?",
                    arguments: [key, Data(try event.serializedBytes()), row["sequence"] as Int64]
                )
            }
            try db.execute(
                sql: """
                    CREATE INDEX events_by_aggregate ON events(aggregate_key, sequence) WHERE aggregate_key IS NOT NULL;
                    CREATE INDEX aggregates_in_order
                        ON aggregates(state, severity_rank, escalation_level DESC, last_seen_ms DESC, key);
                    """
            )
        }
        // An aggregate's history is a chain: each of its events names the one before, and the
        // aggregate its latest. An index over every event by its aggregate cost a third of the
        // publishing rate (a page written per aggregate per commit); the chain costs a column in
        // rows that are written anyway.
        migrator.registerMigration("v4: an aggregate's history as a chain of its events") { db in
            try db.execute(
                sql: """
                    ALTER TABLE events ADD COLUMN aggregate_previous INTEGER;
                    ALTER TABLE aggregates ADD COLUMN last_sequence INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE aggregates ADD COLUMN event_count INTEGER NOT NULL DEFAULT 0;
                    """
            )
            var chains: [String: (last: Int64, count: Int64)] = [:]
            let events = try Row.fetchCursor(
                db,
                sql: "SELECT aggregate_key, sequence FROM events WHERE aggregate_key IS NOT NULL ORDER BY sequence"
            )
            var links: [(sequence: Int64, previous: Int64)] = []
            while let row = try events.next() {
                let key: String = row[0]
                let sequence: Int64 = row[1]
                if let chain = chains[key] { links.append((sequence, chain.last)) }
                chains[key] = (sequence, (chains[key]?.count ?? 0) + 1)
            }
            for link in links {
                try db.execute(
                    sql: "UPDATE events SET aggregate_previous = ? WHERE sequence = ?",
                    arguments: [link.previous, link.sequence]
                )
            }
            for (key, chain) in chains {
                try db.execute(
                    sql: "UPDATE aggregates SET last_sequence = ?, event_count = ? WHERE key = ?",
                    arguments: [chain.last, chain.count, key]
                )
            }
            try db.execute(
                sql: """
                    DROP INDEX events_by_aggregate;
                    ALTER TABLE events DROP COLUMN aggregate_key;
                    """
            )
        }
        return migrator
    }

    // MARK: - Publishing

    /// Records `alert` durably; returns once it is committed (or found to be a duplicate).
    /// The alert must already carry its sender (stamped by the broker) and subject.
    package func publish(_ alert: AlertV1.Alert) async throws -> PublishReceipt {
        try await withCheckedThrowingContinuation { continuation in
            publish(alert) { result in continuation.resume(with: result) }
        }
    }

    /// Records `alert` durably and calls `done` (on the writer's thread) once it is committed or
    /// found to be a duplicate; for callers that must not wait in a task.
    package func publish(
        _ alert: AlertV1.Alert,
        done: @escaping @Sendable (Result<PublishReceipt, LedgerError>) -> Void
    ) {
        pending.withLock { $0.append(PendingPublish(alert: alert, done: done)) }
        wakeWriter.yield()
    }

    /// The group-commit writer: runs until cancelled; `publish` waits on it.
    package func runWriter() async {
        for await _ in wakes {
            while true {
                // The next batch starts with this one's capacity rather than growing from empty,
                // which would copy the queue log2(n) times per batch.
                let batch = pending.withLock { pending in
                    defer { pending.removeAll(keepingCapacity: true) }
                    return pending
                }
                if batch.isEmpty { break }
                await commit(batch)
            }
        }
        let abandoned = pending.withLock { pending in
            defer { pending = [] }
            return pending
        }
        for item in abandoned {
            item.done(.failure(LedgerError(.storage, "the ledger is shutting down")))
        }
    }

    /// Stops the writer once what is queued has been committed.
    package func stopWriter() {
        wakeWriter.finish()
    }

    private func commit(_ batch: [PendingPublish]) async {
        let now = clock.nowMilliseconds()
        do {
            let (receipts, last) = try await pool.write { db -> ([PublishReceipt], Int64) in
                var receipts: [PublishReceipt] = []
                receipts.reserveCapacity(batch.count)
                var sequence = try Int64.fetchOne(db, sql: "SELECT MAX(sequence) FROM events") ?? 0
                let insertStatement = try Self.insertStatement(db)
                // Alerts of one fingerprint in a batch fold in memory and are written once.
                var folding = AggregateBatch()
                for item in batch {
                    let alert = item.alert
                    let key = AggregationRules.key(for: alert)
                    let event = AlertV1.LedgerEvent(
                        sequence: UInt64(sequence + 1),
                        recordedUnixMs: now,
                        subject: alert.subject,
                        body: .alert(alert),
                        drill: AggregationRules.isDrill(alert),
                        aggregateFingerprint: key
                    )
                    let previous = try folding.latestSequence(of: key, db)
                    // One statement for the usual case: the unique (sender, identifier) index
                    // turns a repeat into an ignored insert, and only then is the original looked up.
                    guard
                        try Self.insert(
                            event,
                            sender: alert.senderDepartment,
                            identifier: alert.identifier,
                            previousInAggregate: previous,
                            using: insertStatement,
                            db
                        )
                    else {
                        let original =
                            try Int64.fetchOne(
                                db.cachedStatement(
                                    sql: "SELECT sequence FROM events WHERE sender = ? AND identifier = ?"
                                ),
                                arguments: [alert.senderDepartment, alert.identifier]
                            ) ?? 0
                        receipts.append(PublishReceipt(sequence: UInt64(original), duplicate: true))
                        continue
                    }
                    sequence += 1
                    folding.fold(alert, key: key, sequence: UInt64(sequence), now: now)
                    receipts.append(PublishReceipt(sequence: UInt64(sequence), duplicate: false))
                }
                try folding.save(db)
                return (receipts, sequence)
            }
            notifier.advance(to: UInt64(last))
            for (item, receipt) in zip(batch, receipts) { item.done(.success(receipt)) }
        } catch {
            logger.error("Ledger commit failed", metadata: ["db.path": "\(path)", "db.error": "\(error)"])
            for item in batch {
                item.done(.failure(LedgerError(.storage, "the ledger could not store the alert")))
            }
        }
    }

    /// The statement `insert` runs, from GRDB's cache: compiling the SQL per alert would show in a
    /// burst. Taken once per committed batch, as each lookup hashes the SQL.
    static func insertStatement(_ db: Database) throws -> Statement {
        try db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO events (sequence, recorded_ms, subject, sender, identifier, aggregate_previous, body)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """
        )
    }

    /// Stores `event`; for an alert, `sender` and `identifier` make it unique.
    /// `previousInAggregate` is the sequence of its aggregate's event before it (nil: the first).
    /// - Returns: false when an alert with the same sender and identifier is already stored.
    @discardableResult
    static func insert(
        _ event: AlertV1.LedgerEvent,
        sender: String? = nil,
        identifier: String? = nil,
        previousInAggregate: UInt64?,
        using statement: Statement? = nil,
        _ db: Database
    ) throws -> Bool {
        let statement = try statement ?? insertStatement(db)
        try HotStatement.run(
            statement,
            [
                .integer(Int64(event.sequence)), .integer(event.recordedUnixMs), .text(event.subject),
                sender.map(HotStatement.Value.text) ?? .null, identifier.map(HotStatement.Value.text) ?? .null,
                previousInAggregate.map { .integer(Int64($0)) } ?? .null, .blob(try event.serializedBytes()),
            ],
            db
        )
        return db.changesCount > 0
    }

    /// Appends a non-alert event (escalation, transition) of an aggregate whose latest event is
    /// `previousInAggregate`, with the next sequence.
    static func append(
        subject: String,
        body: AlertV1.LedgerEvent.Body,
        drill: Bool,
        previousInAggregate: UInt64,
        now: Int64,
        _ db: Database
    ) throws -> AlertV1.LedgerEvent {
        let sequence = (try Int64.fetchOne(db, sql: "SELECT MAX(sequence) FROM events") ?? 0) + 1
        var event = AlertV1.LedgerEvent(
            sequence: UInt64(sequence),
            recordedUnixMs: now,
            subject: subject,
            body: body,
            drill: drill
        )
        event.aggregateFingerprint = AggregationRules.key(of: event) ?? ""
        try insert(event, previousInAggregate: previousInAggregate == 0 ? nil : previousInAggregate, db)
        return event
    }

    /// Aggregates touched by one committed batch: read once, folded in memory, written once.
    struct AggregateBatch {
        private struct Touched {
            /// nil until the fingerprint's first alert is folded.
            var aggregate: AlertV1.Aggregate?
            var firingSince: Int64
            var chain: AggregateChain
            /// Whether an alert of this batch folded into it (a repeat does not).
            var folded = false
        }

        private var touched: [String: Touched] = [:]
        private var order: [String] = []

        /// The sequence of the latest event of the aggregate `key` (nil: it has none), read from
        /// the ledger the first time the batch meets it.
        mutating func latestSequence(of key: String, _ db: Database) throws -> UInt64? {
            // One hash of the key for an aggregate this batch touched already (the usual case in
            // a burst).
            if let index = touched.index(forKey: key) { return touched.values[index].chain.latest }
            let stored = try HotStatement.firstRow(
                db.cachedStatement(
                    sql: "SELECT body, firing_since_ms, last_sequence, event_count FROM aggregates WHERE key = ?"
                ),
                [.text(key)],
                db
            ) { columns in
                Touched(
                    aggregate: try AlertV1.Aggregate(decoding: HotStatement.blob(columns, 0)),
                    firingSince: sqlite3_column_int64(columns, 1),
                    chain: AggregateChain(
                        last: UInt64(sqlite3_column_int64(columns, 2)),
                        count: sqlite3_column_int64(columns, 3)
                    )
                )
            }
            let entry = stored ?? Touched(aggregate: nil, firingSince: 0, chain: AggregateChain(last: 0, count: 0))
            touched[key] = entry
            order.append(key)
            return entry.chain.latest
        }

        /// Folds `alert`, event `sequence` of the aggregate `key` (`AggregationRules.key(for:)`),
        /// whose latest sequence the batch has read.
        mutating func fold(_ alert: AlertV1.Alert, key: String, sequence: UInt64, now: Int64) {
            guard let index = touched.index(forKey: key) else {
                preconditionFailure("an aggregate is folded after its latest sequence is read")
            }
            var entry = touched.values[index]
            let folded = AggregationRules.fold(alert, into: entry.aggregate, now: now)
            // Firing since now: a new aggregate, or one that fired again.
            if entry.aggregate == nil || (entry.aggregate?.state == .resolved && folded.state == .firing) {
                entry.firingSince = now
            }
            entry.aggregate = folded
            entry.folded = true
            entry.chain.append(sequence)
            touched.values[index] = entry
        }

        func save(_ db: Database) throws {
            for key in order {
                let entry = touched[key]!
                guard entry.folded, let aggregate = entry.aggregate else { continue }
                try AlertLedger.saveAggregate(
                    aggregate,
                    key: key,
                    firingSince: entry.firingSince,
                    chain: entry.chain,
                    db
                )
            }
        }
    }

    static func saveAggregate(
        _ aggregate: AlertV1.Aggregate,
        key: String,
        firingSince: Int64,
        chain: AggregateChain,
        _ db: Database
    ) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO aggregates (key, state, firing_since_ms, body, severity_rank, escalation_level, last_seen_ms,
                    department, village, subject, last_sequence, event_count)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(key) DO UPDATE SET state = excluded.state, firing_since_ms = excluded.firing_since_ms,
                    body = excluded.body, severity_rank = excluded.severity_rank,
                    escalation_level = excluded.escalation_level, last_seen_ms = excluded.last_seen_ms,
                    department = excluded.department, village = excluded.village, subject = excluded.subject,
                    last_sequence = excluded.last_sequence, event_count = excluded.event_count
                """
        )
        let latest = aggregate.latest
        try HotStatement.run(
            statement,
            [
                .text(key), .integer(Int64(aggregate.state.rawValue)), .integer(firingSince),
                .blob(try aggregate.serializedBytes()),
                .integer(Int64(AggregationRules.severityRank(latest?.severity ?? .unspecified))),
                .integer(Int64(aggregate.escalationLevel)), .integer(aggregate.lastSeenUnixMs),
                .text(latest?.senderDepartment ?? ""), .text(latest?.area?.villageCode ?? ""),
                .text(latest?.subject ?? ""), .integer(Int64(chain.last)), .integer(chain.count),
            ],
            db
        )
    }

    // MARK: - Reading

    /// Events after `sequence`, in order, at most `limit`, optionally only those whose subject
    /// passes `include`.
    package func read(after sequence: UInt64, limit: Int, include: (@Sendable (String) -> Bool)? = nil) async throws
        -> [AlertV1.LedgerEvent]
    {
        try await scanStored(after: sequence, limit: limit, include: include).events.map { stored in
            try AlertV1.LedgerEvent(serializedBytes: stored.encoded)
        }
    }

    /// An event as stored: its sequence, its subject and its encoding (an `alert.v1.LedgerEvent`).
    package struct StoredEvent: Sendable {
        package var sequence: UInt64
        package var subject: String
        package var encoded: [UInt8]
    }

    /// Events after `sequence` as stored, not decoded (deliveries pass them on as bytes:
    /// `BrokerV1.LedgerDelivery.encoded(event:attempt:)`), and how far the scan got: the sequence
    /// of the last event looked at, matching or not, so a filtered reader need not look at
    /// skipped events again.
    package func scanStored(after sequence: UInt64, limit: Int, include: (@Sendable (String) -> Bool)? = nil)
        async throws -> (events: [StoredEvent], scannedThrough: UInt64)
    {
        try await pool.read { db in
            var events: [StoredEvent] = []
            var cursor = Int64(sequence)
            // Filtered reads page through the table so a selective pattern does not read it whole at once.
            while events.count < limit {
                let page = try db.cachedStatement(
                    sql: "SELECT sequence, subject, body FROM events WHERE sequence > ? ORDER BY sequence LIMIT ?"
                )
                var rows = 0
                try HotStatement.eachRow(page, [.integer(cursor), .integer(Int64(max(limit, 64)))], db) { columns in
                    rows += 1
                    cursor = sqlite3_column_int64(columns, 0)
                    let subject = HotStatement.text(columns, 1)
                    if let include, !include(subject) { return true }
                    events.append(
                        StoredEvent(
                            sequence: UInt64(cursor),
                            subject: subject,
                            encoded: Array(HotStatement.blob(columns, 2))
                        )
                    )
                    return events.count < limit
                }
                if rows == 0 { break }
            }
            return (events, UInt64(cursor))
        }
    }

    /// Specific events as stored (for redelivery).
    package func storedEvents(_ sequences: [UInt64]) async throws -> [StoredEvent] {
        guard !sequences.isEmpty else { return [] }
        return try await pool.read { db in
            let statement = try db.cachedStatement(sql: "SELECT subject, body FROM events WHERE sequence = ?")
            return try sequences.compactMap { sequence in
                try HotStatement.firstRow(statement, [.integer(Int64(sequence))], db) { columns in
                    StoredEvent(
                        sequence: sequence,
                        subject: HotStatement.text(columns, 0),
                        encoded: Array(HotStatement.blob(columns, 1))
                    )
                }
            }
        }
    }

    /// The last sequence recorded before `unixMs` (so that reading after it starts at that time).
    package func sequenceBefore(unixMs: Int64) async throws -> UInt64 {
        try await pool.read { db in
            UInt64(
                try Int64.fetchOne(
                    db,
                    sql: "SELECT MAX(sequence) FROM events WHERE recorded_ms < ?",
                    arguments: [unixMs]
                ) ?? 0
            )
        }
    }

    /// Every sequence of a stored alert, for checks: (sender, identifier) → sequence.
    package func alertCount() async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events WHERE identifier IS NOT NULL") ?? 0
        }
    }

    package var lastSequence: UInt64 { notifier.current }
}

/// A monotonic counter that tasks can wait on.
package final class SequenceNotifier: Sendable {
    private struct State {
        var value: UInt64
        var waiters: [UInt64: (after: UInt64, continuation: CheckedContinuation<Void, Never>)] = [:]
        var nextWaiter: UInt64 = 0
        var observers: [UInt64: @Sendable () -> Void] = [:]
    }

    /// Calls `observer` after every advance until `removeObserver` is called with the returned id.
    package func addObserver(_ observer: @escaping @Sendable () -> Void) -> UInt64 {
        state.withLock { state in
            defer { state.nextWaiter += 1 }
            state.observers[state.nextWaiter] = observer
            return state.nextWaiter
        }
    }

    package func removeObserver(_ id: UInt64) {
        _ = state.withLock { $0.observers.removeValue(forKey: id) }
    }

    private let state: Mutex<State>

    package init(_ value: UInt64) {
        state = Mutex(State(value: value))
    }

    package var current: UInt64 { state.withLock { $0.value } }

    package func advance(to value: UInt64) {
        let (ready, observers) = state.withLock {
            state -> ([CheckedContinuation<Void, Never>], [@Sendable () -> Void]) in
            guard value > state.value else { return ([], []) }
            state.value = value
            let ready = state.waiters.filter { $0.value.after < value }
            for key in ready.keys { state.waiters.removeValue(forKey: key) }
            return (ready.values.map(\.continuation), Array(state.observers.values))
        }
        for continuation in ready { continuation.resume() }
        for observer in observers { observer() }
    }

    /// Returns once the value exceeds `after`, or the task is cancelled.
    package func wait(after: UInt64) async {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state in
                    if state.value > after || Task.isCancelled { return true }
                    state.waiters[id] = (after, continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.continuation.resume()
        }
    }
}

/// Where an aggregate's history (its alerts, acknowledgements, resolutions and escalations)
/// ends, and how long it is: each event names the one before it (`aggregate_previous`).
struct AggregateChain: Equatable {
    /// The sequence of the aggregate's latest event; 0 when it has none.
    var last: UInt64
    var count: Int64

    var latest: UInt64? { last == 0 ? nil : last }

    /// From an aggregates row read with its `last_sequence` and `event_count` columns.
    init(_ row: Row) {
        self.init(last: UInt64(row["last_sequence"] as Int64), count: row["event_count"])
    }

    init(last: UInt64, count: Int64) {
        self.last = last
        self.count = count
    }

    mutating func append(_ sequence: UInt64) {
        last = sequence
        count += 1
    }
}
