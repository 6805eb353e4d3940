import SanlianWire

/// The page size a list call asked for (`PageRequest.page_size`), within the list's default and
/// its maximum: 0 means the default; more than the maximum is read as the maximum.
package func pageSize(_ requested: UInt32?, default defaultSize: Int = 100, maximum: Int = 1000) -> Int {
    guard let requested, requested > 0 else { return defaultSize }
    return min(Int(requested), maximum)
}

/// Opaque page tokens (`PageResponse.next_page_token`): a list's own tag and the fields that say
/// where its next page starts, base64url-encoded. Each field is written with its length, so that
/// any string may be one.
package enum PageToken {
    /// The token for `fields` of the list tagged `tag` (e.g. "dl1" for dead letters).
    package static func make(_ tag: String, _ fields: [String]) -> String {
        var text = tag + ";"
        for field in fields { text += "\(field.utf8.count):\(field)" }
        return Base64URL.encode(Array(text.utf8))
    }

    /// The fields of `token`, a token of the list tagged `tag` with `count` fields.
    /// - Throws: INVALID_ARGUMENT naming `page.page_token` when it is not such a token.
    package static func read(_ token: String, _ tag: String, count: Int) throws(RPCError) -> [String] {
        let refusal = RPCError(
            .invalidArgument,
            "page.page_token: not a token this list gave; pass next_page_token as it came, with the same filters"
        )
        guard token.utf8.count <= 4096, let data = Base64URL.decode(token) else { throw refusal }
        var rest = Substring(String(decoding: data, as: UTF8.self))
        guard rest.hasPrefix(tag + ";") else { throw refusal }
        rest = rest.dropFirst(tag.count + 1)
        var fields: [String] = []
        while !rest.isEmpty {
            guard let colon = rest.firstIndex(of: ":"), let length = Int(rest[..<colon]), length >= 0 else {
                throw refusal
            }
            let utf8 = rest[rest.index(after: colon)...].utf8
            guard utf8.count >= length else { throw refusal }
            let end = utf8.index(utf8.startIndex, offsetBy: length)
            guard let field = String(utf8[utf8.startIndex..<end]) else { throw refusal }
            fields.append(field)
            rest = Substring(utf8[end...])
        }
        guard fields.count == count else { throw refusal }
        return fields
    }
}

/// The room a list answer's items have in the caller's frame: a list answer is cut to fit (fewer
/// items, and a token or position to go on from), never refused for its size.
package struct FrameBudget: Sendable {
    /// What an answer needs besides its list: the frame's and the CallEnd's fields, trailers, and
    /// the list's other fields (a page token, counts).
    package static let reservedBytes = 4096

    package private(set) var remaining: Int
    /// Whether an item has been refused for want of room.
    package private(set) var isFull = false

    /// - Parameter frameBytes: the caller's largest frame (`ServerContext.peerMaxFrameBytes`).
    package init(frameBytes: Int) {
        remaining = max(0, frameBytes - Self.reservedBytes)
    }

    /// Takes room for one more item of `bytes` encoded bytes (an element of a repeated message
    /// field: its tag, its length and its bytes).
    /// - Returns: false, taking nothing, when it does not fit.
    package mutating func take(_ bytes: Int) -> Bool {
        var lengthBytes = 1
        var rest = bytes >> 7
        while rest > 0 {
            lengthBytes += 1
            rest >>= 7
        }
        let cost = 1 + lengthBytes + bytes
        guard !isFull, cost <= remaining else {
            isFull = true
            return false
        }
        remaining -= cost
        return true
    }

    /// The refusal for an item that alone does not fit the caller's frame.
    package static func tooLarge(_ what: String, bytes: Int, frameBytes: Int) -> RPCError {
        RPCError(
            .resourceExhausted,
            "\(what) needs \(bytes) bytes, more than fits the caller's frame of \(frameBytes) bytes; connect with a larger max_frame_bytes"
        )
    }
}

/// base64url without padding (RFC 4648 §5), written out: the runtime links no Foundation.
enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var value = 0
            for byte in chunk { value = value << 8 | Int(byte) }
            value <<= 8 * (3 - chunk.count)
            for position in 0...chunk.count { out.append(alphabet[(value >> (18 - 6 * position)) & 63]) }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// nil when `text` holds a character outside the alphabet, or cannot be a whole encoding.
    static func decode(_ text: String) -> [UInt8]? {
        var values: [Int] = []
        values.reserveCapacity(text.utf8.count)
        for character in text.utf8 {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            values.append(value)
        }
        guard values.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        var index = 0
        while index < values.count {
            let group = values[index..<min(index + 4, values.count)]
            var value = 0
            for sextet in group { value = value << 6 | sextet }
            value <<= 6 * (4 - group.count)
            for position in 0..<(group.count - 1) { out.append(UInt8((value >> (16 - 8 * position)) & 0xFF)) }
            index += 4
        }
        return out
    }
}
