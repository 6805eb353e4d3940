/// Why a subject or a subject pattern is not acceptable.
package struct SubjectError: Error, CustomStringConvertible, Equatable, Sendable {
    package var description: String
}

/// A concrete, dot-separated subject such as `alert.hazards.traffic` (NATS rules: tokens are
/// non-empty, no whitespace, no wildcards).
package enum Subject {
    /// Longest subject accepted, in bytes.
    package static let maxLength = 256

    /// - Throws: `SubjectError` naming what is wrong.
    package static func validate(_ subject: String) throws(SubjectError) {
        // One pass over the bytes: publishing validates every subject, so this is on the hot path.
        let utf8 = subject.utf8
        var valid = !utf8.isEmpty && utf8.count <= maxLength
        var tokenStart = true
        var wildcard = false
        for byte in utf8 where valid {
            switch byte {
            case UInt8(ascii: "."):
                valid = !tokenStart
                tokenStart = true
            case UInt8(ascii: "*"), UInt8(ascii: ">"):
                wildcard = true
                tokenStart = false
            case 0...0x20, 0x7F:
                valid = false
            default:
                tokenStart = false
            }
        }
        if !valid || tokenStart {
            _ = try tokenize(subject, what: "subject")  // says precisely what is wrong
            throw SubjectError(description: "subject \"\(subject)\" contains a control character")
        }
        if wildcard {
            throw SubjectError(description: "subject \"\(subject)\" contains a wildcard; publish to a concrete subject")
        }
    }

    static func tokenize(_ text: String, what: String) throws(SubjectError) -> [Substring] {
        guard !text.isEmpty else { throw SubjectError(description: "\(what) is empty") }
        guard text.utf8.count <= maxLength else {
            throw SubjectError(description: "\(what) is longer than \(maxLength) bytes")
        }
        let tokens = text.split(separator: ".", omittingEmptySubsequences: false)
        for token in tokens {
            if token.isEmpty { throw SubjectError(description: "\(what) \"\(text)\" has an empty token") }
            if token.contains(where: { $0.isWhitespace || $0.isNewline }) {
                throw SubjectError(description: "\(what) \"\(text)\" contains whitespace")
            }
        }
        return tokens
    }
}

/// A subscriber's subject pattern: `*` matches exactly one token, a final `>` one or more.
/// `alert.*.traffic` matches `alert.hazards.traffic`; `alert.>` matches every alert subject.
package struct SubjectPattern: Sendable, Hashable, CustomStringConvertible {
    private enum Token: Hashable {
        /// The token's UTF-8 bytes, compared with a subject's bytes as they are.
        case literal([UInt8])
        case one
        case rest
    }

    private let tokens: [Token]
    package let description: String

    /// - Throws: `SubjectError` when the pattern is malformed (`>` not last, empty tokens, …).
    package init(_ text: String) throws(SubjectError) {
        let raw = try Subject.tokenize(text, what: "subject pattern")
        var tokens: [Token] = []
        for (index, token) in raw.enumerated() {
            switch token {
            case "*": tokens.append(.one)
            case ">":
                guard index == raw.count - 1 else {
                    throw SubjectError(description: "subject pattern \"\(text)\": > may only be the last token")
                }
                tokens.append(.rest)
            default:
                if token.contains("*") || token.contains(">") {
                    throw SubjectError(description: "subject pattern \"\(text)\": wildcards must be whole tokens")
                }
                tokens.append(.literal(Array(token.utf8)))
            }
        }
        self.tokens = tokens
        self.description = text
    }

    /// Matches everything.
    package static let all = try! SubjectPattern(">")

    /// Whether the concrete `subject` matches. Walks the subject's contiguous UTF-8 once without
    /// splitting it: the broker checks a pattern on every publish and on every event a durable
    /// subscription reads, and going through `String.UTF8View` indices cost more than the rest of
    /// delivering an event.
    package func matches(_ subject: String) -> Bool {
        var subject = subject
        // Native strings are contiguous already: this neither copies nor allocates.
        return subject.withUTF8 { matches(utf8: $0) }
    }

    private func matches(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let dot = UInt8(ascii: ".")
        var start = 0
        for (index, token) in tokens.enumerated() {
            // The subject's token at `start` runs to the next dot or the end.
            var end = start
            switch token {
            case .rest:
                return true
            case .one:
                while end < bytes.count, bytes[end] != dot { end += 1 }
            case .literal(let literal):
                guard bytes.count - start >= literal.count else { return false }
                for byte in literal {
                    guard bytes[end] == byte else { return false }
                    end += 1
                }
                guard end == bytes.count || bytes[end] == dot else { return false }
            }
            if end == bytes.count { return index == tokens.count - 1 }
            start = end + 1
        }
        // The pattern ended before the subject did.
        return false
    }

    /// Whether every subject `other` matches is also matched by this pattern (used to decide
    /// whether a permission pattern allows a subscription).
    package func covers(_ other: SubjectPattern) -> Bool {
        for (index, mine) in tokens.enumerated() {
            if case .rest = mine { return index < other.tokens.count }
            guard index < other.tokens.count else { return false }
            switch (mine, other.tokens[index]) {
            case (.one, .literal), (.one, .one): continue
            case (.literal(let a), .literal(let b)) where a == b: continue
            default: return false
            }
        }
        return tokens.count == other.tokens.count
    }
}
