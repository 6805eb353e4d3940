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
        /// Anything else (decoded the ordinary way).
        case other
    }

    /// The call id at the start of `body`, read without protobuf-c: every mainstream encoder,
    /// protobuf-c included, writes field 1 first. nil when the frame starts otherwise (then it
    /// simply takes the ordinary path); never a wrong id, since a frame whose first field is
    /// `call_id` carries exactly that id.
    @inlinable
    package static func leadingCallID(_ body: ByteBuffer) -> UInt32? {
        // Tag of field 1 as a varint: (1 << 3) | 0.
        guard body.readableBytes >= 2, body.getInteger(at: body.readerIndex, as: UInt8.self) == 0x08 else {
            return nil
        }
        var value: UInt64 = 0
        var shift: UInt64 = 0
        var index = body.readerIndex + 1
        while shift < 35, let byte = body.getInteger(at: index, as: UInt8.self) {
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return UInt32(truncatingIfNeeded: value) }
            shift += 7
            index += 1
        }
        return nil
    }

    /// The kind of `body` (a whole encoded `Frame`).
    /// - Throws: `WireError.malformed` when protobuf-c cannot read it.
    package static func kind(of body: ByteBuffer) throws(WireError) -> Kind {
        try withHeader(body) { header in
            guard header.pointee.base.n_unknown_fields == 1, let field = header.pointee.base.unknown_fields else {
                return .other
            }
            // Field numbers of Frame.kind in proto/rpc.proto.
            switch field.pointee.tag {
            case 5: return .message
            case 6: return .end
            default: return .other
            }
        }
    }

    /// Appends `body` (a whole encoded `Frame`) to `buffer` as a length-prefixed frame whose
    /// call id is `callID`.
    /// - Returns: the size of the frame written, without its length prefix.
    /// - Throws: `WireError.malformed` when protobuf-c cannot read it.
    @discardableResult
    package static func write(_ body: ByteBuffer, callID: UInt32, into buffer: inout ByteBuffer) throws(WireError)
        -> Int
    {
        try withHeader(body) { header in
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
        _ body: (UnsafeMutablePointer<Sanlian__Rpc__V1__FrameHeader>) -> Result
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
            defer { sanlian__rpc__v1__frame_header__free_unpacked(header, allocator) }
            return body(header)
        }
    }
}
