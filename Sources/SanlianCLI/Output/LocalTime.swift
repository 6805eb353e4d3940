import ArgumentParser
import Foundation
import SanlianClock
import SanlianCompose
import SanlianWire

/// Times as the township reads them: in its own offset from UTC (a service's compose section's
/// `utc_offset`, default +08:00), whatever the machine's time zone.
enum LocalTime {
    /// The township's clock face, from `section` of the compose file (e.g. "patrol", "hazards").
    static func time(_ settings: ConnectionOptions.Resolved, section: String) -> TownshipTime {
        struct Section: Decodable { var utc_offset: String? }
        let offset = (try? settings.compose?.section(section, as: Section.self))??.utc_offset
        return offset.flatMap(TownshipTime.init(offset:)) ?? TownshipTime()
    }

    /// "08:30".
    static func clock(_ unixMs: Int64, _ time: TownshipTime) -> String {
        let minute = time.minuteOfDay(unixMs)
        return String(format: "%02d:%02d", minute / 60, minute % 60)
    }

    /// "2026-12-07 08:30"; "-" for 0.
    static func format(_ unixMs: Int64, _ time: TownshipTime) -> String {
        unixMs == 0 ? "-" : "\(time.day(of: unixMs)) \(clock(unixMs, time))"
    }

    /// "08:30" → minutes after midnight.
    static func minute(_ text: String, option: String) throws -> UInt32 {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let hours = UInt32(parts[0]), let minutes = UInt32(parts[1]), hours < 24, minutes < 60
        else { throw ValidationError("\(option): \"\(text)\" is not a time like 08:30") }
        return hours * 60 + minutes
    }

    /// "2026-12-07 08:30" (or "2026-12-07T08:30") → Unix ms.
    static func parse(_ text: String, option: String, time: TownshipTime) throws -> Int64 {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "T" })
        guard parts.count == 2, let day = LocalDay(String(parts[0])) else {
            throw ValidationError("\(option): \"\(text)\" is not a time like \"2026-12-07 08:30\"")
        }
        return time.unixMilliseconds(day, minute: Int(try minute(String(parts[1]), option: option)))
    }

    /// "2026-12" → the month.
    static func month(_ text: String, option: String) throws -> CommonV1.Month {
        let parts = text.split(separator: "-")
        guard parts.count == 2, let year = Int32(parts[0]), let month = Int32(parts[1]), (1...12).contains(month) else {
            throw ValidationError("\(option): \"\(text)\" is not a month like 2026-12")
        }
        return CommonV1.Month(year: year, month: month)
    }
}

/// Reading a paged list to its end.
enum Paging {
    static func all<Item>(
        _ fetch: (_ page: CommonV1.PageRequest) async throws -> (items: [Item], page: CommonV1.PageResponse?)
    ) async throws -> [Item] {
        var items: [Item] = []
        var token = ""
        repeat {
            let answer = try await fetch(CommonV1.PageRequest(pageSize: 1000, pageToken: token))
            items += answer.items
            token = answer.page?.nextPageToken ?? ""
        } while !token.isEmpty
        return items
    }
}
