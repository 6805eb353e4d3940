/// A date in the township's local time ("YYYY-MM-DD"), counted in days since 1970-01-01.
/// Proleptic Gregorian; no time zone of its own: `TownshipTime` places it.
package struct LocalDay: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Days since 1970-01-01.
    package let ordinal: Int

    package init(ordinal: Int) {
        self.ordinal = ordinal
    }

    /// - Returns: nil unless `year`-`month`-`day` is a real date between years 1900 and 9999.
    package init?(year: Int, month: Int, day: Int) {
        guard (1900...9999).contains(year), (1...12).contains(month),
            (1...Self.daysIn(month: month, year: year)).contains(day)
        else { return nil }
        ordinal = Self.daysFromCivil(year: year, month: month, day: day)
    }

    /// Parses "YYYY-MM-DD" exactly.
    package init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in bytes[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10) else { return nil }
        self.init(year: year, month: month, day: day)
    }

    package var components: (year: Int, month: Int, day: Int) {
        // Howard Hinnant's civil_from_days.
        let z = ordinal + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    package var description: String {
        let (year, month, day) = components
        return "\(year)-\(month < 10 ? "0" : "")\(month)-\(day < 10 ? "0" : "")\(day)"
    }

    /// 1 = Monday … 7 = Sunday (1970-01-01 was a Thursday).
    package var isoWeekday: Int { ((ordinal % 7) + 7 + 3) % 7 + 1 }

    /// The Monday of this day's ISO week: the same for every day of the week.
    package var weekStart: LocalDay { LocalDay(ordinal: ordinal - (isoWeekday - 1)) }

    package func adding(days: Int) -> LocalDay { LocalDay(ordinal: ordinal + days) }

    /// The first day of `month` of `year` and the first of the month after it; nil outside the
    /// years 1900–9998 or the months 1–12.
    package static func month(year: Int, month: Int) -> (first: LocalDay, next: LocalDay)? {
        guard let first = LocalDay(year: year, month: month, day: 1),
            let next = month == 12
                ? LocalDay(year: year + 1, month: 1, day: 1) : LocalDay(year: year, month: month + 1, day: 1)
        else { return nil }
        return (first, next)
    }

    package static func < (lhs: LocalDay, rhs: LocalDay) -> Bool { lhs.ordinal < rhs.ordinal }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's days_from_civil.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}

/// The township's clock face: local days and minutes to and from Unix milliseconds, at a fixed
/// offset from UTC (China keeps no daylight saving time).
package struct TownshipTime: Sendable, Equatable {
    package let utcOffsetMinutes: Int

    package init(utcOffsetMinutes: Int = 480) {
        self.utcOffsetMinutes = utcOffsetMinutes
    }

    /// Parses "+08:00", "-05:30" or "Z".
    package init?(offset text: String) {
        if text == "Z" || text == "+00:00" {
            self.init(utcOffsetMinutes: 0)
            return
        }
        let bytes = Array(text.utf8)
        guard bytes.count == 6, bytes[0] == UInt8(ascii: "+") || bytes[0] == UInt8(ascii: "-"),
            bytes[3] == UInt8(ascii: ":"),
            let hours = Int(String(decoding: bytes[1..<3], as: UTF8.self)),
            let minutes = Int(String(decoding: bytes[4..<6], as: UTF8.self)),
            hours <= 14, minutes < 60
        else { return nil }
        let total = hours * 60 + minutes
        self.init(utcOffsetMinutes: bytes[0] == UInt8(ascii: "-") ? -total : total)
    }

    /// Unix milliseconds of `minute` minutes after local midnight of `day` (may be past 1440).
    package func unixMilliseconds(_ day: LocalDay, minute: Int) -> Int64 {
        Int64(day.ordinal * 1440 + minute - utcOffsetMinutes) * 60_000
    }

    /// The local day that `unixMilliseconds` falls on.
    package func day(of unixMilliseconds: Int64) -> LocalDay {
        let localMinutes = Self.floorDivide(unixMilliseconds, 60_000) + Int64(utcOffsetMinutes)
        return LocalDay(ordinal: Int(Self.floorDivide(localMinutes, 1440)))
    }

    /// Minutes after local midnight of `unixMilliseconds`.
    package func minuteOfDay(_ unixMilliseconds: Int64) -> Int {
        let localMinutes = Self.floorDivide(unixMilliseconds, 60_000) + Int64(utcOffsetMinutes)
        return Int(localMinutes - Self.floorDivide(localMinutes, 1440) * 1440)
    }

    private static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }
}
