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
        case literal(String)
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
                tokens.append(.literal(String(token)))
            }
        }
        self.tokens = tokens
        self.description = text
    }

    /// Matches everything.
    package static let all = try! SubjectPattern(">")

    /// Whether the concrete `subject` matches. Walks the subject's bytes once without splitting:
    /// the broker checks a pattern on every publish and every delivery.
    package func matches(_ subject: String) -> Bool {
        let bytes = subject.utf8
        var start = bytes.startIndex
        var index = 0
        while true {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: ".")) ?? bytes.endIndex
            guard index < tokens.count else { return false }
            switch tokens[index] {
            case .rest:
                return true
            case .one:
                break
            case .literal(let literal):
                guard bytes[start..<end].elementsEqual(literal.utf8) else { return false }
            }
            index += 1
            if end == bytes.endIndex { return index == tokens.count }
            start = bytes.index(after: end)
        }
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
