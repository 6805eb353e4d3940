import Foundation
import GRDB
import SanlianClock
import SanlianRPC
import SanlianWire
import StationContract

/// Reading and writing the station's records, and the checks its requests share.
enum StationRecords {
    static func body(_ message: some WireMessage) throws -> Data { Data(try message.serializedBytes()) }

    static func decode<Message: WireMessage>(_ type: Message.Type, _ row: Row) throws -> Message {
        try Message(serializedBytes: row["body"] as Data)
    }

    static func text(_ value: String, _ field: String, required: Bool, max: Int) throws(RPCError) {
        if required && value.allSatisfy(\.isWhitespace) {
            throw RPCError(.invalidArgument, "\(field): must be given")
        }
        guard value.count <= max else { throw RPCError(.invalidArgument, "\(field): at most \(max) characters") }
    }

    static func requestID(_ value: String) throws(RPCError) {
        guard (1...64).contains(value.utf8.count), !value.contains(where: \.isWhitespace) else {
            throw RPCError(.invalidArgument, "request_id: 1–64 characters without spaces, chosen by the caller")
        }
    }

    static func village(_ value: String, required: Bool) throws(RPCError) {
        if value.isEmpty && !required { return }
        guard value.utf8.count == 12, value.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw RPCError(.invalidArgument, "village_code: \"\(value)\" is not 12 digits")
        }
    }

    /// A date of the township, not after `today`.
    static func date(_ value: String, _ field: String, today: LocalDay) throws(RPCError) -> LocalDay {
        guard let day = LocalDay(value) else {
            throw RPCError(.invalidArgument, "\(field): \"\(value)\" is not a date like 2026-12-07")
        }
        guard day <= today else { throw RPCError(.invalidArgument, "\(field): \(value) is after today (\(today))") }
        return day
    }

    /// The first and the last day of `month` as text, for the date columns.
    static func days(of month: CommonV1.Month) throws(RPCError) -> (first: String, last: String) {
        guard (1...12).contains(month.month), (1971...9998).contains(month.year),
            let first = LocalDay(year: Int(month.year), month: Int(month.month), day: 1)
        else { throw RPCError(.invalidArgument, "month: a year and a month 1–12 must be given") }
        let next =
            month.month == 12
            ? LocalDay(year: Int(month.year) + 1, month: 1, day: 1)!
            : LocalDay(year: Int(month.year), month: Int(month.month) + 1, day: 1)!
        return (first.description, next.adding(days: -1).description)
    }

    /// [from, to) of `month` in the township's time.
    static func span(_ month: CommonV1.Month, time: TownshipTime) throws(RPCError) -> (from: Int64, to: Int64) {
        let (first, last) = try days(of: month)
        return (
            time.unixMilliseconds(LocalDay(first)!, minute: 0),
            time.unixMilliseconds(LocalDay(last)!.adding(days: 1), minute: 0)
        )
    }

    static func previous(_ month: CommonV1.Month) -> CommonV1.Month {
        month.month == 1
            ? CommonV1.Month(year: month.year - 1, month: 12) : CommonV1.Month(year: month.year, month: month.month - 1)
    }
}
