package import Foundation
package import GRDB
package import SanlianClock
package import SanlianRPC
package import SanlianWire

/// What every department service's records namespace (`PatrolRecords`, `JointControlRecords`,
/// `ResidentsRecords`, `StationRecords`) shares: records stored as their contract's encoded
/// message, new identifiers, and the checks of fields every contract has alike. A namespace
/// conforms and calls these as its own.
package protocol ServiceRecords {}

extension ServiceRecords {
    /// `message` as a record's `body` column holds it.
    package static func body(_ message: some WireMessage) throws -> Data { Data(try message.serializedBytes()) }

    /// The message `column` of `row` holds.
    package static func decode<Message: WireMessage>(_ type: Message.Type, _ row: Row, _ column: String = "body")
        throws -> Message
    {
        try Message(serializedBytes: row[column] as Data)
    }

    /// A new record's identifier: `prefix` and 12 random hexadecimal digits.
    package static func newID(_ prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let hex = String(generator.next() & 0xFFFF_FFFF_FFFF, radix: 16)
        return prefix + String(repeating: "0", count: 12 - hex.count) + hex
    }

    /// Refuses `value` when required and blank, or longer than `limit` characters.
    package static func text(_ value: String, _ field: String, limit: Int = 1000, required: Bool = true)
        throws(RPCError)
    {
        if required && !value.contains(where: { !$0.isWhitespace }) {
            throw RPCError(.invalidArgument, "\(field): must be given")
        }
        if value.count > limit {
            throw RPCError(.invalidArgument, "\(field): at most \(limit) characters, not \(value.count)")
        }
    }

    /// Refuses `code` unless it is a village code (or empty, when not `required`).
    package static func villageCode(_ code: String, _ field: String, required: Bool) throws(RPCError) {
        if code.isEmpty {
            if required { throw RPCError(.invalidArgument, "\(field): must be given (12 digits)") }
            return
        }
        guard CommonV1.Place.isVillageCode(code) else {
            throw RPCError(.invalidArgument, "\(field): \"\(code)\" is not 12 digits")
        }
    }

    /// [from, to) of `range`, to_unix_ms 0 meaning no end.
    /// - Throws: INVALID_ARGUMENT for negative times or an end not after the start.
    package static func range(_ range: CommonV1.TimeRange?, _ field: String) throws(RPCError) -> (
        from: Int64, to: Int64
    ) {
        let from = range?.fromUnixMs ?? 0
        let to = range?.toUnixMs ?? 0
        if from < 0 || to < 0 { throw RPCError(.invalidArgument, "\(field): times must not be negative") }
        if to != 0 && to <= from {
            throw RPCError(.invalidArgument, "\(field): to_unix_ms must come after from_unix_ms")
        }
        return (from, to == 0 ? Int64.max : to)
    }

    /// The first day of `month` and of the month after it.
    /// - Throws: INVALID_ARGUMENT unless a year 1971–9998 and a month 1–12 are given.
    package static func days(of month: CommonV1.Month?) throws(RPCError) -> (first: LocalDay, next: LocalDay) {
        guard let month, (1971...9998).contains(month.year),
            let days = LocalDay.month(year: Int(month.year), month: Int(month.month))
        else { throw RPCError(.invalidArgument, "month: a year and a month 1–12 must be given") }
        return days
    }

    /// [from, to) of `month` in the township's time.
    package static func span(_ month: CommonV1.Month?, time: TownshipTime) throws(RPCError) -> (from: Int64, to: Int64)
    {
        let (first, next) = try days(of: month)
        return (time.unixMilliseconds(first, minute: 0), time.unixMilliseconds(next, minute: 0))
    }
}
