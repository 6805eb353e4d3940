/// Why bytes could not be decoded into a message, or a message could not be encoded.
public struct WireError: Error, Hashable, Sendable, CustomStringConvertible {
    package enum Kind: Hashable, Sendable {
        /// protobuf-c rejected the bytes.
        case malformed
        /// A string field is not valid UTF-8.
        case invalidUTF8
        /// A string field holds a NUL character, which protobuf-c's C strings cannot carry.
        case embeddedNUL
        /// A required sub-message is missing.
        case missingField
        /// A frame's length prefix exceeds the configured maximum.
        case frameTooLarge
    }

    package var kind: Kind
    package var message: String

    public var description: String { message }

    package init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    package static func malformed(message type: String, byteCount: Int) -> Self {
        WireError(kind: .malformed, message: "malformed \(type) (\(byteCount) bytes)")
    }

    package static func invalidUTF8(message type: String, field: String) -> Self {
        WireError(kind: .invalidUTF8, message: "\(type).\(field) is not valid UTF-8")
    }

    /// A string field (`field`, a dotted path within a `type`) holds a NUL byte: one that
    /// arrived so is refused, as protobuf-c would hand it over cut short; one being sent cannot be
    /// encoded.
    package static func embeddedNUL(message type: String, field: String) -> Self {
        WireError(kind: .embeddedNUL, message: "\(field) contains a NUL byte, which a string may not hold (\(type))")
    }

    package static func missingField(message type: String, field: String) -> Self {
        WireError(kind: .missingField, message: "\(type).\(field) is missing")
    }

    package static func frameTooLarge(length: Int, maximum: Int) -> Self {
        WireError(
            kind: .frameTooLarge,
            message: "frame of \(length) bytes exceeds the maximum frame size of \(maximum) bytes"
        )
    }
}
