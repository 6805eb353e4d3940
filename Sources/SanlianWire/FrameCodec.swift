package import NIOCore

/// Limits of the frame layer. A frame is a 4-byte big-endian length followed by that many bytes.
package enum FrameLimits {
    /// Default largest frame body: 1 MiB, as NATS' default payload cap — Sanlian's messages are
    /// records, not files, so anything larger is a mistake or an attack.
    package static let defaultMaxFrameBytes = 1 << 20
    /// Bytes of the length prefix.
    package static let prefixBytes = 4
}

/// Splits a byte stream into frame bodies. Checks each length prefix against `maxFrameBytes`
/// before anything is read or allocated for the body; correct however the bytes are split across
/// reads.
package struct FrameDecoder: NIOSingleStepByteToMessageDecoder {
    package typealias InboundOut = ByteBuffer

    package let maxFrameBytes: Int

    package init(maxFrameBytes: Int = FrameLimits.defaultMaxFrameBytes) {
        self.maxFrameBytes = maxFrameBytes
    }

    /// - Throws: `WireError.frameTooLarge` naming both sizes when a prefix exceeds the maximum.
    package mutating func decode(buffer: inout ByteBuffer) throws -> ByteBuffer? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: UInt32.self) else {
            return nil
        }
        if Int(length) > maxFrameBytes {
            throw WireError.frameTooLarge(length: Int(length), maximum: maxFrameBytes)
        }
        // Leave the reader index alone until the whole frame is here, so the prefix is re-read
        // on the next call rather than lost.
        guard buffer.readableBytes >= FrameLimits.prefixBytes + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: FrameLimits.prefixBytes)
        return buffer.readSlice(length: Int(length))
    }

    package mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> ByteBuffer? {
        try decode(buffer: &buffer)
    }
}

extension ByteBuffer {
    /// Appends `message` as one frame: its length, then its encoding.
    package mutating func writeFrame(_ message: some WireMessage) throws(WireError) {
        let prefixIndex = writerIndex
        writeInteger(UInt32(0))
        try message.encode(into: &self)
        setInteger(UInt32(writerIndex - prefixIndex - FrameLimits.prefixBytes), at: prefixIndex)
    }
}
