import CProtobufC
import CSanlianProto

extension BrokerV1.LedgerDelivery {
    /// The encoding of a delivery of `event` — given as its own encoding, as the ledger stores
    /// it — without decoding the event: protobuf-c writes `attempt`, then the stored bytes as
    /// field 1 (`event`) from an unknown field. Decodes to the same `LedgerDelivery` as encoding
    /// the decoded event would; delivery to a durable subscriber spent ~40 % of its work
    /// decoding events only to encode them again.
    package static func encoded(event: [UInt8], attempt: UInt32) -> [UInt8] {
        guard !event.isEmpty else {
            // An event of all defaults encodes to nothing; the generated path says "present".
            return (try? BrokerV1.LedgerDelivery(event: AlertV1.LedgerEvent(), attempt: attempt).serializedBytes())
                ?? []
        }
        var delivery = Sanlian__Broker__V1__LedgerDelivery()
        sanlian__broker__v1__ledger_delivery__init(&delivery)
        delivery.attempt = attempt
        var field1 = [UInt8]()
        appendLengthDelimitedFieldData(event, to: &field1)
        return withUnknownLengthDelimitedField(tag: 1, data: field1) { field in
            delivery.base.n_unknown_fields = 1
            delivery.base.unknown_fields = field
            let size = sanlian__broker__v1__ledger_delivery__get_packed_size(&delivery)
            return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                count = sanlian__broker__v1__ledger_delivery__pack(&delivery, buffer.baseAddress!)
            }
        }
    }
}

/// Runs `body` with an unknown length-delimited field `tag` whose data is `data` — its length
/// prefix, then its bytes, as protobuf-c keeps such a field when it unpacks one — for attaching to
/// a message while it is packed: protobuf-c writes the tag followed by the data as is, and only
/// reads the data while packing. nil when `data` is empty (no field to write).
func withUnknownLengthDelimitedField<Result>(
    tag: UInt32,
    data: [UInt8],
    _ body: (UnsafeMutablePointer<ProtobufCMessageUnknownField>?) -> Result
) -> Result {
    guard !data.isEmpty else { return body(nil) }
    return data.withUnsafeBufferPointer { bytes in
        var field = ProtobufCMessageUnknownField(lengthDelimited: tag, bytes.baseAddress!, count: bytes.count)
        return withUnsafeMutablePointer(to: &field, body)
    }
}

extension ProtobufCMessageUnknownField {
    /// A length-delimited field `tag` whose data — its length prefix, then its bytes — is the
    /// `count` bytes at `data`; protobuf-c only reads them while packing.
    init(lengthDelimited tag: UInt32, _ data: UnsafePointer<UInt8>, count: Int) {
        self.init(
            tag: tag,
            wire_type: PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED,
            len: count,
            data: UnsafeMutablePointer(mutating: data)
        )
    }
}

/// Appends the data protobuf-c keeps for an unknown length-delimited field holding `bytes`: their
/// length as a varint, then the bytes (protobuf-c writes such data back as is after the tag).
func appendLengthDelimitedFieldData(_ bytes: [UInt8], to data: inout [UInt8]) {
    // Only for a first field: an exact reservation per append would defeat the array's growth.
    if data.isEmpty { data.reserveCapacity(bytes.count + 10) }
    var length = UInt64(bytes.count)
    while length >= 0x80 {
        data.append(UInt8(truncatingIfNeeded: length) | 0x80)
        length >>= 7
    }
    data.append(UInt8(length))
    data.append(contentsOf: bytes)
}

/// Metadata entries packed by protobuf-c once, to be attached as they are to the `metadata`
/// field of many CallStarts (`FrameRelay.writeStart`): the broker stamps the same identity on
/// every call a connection makes, and filling and packing those three entries again for every
/// forwarded call was most of what writing its CallStart cost.
package struct EncodedMetadataEntries: Sendable, Equatable {
    /// Each entry's length prefix and bytes, one after the other.
    fileprivate let data: [UInt8]
    /// Where each entry ends in `data`.
    fileprivate let ends: [Int]

    /// No entries.
    package init() {
        data = []
        ends = []
    }

    /// - Throws: `WireError` when an entry cannot be encoded (a key or value with a NUL byte).
    package init(_ entries: [RPCV1.MetadataEntry]) throws(WireError) {
        var data: [UInt8] = []
        var ends: [Int] = []
        ends.reserveCapacity(entries.count)
        for entry in entries {
            appendLengthDelimitedFieldData(try entry.serializedBytes(), to: &data)
            ends.append(data.count)
        }
        self.data = data
        self.ends = ends
    }

    package var count: Int { ends.count }

    /// The entries' bytes, length prefixes included.
    var byteCount: Int { data.count }

    /// Calls `body` with each entry's length prefix and bytes, in order.
    func forEachEntry(_ body: (UnsafeRawBufferPointer) -> Void) {
        data.withUnsafeBytes { data in
            var start = 0
            for end in ends {
                body(UnsafeRawBufferPointer(rebasing: data[start..<end]))
                start = end
            }
        }
    }

    /// Runs `body` with every entry as an unknown field `tag` (the `metadata` field number of the
    /// message they are attached to), written into `fields`, which has room for `count` of them.
    func withUnknownFields<Result>(
        tag: UInt32,
        in fields: UnsafeMutableBufferPointer<ProtobufCMessageUnknownField>,
        _ body: () -> Result
    ) -> Result {
        data.withUnsafeBufferPointer { data in
            var start = 0
            for (index, end) in ends.enumerated() {
                fields[index] = ProtobufCMessageUnknownField(
                    lengthDelimited: tag,
                    data.baseAddress! + start,
                    count: end - start
                )
                start = end
            }
            return body()
        }
    }
}
