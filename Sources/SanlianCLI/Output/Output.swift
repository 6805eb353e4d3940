import Foundation
package import SanlianWire

/// How commands print what they got: aligned tables for people, JSON (the messages' own
/// generated mapping) for scripts.
package enum Output {
    /// JSON as `sanlian --json` writes it: every field, enum values by their short names.
    package static let jsonOptions = JSONOptions(enumNames: .short, includeDefaults: true)

    /// Prints `message` as one line of JSON.
    package static func json(_ message: some WireMessage) {
        Console.current.line(message.jsonText(options: jsonOptions))
    }

    /// Prints `messages` as one JSON array.
    package static func json(_ messages: [some WireMessage]) {
        var writer = JSONWriter()
        writer.beginArray()
        for message in messages { message.writeJSON(to: &writer, options: jsonOptions) }
        writer.endArray()
        Console.current.line(writer.text)
    }

    /// Prints `value` (a command's own record, no message) as one line of JSON, keys in snake case.
    package static func json(codable value: some Encodable) {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("null".utf8)
        Console.current.line(String(decoding: data, as: UTF8.self))
    }

    /// A rate given per mille as a percentage: 955 → "95.5%".
    package static func percent(permille: UInt32) -> String { String(format: "%.1f%%", Double(permille) / 10) }

    /// Prints a JSON object of plain fields (for answers that are no message, such as a
    /// command's own summary).
    package static func json(fields: KeyValuePairs<String, JSONField>) {
        var writer = JSONWriter()
        writer.beginObject()
        for (key, value) in fields {
            writer.key(key)
            switch value {
            case .string(let text): writer.string(text)
            case .int(let number): writer.int32(number)
            case .bool(let flag): writer.bool(flag)
            }
        }
        writer.endObject()
        Console.current.line(writer.text)
    }

    package enum JSONField {
        case string(String)
        case int(Int)
        case bool(Bool)
    }

    /// Prints rows under `header` as an aligned text table (CJK characters count two columns).
    package static func table(_ header: [String], _ rows: [[String]]) {
        for line in tableLines(header, rows) { Console.current.line(line) }
    }

    /// The lines of `table(_:_:)`.
    package static func tableLines(_ header: [String], _ rows: [[String]]) -> [String] {
        let widths = header.indices.map { column in
            ([header[column]] + rows.map { column < $0.count ? $0[column] : "" }).map(displayWidth).max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1
                    ? cell : cell + String(repeating: " ", count: max(0, widths[index] - displayWidth(cell)) + 2)
            }.joined()
        }
        return [line(header)] + rows.map(line)
    }

    /// Terminal columns `text` takes: East Asian wide characters take two, colour codes none.
    package static func displayWidth(_ text: String) -> Int {
        var width = 0
        var inEscape = false
        for scalar in text.unicodeScalars {
            if inEscape {
                if scalar == "m" { inEscape = false }
                continue
            }
            if scalar == "\u{1B}" {
                inEscape = true
                continue
            }
            let value = scalar.value
            let wide =
                (0x1100...0x115F).contains(value) || (0x2E80...0xA4CF).contains(value)
                || (0xAC00...0xD7A3).contains(value) || (0xF900...0xFAFF).contains(value)
                || (0xFF00...0xFF60).contains(value) || (0x1F300...0x1FAFF).contains(value)
            width += wide ? 2 : 1
        }
        return width
    }

    /// "2026-12-06 09:14:02" in local time; "-" for 0.
    package static func time(_ unixMs: Int64) -> String {
        guard unixMs > 0 else { return "-" }
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(unixMs) / 1000))
    }
}
