import Foundation
import GRDB
import SanlianClock
import SanlianRPC
import SanlianWire
import ServiceFrame
import StationContract

/// Reading and writing the station's records, and the checks its requests share.
enum StationRecords: ServiceRecords {
    static func requestID(_ value: String) throws(RPCError) {
        guard (1...64).contains(value.utf8.count), !value.contains(where: \.isWhitespace) else {
            throw RPCError(.invalidArgument, "request_id: 1–64 characters without spaces, chosen by the caller")
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

    static func previous(_ month: CommonV1.Month) -> CommonV1.Month {
        month.month == 1
            ? CommonV1.Month(year: month.year - 1, month: 12) : CommonV1.Month(year: month.year, month: month.month - 1)
    }
}
