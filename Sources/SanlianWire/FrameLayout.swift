import CSanlianProto
package import NIOCore

/// The layout every encoder here (protobuf-c, and any mainstream one) gives a call's frame: its
/// `call_id` (field 1) first, then its one `kind` field, running to the end. Read by hand, it lets
/// a frame be relayed (`FrameRelay.write`) or a CallStart be decoded (`RPCV1.CallStart
/// .fromFrame`) without protobuf-c unpacking the `Frame` around the kind; a frame laid out
/// otherwise, legal protobuf too, takes protobuf-c's path.
enum FrameLayout {
    /// The call id and kind field of `bytes` (a whole encoded `Frame`) when it is laid out so: the
    /// id (its low 32 bits, as protobuf-c reads a `uint32`), the kind's tag, where the field starts
    /// and where its content starts. Call ids of up to 5 bytes (32 bits), kinds
    /// of up to 4 GiB.
    static func soleKind(in bytes: UnsafeRawBufferPointer) -> (
        callID: UInt32, tag: UInt8, fieldOffset: Int, contentOffset: Int
    )? {
        guard bytes.count >= 4, bytes[0] == 0x08, let (callID, idEnd) = varint(in: bytes, at: 1, maxBytes: 5),
            idEnd < bytes.count,
            let (length, contentOffset) = varint(in: bytes, at: idEnd + 1, maxBytes: 5),
            UInt64(bytes.count - contentOffset) == length
        else { return nil }
        return (UInt32(truncatingIfNeeded: callID), bytes[idEnd], idEnd, contentOffset)
    }

    /// Tags of Frame.start (field 4), Frame.message (5) and Frame.end (6), length-delimited.
    static let startTag: UInt8 = 0x22
    static let messageTag: UInt8 = 0x2A
    static let endTag: UInt8 = 0x32

    /// Tags of CallEnd.status (field 1, length-delimited), CallEnd.payload (3, length-delimited)
    /// and CallEnd.has_payload (4, varint).
    static let callEndStatusTag: UInt8 = 0x0A
    static let callEndPayloadTag: UInt8 = 0x1A
    static let callEndHasPayloadTag: UInt8 = 0x20
    /// Tag of Message.payload (field 1, length-delimited).
    static let messagePayloadTag: UInt8 = 0x0A

    /// The varint at `start` in `bytes`, of at most `maxBytes` bytes: its value and the index
    /// after it.
    static func varint(in bytes: UnsafeRawBufferPointer, at start: Int, maxBytes: Int = 10) -> (UInt64, Int)? {
        var value: UInt64 = 0
        var index = start
        while index < bytes.count, index - start < maxBytes {
            let byte = bytes[index]
            value |= UInt64(byte & 0x7f) << (7 * UInt64(index - start))
            index += 1
            if byte & 0x80 == 0 { return (value, index) }
        }
        return nil
    }

    /// Stores `value` as a varint at `index` of `out`, and moves `index` past it.
    static func storeVarint(_ value: UInt64, in out: UnsafeMutableRawPointer, at index: inout Int) {
        var value = value
        while value >= 0x80 {
            out.storeBytes(of: UInt8(truncatingIfNeeded: value) | 0x80, toByteOffset: index, as: UInt8.self)
            index += 1
            value >>= 7
        }
        out.storeBytes(of: UInt8(value), toByteOffset: index, as: UInt8.self)
        index += 1
    }

    /// Stores a frame's length prefix and call id at the start of `out`; returns where the kind goes.
    static func storeHeader(frameSize: Int, callID: UInt32, in out: UnsafeMutableRawPointer) -> Int {
        out.storeBytes(of: UInt32(frameSize).bigEndian, as: UInt32.self)
        var index = FrameLimits.prefixBytes
        // proto3 leaves a zero call id out, as protobuf-c does.
        if callID != 0 {
            out.storeBytes(of: 0x08, toByteOffset: index, as: UInt8.self)
            index += 1
            storeVarint(UInt64(callID), in: out, at: &index)
        }
        return index
    }

    /// Bytes of a call id field: none for 0.
    static func callIDBytes(_ callID: UInt32) -> Int {
        callID == 0 ? 0 : 1 + varintSize(UInt64(callID))
    }

    /// How many bytes `value` takes as a varint.
    static func varintSize(_ value: UInt64) -> Int {
        var size = 1
        var rest = value >> 7
        while rest != 0 {
            size += 1
            rest >>= 7
        }
        return size
    }
}

extension RPCV1.CallStart {
    /// The CallStart of `frame` (a whole encoded `Frame`) when the frame is laid out as
    /// `FrameLayout` describes, decoded from its CallStart field alone (by hand, `readByHand`,
    /// unless it leaves the field to protobuf-c); nil for a frame of another kind or laid out
    /// otherwise (then decode the whole `Frame`). Its call id is `FrameRelay.leadingHeader`'s.
    /// - Throws: `WireError` when the CallStart field is not a valid CallStart.
    package static func fromFrame(_ frame: ByteBuffer) throws(WireError) -> RPCV1.CallStart? {
        let result: Result<RPCV1.CallStart, WireError>? = frame.withUnsafeReadableBytes { bytes in
            guard let kind = FrameLayout.soleKind(in: bytes), kind.tag == FrameLayout.startTag else { return nil }
            let content = UnsafeRawBufferPointer(rebasing: bytes[kind.contentOffset...])
            if let start = RPCV1.CallStart.readByHand(content) { return .success(start) }
            return Result { () throws(WireError) in try RPCV1.CallStart(decoding: content) }
        }
        return try result?.get()
    }
}

extension ByteBuffer {
    /// Appends a length-prefixed Frame of call `callID` whose kind is `end`: the bytes protobuf-c
    /// packs for that Frame, laid out as `FrameLayout` describes, with protobuf-c packing the
    /// CallEnd alone rather than a Swift `Frame` built around it (a served call's answer).
    /// - Returns: the size of the frame written, without its length prefix.
    /// - Throws: as `RPCV1.CallEnd.encode(into:)`.
    @discardableResult
    package mutating func writeFrame(callID: UInt32, end: RPCV1.CallEnd) throws(WireError) -> Int {
        try WireArena.with { (arena: inout WireArena) throws(WireError) in
            let message = try end.cPointer(&arena)
            return writeFrame(
                callID: callID,
                kindTag: FrameLayout.endTag,
                kindSize: sanlian__rpc__v1__call_end__get_packed_size(message)
            ) { sanlian__rpc__v1__call_end__pack(message, $0) }
        }
    }

    /// Appends a length-prefixed Frame of call `callID` that ends it with OK, `trailers` and
    /// `response` as its payload: the bytes `writeFrame(callID:end:)` writes for that CallEnd, with
    /// protobuf-c packing `response` straight into the frame (a served unary call's answer).
    ///
    /// Without trailers, the CallEnd around the response is laid out by hand, as protobuf-c packs
    /// it: the status (an empty message: code OK, no text), the payload field when the response
    /// has bytes, then `has_payload`. That saves encoding the response into an array of its own,
    /// then converting and copying it into a C CallEnd to be packed again.
    /// - Returns: the size of the frame written, without its length prefix.
    /// - Throws: as `WireMessage.withPacking(_:)`.
    @discardableResult
    package mutating func writeFrame(
        callID: UInt32,
        endingOKWith response: some WireMessage,
        trailers: [RPCV1.MetadataEntry] = []
    ) throws(WireError) -> Int {
        guard trailers.isEmpty else {
            let end = RPCV1.CallEnd(
                status: RPCV1.Status(code: .ok),
                metadata: trailers,
                payload: try response.serializedBytes(),
                hasPayload: true
            )
            return try writeFrame(callID: callID, end: end)
        }
        return try response.withPacking { responseSize, pack in
            // Status and has_payload take two bytes each.
            let payloadFieldSize =
                responseSize == 0 ? 0 : 1 + FrameLayout.varintSize(UInt64(responseSize)) + responseSize
            return writeFrame(callID: callID, kindTag: FrameLayout.endTag, kindSize: 2 + payloadFieldSize + 2) { out in
                let raw = UnsafeMutableRawPointer(out)
                var index = 0
                func store(_ byte: UInt8) {
                    raw.storeBytes(of: byte, toByteOffset: index, as: UInt8.self)
                    index += 1
                }
                store(FrameLayout.callEndStatusTag)
                store(0)  // the status's length: code OK and no message are left out
                if responseSize > 0 {
                    store(FrameLayout.callEndPayloadTag)
                    FrameLayout.storeVarint(UInt64(responseSize), in: raw, at: &index)
                    index += pack(out + index)
                }
                store(FrameLayout.callEndHasPayloadTag)
                store(1)
                return index
            }
        }
    }

    /// Appends a length-prefixed Frame of call `callID` carrying one response message of a
    /// streaming call, `payload` already encoded: the bytes protobuf-c packs for that Frame, the
    /// Message laid out by hand around the payload (a payload field when it has bytes; `half_close`
    /// is the caller's, so false and left out), as `writeFrame(callID:endingOKWith:trailers:)` lays
    /// out a CallEnd.
    /// - Returns: the size of the frame written, without its length prefix.
    @discardableResult
    package mutating func writeFrame(callID: UInt32, messagePayload payload: [UInt8]) -> Int {
        let messageSize = payload.isEmpty ? 0 : 1 + FrameLayout.varintSize(UInt64(payload.count)) + payload.count
        return writeFrame(callID: callID, kindTag: FrameLayout.messageTag, kindSize: messageSize) { out in
            guard !payload.isEmpty else { return 0 }
            let raw = UnsafeMutableRawPointer(out)
            raw.storeBytes(of: FrameLayout.messagePayloadTag, as: UInt8.self)
            var index = 1
            FrameLayout.storeVarint(UInt64(payload.count), in: raw, at: &index)
            payload.withUnsafeBytes { (raw + index).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            return index + payload.count
        }
    }

    /// Appends a length-prefixed frame laid out as `FrameLayout` describes: call `callID`, then a
    /// kind field of tag `kindTag` whose `kindSize` bytes `pack` writes (protobuf-c's pack of the
    /// kind's message, sized by its get_packed_size).
    /// - Returns: the size of the frame written, without its length prefix.
    mutating func writeFrame(
        callID: UInt32,
        kindTag: UInt8,
        kindSize: Int,
        _ pack: (UnsafeMutablePointer<UInt8>) -> Int
    ) -> Int {
        let size = FrameLayout.callIDBytes(callID) + 1 + FrameLayout.varintSize(UInt64(kindSize)) + kindSize
        writeWithUnsafeMutableBytes(minimumWritableBytes: FrameLimits.prefixBytes + size) { target in
            let out = target.baseAddress!
            var index = FrameLayout.storeHeader(frameSize: size, callID: callID, in: out)
            out.storeBytes(of: kindTag, toByteOffset: index, as: UInt8.self)
            index += 1
            FrameLayout.storeVarint(UInt64(kindSize), in: out, at: &index)
            return index + pack((out + index).assumingMemoryBound(to: UInt8.self))
        }
        return size
    }
}
