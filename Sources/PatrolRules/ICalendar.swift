package import SanlianClock

/// One event of an iCalendar file (RFC 5545): a shift on a volunteer's phone.
package struct CalendarEvent: Sendable, Equatable {
    /// Unique and stable: importing the file again updates the event rather than adding one.
    package var uid: String
    package var startMs: Int64
    package var endMs: Int64
    package var summary: String
    package var location: String
    package var description: String
    /// Confirmed; otherwise tentative.
    package var confirmed: Bool
    /// A reminder this many minutes before the start (0: none).
    package var reminderMinutes: Int

    package init(
        uid: String,
        startMs: Int64,
        endMs: Int64,
        summary: String,
        location: String = "",
        description: String = "",
        confirmed: Bool = false,
        reminderMinutes: Int = 60
    ) {
        self.uid = uid
        self.startMs = startMs
        self.endMs = endMs
        self.summary = summary
        self.location = location
        self.description = description
        self.confirmed = confirmed
        self.reminderMinutes = reminderMinutes
    }
}

/// Writes an iCalendar file (RFC 5545) that phone calendars import: times in UTC, text escaped,
/// lines folded at 75 octets without splitting a character, CRLF line ends.
package enum ICalendar {
    package static func document(name: String, events: [CalendarEvent], stampMs: Int64) -> String {
        var lines = [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Sanlian//Patrol roster//ZH",
            "CALSCALE:GREGORIAN",
            "METHOD:PUBLISH",
            "X-WR-CALNAME:" + escape(name),
        ]
        for event in events {
            lines += [
                "BEGIN:VEVENT",
                "UID:" + escape(event.uid),
                "DTSTAMP:" + utc(stampMs),
                "DTSTART:" + utc(event.startMs),
                "DTEND:" + utc(event.endMs),
                "SUMMARY:" + escape(event.summary),
            ]
            if !event.location.isEmpty { lines.append("LOCATION:" + escape(event.location)) }
            if !event.description.isEmpty { lines.append("DESCRIPTION:" + escape(event.description)) }
            lines.append("STATUS:" + (event.confirmed ? "CONFIRMED" : "TENTATIVE"))
            if event.reminderMinutes > 0 {
                lines += [
                    "BEGIN:VALARM",
                    "ACTION:DISPLAY",
                    "DESCRIPTION:" + escape(event.summary),
                    "TRIGGER:-PT\(event.reminderMinutes)M",
                    "END:VALARM",
                ]
            }
            lines.append("END:VEVENT")
        }
        lines.append("END:VCALENDAR")
        return lines.map(fold).joined(separator: "\r\n") + "\r\n"
    }

    /// "20261207T120000Z".
    static func utc(_ unixMilliseconds: Int64) -> String {
        let seconds = unixMilliseconds >= 0 ? unixMilliseconds / 1000 : (unixMilliseconds - 999) / 1000
        let day = LocalDay(ordinal: Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400))
        let secondOfDay = Int(seconds - Int64(day.ordinal) * 86_400)
        let (year, month, dayOfMonth) = day.components
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return
            "\(year)\(two(month))\(two(dayOfMonth))T\(two(secondOfDay / 3600))\(two(secondOfDay / 60 % 60))\(two(secondOfDay % 60))Z"
    }

    /// TEXT values: backslash, semicolon, comma and newline escaped.
    static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "\\": escaped += "\\\\"
            case ";": escaped += "\\;"
            case ",": escaped += "\\,"
            case "\n", "\r\n": escaped += "\\n"
            case "\r": break
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// A content line folded so that no line is longer than 75 octets, breaking only between
    /// characters (a continuation line starts with a space).
    static func fold(_ line: String) -> String {
        guard line.utf8.count > 75 else { return line }
        var folded = ""
        var octets = 0
        for character in line {
            let width = character.utf8.count
            if octets + width > 75 {
                folded += "\r\n "
                octets = 1
            }
            folded.append(character)
            octets += width
        }
        return folded
    }
}
