package import SanlianRPC
package import SanlianWire

/// One page of a list a department service keeps in its database, by keyset: the page token
/// names where the last page ended (the sort fields of its last item), the database is asked for
/// what comes after it, and the answer holds at most the page size and what fits the caller's
/// frame (`FrameBudget`), with a token to go on from.
///
/// Fetch `fetchLimit` rows after `after` (nil: from the start), in the list's order, then `page`.
package struct ListPager: Sendable {
    let tag: String
    package let size: Int
    /// Where the page starts: the sort fields of the last item of the previous page.
    package let after: [String]?
    private var budget: FrameBudget
    private let frameBytes: Int

    /// - Parameters:
    ///   - tag: the list's own tag in its tokens (a token of another list is refused).
    ///   - fields: how many sort fields a cursor has.
    /// - Throws: INVALID_ARGUMENT for a token this list did not give.
    package init(
        tag: String,
        request: CommonV1.PageRequest?,
        frameBytes: Int,
        fields: Int,
        defaultSize: Int = 100,
        maximum: Int = 1000
    ) throws(RPCError) {
        self.tag = tag
        size = pageSize(request?.pageSize, default: defaultSize, maximum: maximum)
        let token = request?.pageToken ?? ""
        after = token.isEmpty ? nil : try PageToken.read(token, tag, count: fields)
        budget = FrameBudget(frameBytes: frameBytes)
        self.frameBytes = frameBytes
    }

    /// How many rows to fetch: one more than a page, to know whether another follows.
    package var fetchLimit: Int { size + 1 }

    /// The page of `rows` (fetched after `after`, at most `fetchLimit`), in order.
    /// - Parameter total: how many items the list holds in all (`PageResponse.total`).
    /// - Throws: RESOURCE_EXHAUSTED when a single item does not fit the caller's frame.
    package mutating func page<Item: WireMessage>(
        _ rows: [(cursor: [String], item: Item)],
        total: Int
    ) throws(RPCError) -> (items: [Item], page: CommonV1.PageResponse) {
        var items: [Item] = []
        var last: [String]?
        for row in rows.prefix(size) {
            let bytes: Int
            do {
                bytes = try row.item.serializedBytes().count
            } catch {
                throw RPCError(.internal, "a stored record could not be encoded")
            }
            guard budget.take(bytes) else {
                if items.isEmpty {
                    throw FrameBudget.tooLarge("one item of the list", bytes: bytes, frameBytes: frameBytes)
                }
                break
            }
            items.append(row.item)
            last = row.cursor
        }
        let more = items.count < rows.count
        let next = more ? last.map { PageToken.make(tag, $0) } ?? "" : ""
        return (items, CommonV1.PageResponse(nextPageToken: next, total: UInt32(clamping: total)))
    }
}
