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
        // An unknown length-delimited field's data starts with its length, as protobuf-c keeps
        // it when it unpacks one (and writes it back as is).
        var field1 = [UInt8]()
        field1.reserveCapacity(event.count + 10)
        var length = UInt64(event.count)
        while length >= 0x80 {
            field1.append(UInt8(truncatingIfNeeded: length) | 0x80)
            length >>= 7
        }
        field1.append(UInt8(length))
        field1.append(contentsOf: event)
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
        var field = ProtobufCMessageUnknownField(
            tag: tag,
            wire_type: PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED,
            len: bytes.count,
            data: UnsafeMutablePointer(mutating: bytes.baseAddress)
        )
        return withUnsafeMutablePointer(to: &field, body)
    }
}
