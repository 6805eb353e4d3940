import Foundation
package import SanlianWire

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
        return Data(text.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The fields of `token`, a token of the list tagged `tag` with `count` fields.
    /// - Throws: INVALID_ARGUMENT naming `page.page_token` when it is not such a token.
    package static func read(_ token: String, _ tag: String, count: Int) throws(RPCError) -> [String] {
        let refusal = RPCError(
            .invalidArgument,
            "page.page_token: not a token this list gave; pass next_page_token as it came, with the same filters"
        )
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard token.utf8.count <= 4096, let data = Data(base64Encoded: base64) else { throw refusal }
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
