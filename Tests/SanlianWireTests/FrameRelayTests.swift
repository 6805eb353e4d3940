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

    @Test("the kind and the leading call id are read without decoding the body")
    func kindAndCallID() throws {
        #expect(try FrameRelay.kind(of: Self.body(Self.end)) == .end)
        #expect(try FrameRelay.kind(of: Self.body(Self.message)) == .message)
        let start = RPCV1.Frame(callID: 9, kind: .start(RPCV1.CallStart(method: "/a.B/C", timeoutMicros: 5)))
        #expect(try FrameRelay.kind(of: Self.body(start)) == .other)
        #expect(try FrameRelay.leadingCallID(Self.body(Self.end)) == 7)
        #expect(try FrameRelay.leadingCallID(Self.body(Self.message)) == 300_001)
        // Connection-level frames have call id 0, which protobuf does not write.
        #expect(try FrameRelay.leadingCallID(Self.body(RPCV1.Frame(kind: .ping(RPCV1.Ping(nonce: 1))))) == nil)
    }

    @Test("a frame whose call id comes after its kind is still read correctly by protobuf-c")
    func fieldOrder() throws {
        // kind (field 5, Message{payload=[9]}) first, then call_id = 3: legal protobuf.
        let body = ByteBuffer(bytes: [0x2A, 0x03, 0x0A, 0x01, 0x09, 0x08, 0x03])
        #expect(FrameRelay.leadingCallID(body) == nil)
        #expect(try FrameRelay.kind(of: body) == .message)
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
        #expect(throws: WireError.self) { try FrameRelay.kind(of: ByteBuffer(bytes: [0x2A, 0x50])) }
    }
}
