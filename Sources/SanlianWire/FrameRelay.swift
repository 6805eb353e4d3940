import CProtobufC
import CSanlianProto
package import NIOCore

/// Relays a frame to another connection under a new call id without decoding its body: the
/// broker passes a service's `Message` and `CallEnd` frames to the caller this way.
///
/// The frame is read through protobuf-c as an `rpc.v1.FrameHeader` (only `call_id`): its `kind`
/// stays an unknown field, copied as is, and protobuf-c writes it back after the new `call_id` —
/// the same bytes as encoding the decoded `Frame` with the new id, for a fraction of the work.
package enum FrameRelay {
    /// What a relayed frame carries.
    package enum Kind: Sendable, Equatable {
        case message
        case end
    }

    /// The call id and kind at the start of `body`, read without protobuf-c: every mainstream
    /// encoder, protobuf-c included, writes `call_id` (field 1) first and the `kind` after it.
    /// nil when the frame starts otherwise or is neither a Message nor a CallEnd: then it takes
    /// the ordinary path. Never a wrong id or kind for a frame that starts this way; the rest of
    /// the frame is checked by `write` when it is relayed.
    @inlinable
    package static func leadingHeader(_ body: ByteBuffer) -> (callID: UInt32, kind: Kind)? {
        // Tag of field 1 as a varint: (1 << 3) | 0.
        guard body.readableBytes >= 3, body.getInteger(at: body.readerIndex, as: UInt8.self) == 0x08 else {
            return nil
        }
        var value: UInt64 = 0
        var shift: UInt64 = 0
        var index = body.readerIndex + 1
        while shift < 35, let byte = body.getInteger(at: index, as: UInt8.self) {
            value |= UInt64(byte & 0x7f) << shift
            index += 1
            if byte & 0x80 == 0 {
                // Tags of Frame.message (field 5) and Frame.end (field 6), length-delimited.
                switch body.getInteger(at: index, as: UInt8.self) {
                case 0x2A: return (UInt32(truncatingIfNeeded: value), .message)
                case 0x32: return (UInt32(truncatingIfNeeded: value), .end)
                default: return nil
                }
            }
            shift += 7
        }
        return nil
    }

    /// Appends `body` (a whole encoded `Frame`) to `buffer` as a length-prefixed frame whose
    /// call id is `callID`.
    /// - Returns: the size of the frame written, without its length prefix.
    /// - Throws: `WireError.malformed` when protobuf-c cannot read it or it carries anything but
    ///   one Message or one CallEnd besides its call id.
    @discardableResult
    package static func write(_ body: ByteBuffer, callID: UInt32, into buffer: inout ByteBuffer) throws(WireError)
        -> Int
    {
        try withHeader(body) { header throws(WireError) in
            guard header.pointee.base.n_unknown_fields == 1, let field = header.pointee.base.unknown_fields,
                field.pointee.tag == 5 || field.pointee.tag == 6,
                field.pointee.wire_type == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED
            else {
                throw WireError.malformed(message: "sanlian.rpc.v1.Frame", byteCount: body.readableBytes)
            }
            header.pointee.call_id = callID
            let size = sanlian__rpc__v1__frame_header__get_packed_size(header)
            buffer.writeInteger(UInt32(size))
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { target in
                sanlian__rpc__v1__frame_header__pack(header, target.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
            return size
        }
    }

    /// Runs `body` with `frame` unpacked as a FrameHeader, on a stack-backed allocator.
    private static func withHeader<Result>(
        _ frame: ByteBuffer,
        _ body: (UnsafeMutablePointer<Sanlian__Rpc__V1__FrameHeader>) throws(WireError) -> Result
    ) throws(WireError) -> Result {
        try withWireDecodingAllocator { allocator throws(WireError) in
            let header = frame.withUnsafeReadableBytes { bytes in
                sanlian__rpc__v1__frame_header__unpack(
                    allocator,
                    bytes.count,
                    bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
                )
            }
            guard let header else {
                throw WireError.malformed(message: "sanlian.rpc.v1.Frame", byteCount: frame.readableBytes)
            }
            defer {
                if CProtobufC_bumpNeedsFree(allocator) {
                    sanlian__rpc__v1__frame_header__free_unpacked(header, allocator)
                }
            }
            return try body(header)
        }
    }
}
