import NIOCore
import SanlianWire
import Testing

@Suite("Relaying frames under a new call id", .timeLimit(.minutes(1)))
struct FrameRelayTests {
    static let end = RPCV1.Frame(
        callID: 7,
        kind: .end(
            RPCV1.CallEnd(
                status: RPCV1.Status(code: .notFound, message: "没有这个人"),
                metadata: [RPCV1.MetadataEntry(key: "sanlian-department", value: "traffic")],
                payload: Array(0...255),
                hasPayload: true
            )
        )
    )
    static let message = RPCV1.Frame(callID: 300_001, kind: .message(RPCV1.Message(payload: [1, 2, 3])))

    static func body(_ frame: RPCV1.Frame) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        try frame.encode(into: &buffer)
        return buffer
    }

    @Test(
        "the relayed bytes are exactly the frame encoded with the new id",
        arguments: [(end, UInt32(2)), (end, UInt32.max), (message, UInt32(1)), (message, UInt32(128))]
    )
    func sameBytesAsReencoding(frame: RPCV1.Frame, newID: UInt32) throws {
        var relayed = ByteBuffer()
        let size = try FrameRelay.write(try Self.body(frame), callID: newID, into: &relayed)

        var expected = ByteBuffer()
        var renumbered = frame
        renumbered.callID = newID
        try expected.writeFrame(renumbered)
        #expect(relayed == expected)
        #expect(size == relayed.readableBytes - FrameLimits.prefixBytes)
        // And the peer decodes what was sent.
        relayed.moveReaderIndex(forwardBy: FrameLimits.prefixBytes)
        #expect(try RPCV1.Frame(buffer: relayed) == renumbered)
    }

    @Test("the leading call id and kind are read without decoding the body")
    func leadingHeader() throws {
        #expect(try FrameRelay.leadingHeader(Self.body(Self.end))?.callID == 7)
        #expect(try FrameRelay.leadingHeader(Self.body(Self.end))?.kind == .end)
        #expect(try FrameRelay.leadingHeader(Self.body(Self.message))?.callID == 300_001)
        #expect(try FrameRelay.leadingHeader(Self.body(Self.message))?.kind == .message)
        let start = RPCV1.Frame(callID: 9, kind: .start(RPCV1.CallStart(method: "/a.B/C", timeoutMicros: 5)))
        #expect(try FrameRelay.leadingHeader(Self.body(start)) == nil)
        // Connection-level frames have call id 0, which protobuf does not write.
        #expect(try FrameRelay.leadingHeader(Self.body(RPCV1.Frame(kind: .ping(RPCV1.Ping(nonce: 1))))) == nil)
        // A call id whose varint runs past the end of the frame.
        #expect(FrameRelay.leadingHeader(ByteBuffer(bytes: [0x08, 0x80, 0x80])) == nil)
    }

    @Test("relaying refuses what is not exactly one Message or CallEnd besides the call id")
    func writeChecksTheKind() throws {
        var output = ByteBuffer()
        let start = RPCV1.Frame(callID: 9, kind: .start(RPCV1.CallStart(method: "/a.B/C", timeoutMicros: 5)))
        #expect(throws: WireError.self) { try FrameRelay.write(Self.body(start), callID: 1, into: &output) }
        // A Message followed by a CallEnd in one frame.
        var both = try Self.body(Self.message)
        var end = try Self.body(RPCV1.Frame(kind: .end(RPCV1.CallEnd(status: RPCV1.Status(code: .ok)))))
        both.writeBuffer(&end)
        #expect(throws: WireError.self) { try FrameRelay.write(both, callID: 1, into: &output) }
        // Field 5 as a varint instead of a message.
        #expect(throws: WireError.self) {
            try FrameRelay.write(ByteBuffer(bytes: [0x08, 0x01, 0x28, 0x01]), callID: 1, into: &output)
        }
        #expect(output.readableBytes == 0)
    }

    @Test("a frame whose call id comes after its kind is still read correctly by protobuf-c")
    func fieldOrder() throws {
        // kind (field 5, Message{payload=[9]}) first, then call_id = 3: legal protobuf.
        let body = ByteBuffer(bytes: [0x2A, 0x03, 0x0A, 0x01, 0x09, 0x08, 0x03])
        #expect(FrameRelay.leadingHeader(body) == nil)
        var relayed = ByteBuffer()
        try FrameRelay.write(body, callID: 4, into: &relayed)
        relayed.moveReaderIndex(forwardBy: FrameLimits.prefixBytes)
        #expect(try RPCV1.Frame(buffer: relayed) == RPCV1.Frame(callID: 4, kind: .message(RPCV1.Message(payload: [9]))))
    }

    @Test("garbage is refused with a wire error, not relayed")
    func garbage() {
        let body = ByteBuffer(bytes: [0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x2A, 0x50])
        var output = ByteBuffer()
        #expect(throws: WireError.self) { try FrameRelay.write(body, callID: 1, into: &output) }
        #expect(output.readableBytes == 0)
    }
}
