import Foundation
package import GRDB
package import SanlianClock

/// The numbers a service gives its records, as people read them out: a prefix, the township's
/// date and the day's sequence ("H20261207-0012", "T20261207-0001").
package enum RecordNumbers {
    /// The next number of `table` (its `id` column) for the township day of `now`, counting the
    /// day's records by `timeColumn`. Call it inside the write transaction that inserts the record.
    package static func next(
        _ prefix: String,
        table: String,
        timeColumn: String,
        now: Int64,
        time: TownshipTime,
        _ db: Database
    ) throws -> String {
        let day = time.day(of: now)
        let start = time.unixMilliseconds(day, minute: 0)
        let count =
            try Int.fetchOne(
                db,
                sql: "SELECT COUNT(*) FROM \(table) WHERE \(timeColumn) >= ? AND \(timeColumn) < ?",
                arguments: [start, start + 86_400_000]
            ) ?? 0
        let (year, month, dayOfMonth) = day.components
        var sequence = count + 1
        // Another record of the same second may have taken the number: go on to a free one.
        while true {
            let id = String(format: "%@%04d%02d%02d-%04d", prefix, year, month, dayOfMonth, sequence)
            if try Row.fetchOne(db, sql: "SELECT 1 FROM \(table) WHERE id = ?", arguments: [id]) == nil { return id }
            sequence += 1
        }
    }
}
