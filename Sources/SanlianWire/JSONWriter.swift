/// How a message is written as JSON.
public struct JSONOptions: Sendable, Hashable {
    /// How enum values are written.
    package enum EnumNames: Sendable, Hashable {
        /// Their names in the .proto file, as proto3's JSON mapping writes them ("SEVERITY_EXTREME").
        case proto
        /// Lower-case, without the enum's own prefix ("extreme", "production_safety"): for people
        /// and scripts that read what `sanlian --json` prints.
        case short
    }

    package var enumNames: EnumNames
    /// Write fields at their default value too (proto3's mapping leaves them out), so that every
    /// object of a type has the same keys.
    package var includeDefaults: Bool

    package init(enumNames: EnumNames = .proto, includeDefaults: Bool = false) {
        self.enumNames = enumNames
        self.includeDefaults = includeDefaults
    }
}

/// Writes JSON text (RFC 8259), compact, as the generated `writeJSON(to:options:)` of every
/// message calls it: proto3's JSON mapping (lowerCamel field names; 64-bit integers, and `bytes`
/// in base64, as strings; enum values by name).
public struct JSONWriter: Sendable {
    package private(set) var text = ""
    /// Whether the object or array being written has a member yet (one entry per open level).
    private var hasMember: [Bool] = []

    package init() {}

    package mutating func beginObject() {
        separate()
        text.append("{")
        hasMember.append(false)
    }

    package mutating func endObject() {
        hasMember.removeLast()
        text.append("}")
    }

    package mutating func beginArray() {
        separate()
        text.append("[")
        hasMember.append(false)
    }

    package mutating func endArray() {
        hasMember.removeLast()
        text.append("]")
    }

    /// The key of the next member of the object being written.
    package mutating func key(_ name: String) {
        separate()
        appendQuoted(name)
        text.append(":")
        // The value follows the colon without a comma.
        hasMember[hasMember.count - 1] = false
        pendingValue = true
    }

    private var pendingValue = false

    /// A comma before every member but the first of the open object or array.
    private mutating func separate() {
        if pendingValue {
            pendingValue = false
            if !hasMember.isEmpty { hasMember[hasMember.count - 1] = true }
            return
        }
        guard !hasMember.isEmpty else { return }
        if hasMember[hasMember.count - 1] { text.append(",") }
        hasMember[hasMember.count - 1] = true
    }

    package mutating func string(_ value: String) {
        separate()
        appendQuoted(value)
    }

    package mutating func bool(_ value: Bool) {
        separate()
        text.append(value ? "true" : "false")
    }

    package mutating func null() {
        separate()
        text.append("null")
    }

    /// A 32-bit integer: a JSON number.
    package mutating func int32<T: BinaryInteger>(_ value: T) {
        separate()
        text.append(String(value))
    }

    /// A 64-bit integer: a string, as JavaScript numbers lose precision past 2^53.
    package mutating func int64<T: BinaryInteger>(_ value: T) {
        separate()
        text.append("\"\(value)\"")
    }

    package mutating func double(_ value: Double) {
        floatingPoint(value)
    }

    package mutating func float(_ value: Float) {
        floatingPoint(value)
    }

    /// A number in its shortest form that reads back the same; NaN and the infinities as the
    /// strings proto3's mapping names them.
    private mutating func floatingPoint<F: BinaryFloatingPoint & LosslessStringConvertible>(_ value: F) {
        separate()
        if value.isNaN {
            text.append("\"NaN\"")
        } else if value.isInfinite {
            text.append(value < 0 ? "\"-Infinity\"" : "\"Infinity\"")
        } else if value == value.rounded(), abs(value) < 1e15 {
            text.append(String(Int64(value)))
        } else {
            text.append(String(value))
        }
    }

    /// `bytes` in standard base64 with padding.
    package mutating func bytes(_ value: [UInt8]) {
        separate()
        text.append("\"")
        text.append(Self.base64(value))
        text.append("\"")
    }

    /// An enum value: its name, or its number when this contract does not know it.
    package mutating func enumeration<E: WireEnum>(_ value: E, _ options: JSONOptions) {
        guard E.knownCases.contains(value) else {
            int32(value.rawValue)
            return
        }
        string(options.enumNames == .proto ? value.protoName : value.shortName)
    }

    private mutating func appendQuoted(_ value: String) {
        text.append("\"")
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text.append("\\\"")
            case "\\": text.append("\\\\")
            case "\n": text.append("\\n")
            case "\r": text.append("\\r")
            case "\t": text.append("\\t")
            case "\u{08}": text.append("\\b")
            case "\u{0C}": text.append("\\f")
            case "\u{00}"..."\u{1F}", "\u{7F}", "\u{2028}", "\u{2029}":
                let hex = String(scalar.value, radix: 16)
                text.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
            default: text.unicodeScalars.append(scalar)
            }
        }
        text.append("\"")
    }

    private static let base64Alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func base64(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let count = min(3, bytes.count - index)
            var value = 0
            for offset in 0..<3 { value = value << 8 | (offset < count ? Int(bytes[index + offset]) : 0) }
            for position in 0..<4 {
                out.append(position <= count ? base64Alphabet[(value >> (18 - 6 * position)) & 63] : UInt8(ascii: "="))
            }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension WireMessage {
    /// The message as one line of JSON (proto3's mapping, as `options` say).
    package func jsonText(options: JSONOptions = JSONOptions()) -> String {
        var writer = JSONWriter()
        writeJSON(to: &writer, options: options)
        return writer.text
    }
}
