import CProtobufC
import CSanlianProto
package import NIOCore

/// Relays a frame to another connection under a new call id without decoding its body: the
/// broker passes a service's `Message` and `CallEnd` frames to the caller this way, and a
/// caller's `CallStart` to the service.
///
/// A frame laid out as encoders write it (`FrameLayout`) is relayed by hand: the new call id,
/// then the Message or CallEnd as it came — the bytes protobuf-c would pack. Others go through
/// protobuf-c as an `rpc.v1.FrameHeader`, `kind` kept as an unknown field. A CallStart is read
/// as an `rpc.v1.CallStartHeader` (in a `StartFrameHeader` when laid out otherwise): all but the
/// request payload is decoded; the payload travels on as an unknown field.
package enum FrameRelay {
    /// What a relayed frame carries.
    package enum Kind: Sendable, Equatable {
        case start
        case message
        case end
    }

    /// The call id and kind at the start of `body`, read without protobuf-c: every mainstream
    /// encoder, protobuf-c included, writes `call_id` (field 1) first and the `kind` after it.
    /// nil when the frame starts otherwise or is none of those kinds: then it takes the ordinary
    /// path. The id is the frame's first `call_id`: a frame repeating the field further on (which
    /// no encoder writes) is routed by that one, though protobuf would take the last. The rest of
    /// the frame is checked by `write` and `readStart` (which takes protobuf-c's id).
    @inlinable
    package static func leadingHeader(_ body: ByteBuffer) -> (callID: UInt32, kind: Kind)? {
        // Tag of field 1 as a varint: (1 << 3) | 0.
        guard body.readableBytes >= 3, body.getInteger(at: body.readerIndex, as: UInt8.self) == 0x08 else {
            return nil
        }
        // Its own loop over `getInteger` rather than `FrameLayout.varint` in
        // `withUnsafeReadableBytes`: the closure is not inlined here, and the general loop
        // multiplies per byte; this runs for every forwarded call.
        var value: UInt64 = 0
        var shift: UInt64 = 0
        var index = body.readerIndex + 1
        while shift < 35, let byte = body.getInteger(at: index, as: UInt8.self) {
            value |= UInt64(byte & 0x7f) << shift
            index += 1
            if byte & 0x80 == 0 {
                // Tags of Frame.start (field 4), Frame.message (5) and Frame.end (6), length-delimited.
                switch body.getInteger(at: index, as: UInt8.self) {
                case 0x22: return (UInt32(truncatingIfNeeded: value), .start)
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
        let written: Int? = body.withUnsafeReadableBytes { bytes in
            guard let kind = FrameLayout.soleKind(in: bytes),
                kind.tag == FrameLayout.messageTag || kind.tag == FrameLayout.endTag
            else { return nil }
            // The bytes protobuf-c packs from a FrameHeader with the new id and the kind as its
            // one unknown field: the id first (left out when 0, as proto3 does), then the kind.
            let content = UnsafeRawBufferPointer(rebasing: bytes[kind.contentOffset...])
            return buffer.writeFrame(callID: callID, kindTag: kind.tag, kindSize: content.count) { target in
                UnsafeMutableRawPointer(target).copyMemory(from: content.baseAddress!, byteCount: content.count)
                return content.count
            }
        }
        if let written { return written }
        return try writeUnpacked(body, callID: callID, into: &buffer)
    }

    /// `write` through protobuf-c, for frames laid out otherwise.
    package static func writeUnpacked(_ body: ByteBuffer, callID: UInt32, into buffer: inout ByteBuffer)
        throws(WireError)
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
            appendFrame(size: size, to: &buffer) { sanlian__rpc__v1__frame_header__pack(header, $0) }
            return size
        }
    }

    /// A CallStart frame read without decoding its request payload.
    package struct Start: Sendable {
        package var callID: UInt32
        /// The method, deadline, metadata, half-close and window.
        package var header: RPCV1.CallStartHeader
        /// The payload as the frame carried it: a length-delimited field's length prefix and bytes
        /// (empty when the frame had none), to be sent on as is by `writeStart`.
        package var payloadField: [UInt8]
    }

    /// Reads a CallStart frame (a whole encoded `Frame`), leaving its request payload encoded.
    /// - Throws: `WireError.malformed` when protobuf-c cannot read it, or when it carries anything
    ///   but a call id and a CallStart, or the CallStart a field CallStartHeader does not name but
    ///   the payload (field 4, length-delimited).
    package static func readStart(_ body: ByteBuffer) throws(WireError) -> Start {
        // Laid out as encoders write it (`FrameLayout`), only the CallStart is read: by hand
        // (`CallStartReader`), or unpacked by protobuf-c when the hand reader leaves it, or when
        // it carries fields CallStartHeader does not name, which protobuf-c then refuses.
        enum LaidOut {
            case readByHand(Start)
            case toUnpack(callID: UInt32, start: ByteBuffer)
        }
        let laidOut: LaidOut? = body.withUnsafeReadableBytes { bytes in
            guard let kind = FrameLayout.soleKind(in: bytes), kind.tag == FrameLayout.startTag else { return nil }
            let content = UnsafeRawBufferPointer(rebasing: bytes[kind.contentOffset...])
            var header = RPCV1.CallStartHeader()
            var payload: PayloadFieldBounds?
            var hasUnknownFields = false
            if CallStartReader.read(content, into: &header, payload: &payload, hasUnknownFields: &hasUnknownFields),
                !hasUnknownFields
            {
                let payloadField =
                    payload.map { Array(UnsafeRawBufferPointer(rebasing: content[$0.fieldStart..<$0.end])) } ?? []
                return .readByHand(Start(callID: kind.callID, header: header, payloadField: payloadField))
            }
            return .toUnpack(
                callID: kind.callID,
                start: body.getSlice(
                    at: body.readerIndex + kind.contentOffset,
                    length: bytes.count - kind.contentOffset
                )!
            )
        }
        switch laidOut {
        case .readByHand(let start):
            return start
        case .toUnpack(let callID, let start):
            return try withUnpacked(
                start,
                unpack: { sanlian__rpc__v1__call_start_header__unpack($0, $1, $2) },
                free: { sanlian__rpc__v1__call_start_header__free_unpacked($0, $1) },
                type: "sanlian.rpc.v1.CallStart"
            ) { start throws(WireError) in
                try makeStart(callID: callID, start, frameBytes: body.readableBytes)
            }
        case nil:
            break
        }
        return try withUnpacked(
            body,
            unpack: { sanlian__rpc__v1__start_frame_header__unpack($0, $1, $2) },
            free: { sanlian__rpc__v1__start_frame_header__free_unpacked($0, $1) }
        ) { frame throws(WireError) in
            guard frame.pointee.base.n_unknown_fields == 0, let start = frame.pointee.start else {
                throw WireError.malformed(message: "sanlian.rpc.v1.CallStart", byteCount: body.readableBytes)
            }
            return try makeStart(callID: frame.pointee.call_id, start, frameBytes: body.readableBytes)
        }
    }

    /// A `Start` of call `callID` from its unpacked CallStartHeader, whose unknown fields may only
    /// be the payload (field 4, length-delimited).
    private static func makeStart(
        callID: UInt32,
        _ start: UnsafeMutablePointer<Sanlian__Rpc__V1__CallStartHeader>,
        frameBytes: Int
    ) throws(WireError) -> Start {
        let unknown = Int(start.pointee.base.n_unknown_fields)
        guard
            (0..<unknown).allSatisfy({ index in
                let field = start.pointee.base.unknown_fields[index]
                return field.tag == callStartPayloadTag && field.wire_type == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED
            })
        else {
            throw WireError.malformed(message: "sanlian.rpc.v1.CallStart", byteCount: frameBytes)
        }
        var payloadField: [UInt8] = []
        // Like any field that is not repeated, the last occurrence counts. protobuf-c keeps a
        // length-delimited field's length prefix in its data.
        if unknown > 0, let fields = start.pointee.base.unknown_fields {
            let field = fields[unknown - 1]
            payloadField = Array(UnsafeRawBufferPointer(start: field.data, count: field.len))
        }
        return Start(
            callID: callID,
            header: try RPCV1.CallStartHeader(cMessage: start.pointee),
            payloadField: payloadField
        )
    }

    /// The payload bytes of a `Start.payloadField`.
    /// - Throws: `WireError.malformed` when its length prefix does not match its length.
    package static func payload(ofField field: [UInt8]) throws(WireError) -> [UInt8] {
        guard !field.isEmpty else { return [] }
        let payload: [UInt8]? = field.withUnsafeBytes { data in
            guard let (length, prefix) = FrameLayout.varint(in: data, at: 0), UInt64(data.count - prefix) == length
            else {
                return nil
            }
            return Array(data[prefix...])
        }
        guard let payload else {
            throw WireError.malformed(message: "sanlian.rpc.v1.CallStart", byteCount: field.count)
        }
        return payload
    }

    /// Appends a CallStart frame of call `callID` to `buffer`, length-prefixed: `header`'s fields,
    /// the metadata entries of `encodedMetadata` after `header.metadata`, and, unchanged, the
    /// payload field `readStart` found in the caller's frame. Written by hand (`CallStartWriter`),
    /// as protobuf-c would pack it; by protobuf-c when a string holds a NUL byte.
    /// - Returns: the size of the frame written, without its length prefix.
    @discardableResult
    package static func writeStart(
        callID: UInt32,
        header: RPCV1.CallStartHeader,
        encodedMetadata: EncodedMetadataEntries? = nil,
        payloadField: [UInt8],
        into buffer: inout ByteBuffer
    ) throws(WireError) -> Int {
        let writer = CallStartWriter(header: header, encodedMetadata: encodedMetadata, payloadField: payloadField)
        if let size = writer.size() {
            return buffer.writeFrame(callID: callID, kindTag: FrameLayout.startTag, kindSize: size) {
                writer.write(to: $0)
            }
        }
        return try writeStartThroughProtobufC(
            callID: callID,
            header: header,
            encodedMetadata: encodedMetadata,
            payloadField: payloadField,
            into: &buffer
        )
    }

    /// `writeStart` by protobuf-c: what it does with a string holding a NUL byte, and the
    /// reference `CallStartWriter` is tested against.
    package static func writeStartThroughProtobufC(
        callID: UInt32,
        header: RPCV1.CallStartHeader,
        encodedMetadata: EncodedMetadataEntries? = nil,
        payloadField: [UInt8],
        into buffer: inout ByteBuffer
    ) throws(WireError) -> Int {
        try WireArena.with { (arena: inout WireArena) throws(WireError) in
            let start = try header.cPointer(&arena)
            // protobuf-c writes unknown fields after the known ones: a repeated field may come in
            // any number of pieces, so the entries join `metadata`, and the payload is where a
            // CallStart has it.
            let metadataCount = encodedMetadata?.count ?? 0
            let payloadCount = payloadField.isEmpty ? 0 : 1
            return withUnsafeTemporaryAllocation(
                of: ProtobufCMessageUnknownField.self,
                capacity: metadataCount + payloadCount
            ) { fields in
                // The Frame around the CallStart is laid out by hand (`FrameLayout`), as protobuf-c
                // packs a StartFrameHeader.
                func pack() -> Int {
                    start.pointee.base.n_unknown_fields = UInt32(metadataCount + payloadCount)
                    start.pointee.base.unknown_fields = fields.baseAddress
                    return buffer.writeFrame(
                        callID: callID,
                        kindTag: FrameLayout.startTag,
                        kindSize: sanlian__rpc__v1__call_start_header__get_packed_size(start)
                    ) { sanlian__rpc__v1__call_start_header__pack(start, $0) }
                }
                return payloadField.withUnsafeBufferPointer { payload in
                    if payloadCount > 0, let data = payload.baseAddress {
                        fields[metadataCount] = ProtobufCMessageUnknownField(
                            lengthDelimited: Self.callStartPayloadTag,
                            data,
                            count: payload.count
                        )
                    }
                    guard let encodedMetadata else { return pack() }
                    return encodedMetadata.withUnknownFields(
                        tag: Self.callStartMetadataTag,
                        in: fields,
                        pack
                    )
                }
            }
        }
    }

    /// The payload field `writeStart` sends for `payload`, as a caller's CallStart would carry it.
    package static func payloadField(for payload: [UInt8]) -> [UInt8] {
        guard !payload.isEmpty else { return [] }
        var field: [UInt8] = []
        appendLengthDelimitedFieldData(payload, to: &field)
        return field
    }

    /// Field numbers of CallStart (and CallStartHeader).
    private static let callStartMetadataTag: UInt32 = 3
    private static let callStartPayloadTag: UInt32 = 4

    /// Runs `body` with `frame` unpacked as a FrameHeader.
    private static func withHeader<Result>(
        _ frame: ByteBuffer,
        _ body: (UnsafeMutablePointer<Sanlian__Rpc__V1__FrameHeader>) throws(WireError) -> Result
    ) throws(WireError) -> Result {
        try withUnpacked(
            frame,
            unpack: { sanlian__rpc__v1__frame_header__unpack($0, $1, $2) },
            free: { sanlian__rpc__v1__frame_header__free_unpacked($0, $1) },
            body
        )
    }

    /// Runs `body` with `frame` unpacked by protobuf-c's `unpack`, on a stack-backed allocator.
    private static func withUnpacked<Message, Result>(
        _ frame: ByteBuffer,
        unpack: (UnsafeMutablePointer<ProtobufCAllocator>, Int, UnsafePointer<UInt8>?) -> UnsafeMutablePointer<
            Message
        >?,
        free: (UnsafeMutablePointer<Message>, UnsafeMutablePointer<ProtobufCAllocator>) -> Void,
        type: String = "sanlian.rpc.v1.Frame",
        _ body: (UnsafeMutablePointer<Message>) throws(WireError) -> Result
    ) throws(WireError) -> Result {
        try withWireDecodingAllocator { allocator throws(WireError) in
            let (message, refusal) = frame.withUnsafeReadableBytes {
                bytes -> (UnsafeMutablePointer<Message>?, WireError?) in
                guard
                    let message = unpack(allocator, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
                else { return (nil, nil) }
                do throws(WireError) {
                    try wireRefuseNULStrings(message, bytes, type: type)
                    return (message, nil)
                } catch {
                    return (message, error)
                }
            }
            guard let message else {
                throw WireError.malformed(message: "sanlian.rpc.v1.Frame", byteCount: frame.readableBytes)
            }
            defer { if CProtobufC_bumpNeedsFree(allocator) { free(message, allocator) } }
            if let refusal { throw refusal }
            return try body(message)
        }
    }

    /// Appends a frame of `size` bytes behind its length prefix; `pack` writes it and returns how
    /// many bytes it wrote (protobuf-c's pack: `size`, from its get_packed_size).
    private static func appendFrame(
        size: Int,
        to buffer: inout ByteBuffer,
        _ pack: (UnsafeMutablePointer<UInt8>) -> Int
    ) {
        buffer.writeInteger(UInt32(size))
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { target in
            pack(target.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
    }
}
