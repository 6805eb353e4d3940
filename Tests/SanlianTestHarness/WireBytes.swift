/// `bytes` with the first occurrence of `pattern` replaced by `replacement`, which has the same
/// length, so that the length prefixes around it stay right: how a test puts bytes the Swift
/// encoder refuses to write (a NUL inside a string) into an otherwise valid encoding.
/// - Returns: nil when `pattern` does not occur.
package func replacingFirst(_ pattern: [UInt8], with replacement: [UInt8], in bytes: [UInt8]) -> [UInt8]? {
    precondition(pattern.count == replacement.count && !pattern.isEmpty)
    guard bytes.count >= pattern.count else { return nil }
    for start in 0...(bytes.count - pattern.count) where bytes[start..<start + pattern.count].elementsEqual(pattern) {
        var result = bytes
        result.replaceSubrange(start..<start + pattern.count, with: replacement)
        return result
    }
    return nil
}

/// `bytes` with the first occurrence of `text` (UTF-8) written again with a NUL byte in place of
/// its character `marker`: `withNUL("a#one", at: "#", in: encoding)` makes a string field "a\0one".
package func withNUL(_ text: String, at marker: Character, in bytes: [UInt8]) -> [UInt8]? {
    let pattern = Array(text.utf8)
    let markerByte = Array(String(marker).utf8)
    precondition(markerByte.count == 1, "the marker must be one ASCII character")
    return replacingFirst(pattern, with: pattern.map { $0 == markerByte[0] ? 0 : $0 }, in: bytes)
}
