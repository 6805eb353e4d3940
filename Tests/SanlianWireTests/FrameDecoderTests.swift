import NIOCore
import NIOTestUtils
import SanlianTestHarness
import SanlianWire
import Testing

@Suite("Frame codec", .timeLimit(.minutes(1)))
struct FrameDecoderTests {
    static func frame(_ body: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(body.count))
        buffer.writeBytes(body)
        return buffer
    }

    @Test("frames come out whole however the stream is split (every split point, byte by byte)")
    func everySplit() throws {
        let bodies: [[UInt8]] = [[], [1], Array(0...255), Array(repeating: 0xAB, count: 3000)]
        let pairs = bodies.map { body in (Self.frame(body), [ByteBuffer(bytes: body)]) }
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: pairs,
            decoderFactory: { FrameDecoder(maxFrameBytes: 4096) }
        )
    }

    @Test("random splits of a stream of many frames", arguments: [1, 2, 3, 4, 5] as [UInt64])
    func randomSplits(seed: UInt64) throws {
        var generator = SplitMix64(seed: seed)
        let bodies: [[UInt8]] = (0..<200).map { index in
            (0..<Int.random(in: 0...300, using: &generator)).map { UInt8(truncatingIfNeeded: $0 &+ index) }
        }
        var stream = ByteBuffer()
        for body in bodies {
            var frame = Self.frame(body)
            stream.writeBuffer(&frame)
        }

        var decoder = FrameDecoder(maxFrameBytes: 1024)
        var pending = ByteBuffer()
        var decoded: [[UInt8]] = []
        while stream.readableBytes > 0 {
            let size = min(stream.readableBytes, Int.random(in: 1...64, using: &generator))
            var chunk = stream.readSlice(length: size)!
            pending.writeBuffer(&chunk)
            while let frame = try decoder.decode(buffer: &pending) {
                decoded.append(Array(frame.readableBytesView))
            }
        }
        #expect(decoded == bodies)
        #expect(pending.readableBytes == 0)
    }

    @Test("an oversize length is rejected from the prefix alone, naming both sizes")
    func oversize() {
        var decoder = FrameDecoder(maxFrameBytes: 1024)
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32.max)  // a 4 GiB claim with no body behind it
        #expect {
            try decoder.decode(buffer: &buffer)
        } throws: { error in
            let error = error as? WireError
            return error?.kind == .frameTooLarge && error!.message.contains("4294967295")
                && error!.message.contains("1024")
        }
    }

    @Test("a frame exactly at the limit passes; one byte over fails")
    func limitBoundary() throws {
        var decoder = FrameDecoder(maxFrameBytes: 16)
        var exact = Self.frame(Array(repeating: 7, count: 16))
        #expect(try decoder.decode(buffer: &exact)?.readableBytes == 16)
        var over = Self.frame(Array(repeating: 7, count: 17))
        #expect(throws: WireError.self) { try decoder.decode(buffer: &over) }
    }

    @Test("writeFrame prefixes a message with its length and the decoder returns the message")
    func writeThenRead() throws {
        let frame = RPCV1.Frame(callID: 7, kind: .start(RPCV1.CallStart(method: "/a.B/C", timeoutMicros: 5)))
        var buffer = ByteBuffer()
        try buffer.writeFrame(frame)
        var decoder = FrameDecoder()
        let body = try #require(try decoder.decode(buffer: &buffer))
        #expect(try RPCV1.Frame(buffer: body) == frame)
    }
}
