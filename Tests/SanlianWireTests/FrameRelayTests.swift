import CProtobufC
import CSanlianProto
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
        arguments: [
            (end, UInt32(2)), (end, UInt32.max), (message, UInt32(0)), (message, UInt32(1)), (message, UInt32(128)),
        ]
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
        #expect(try FrameRelay.leadingHeader(Self.body(start))?.callID == 9)
        #expect(try FrameRelay.leadingHeader(Self.body(start))?.kind == .start)
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

    @Test("frames laid out as encoders write them are relayed by hand, with protobuf-c's bytes")
    func byHandAsProtobufC() throws {
        let empty = RPCV1.Frame(callID: 5, kind: .message(RPCV1.Message()))
        for frame in [Self.end, Self.message, empty] {
            for newID: UInt32 in [0, 1, 127, 128, 16_383, 16_384, .max] {
                var byHand = ByteBuffer()
                var unpacked = ByteBuffer()
                let handSize = try FrameRelay.write(Self.body(frame), callID: newID, into: &byHand)
                let unpackedSize = try FrameRelay.writeUnpacked(Self.body(frame), callID: newID, into: &unpacked)
                #expect(byHand == unpacked)
                #expect(handSize == unpackedSize)
            }
        }
        // A kind whose length runs past the end of the frame, or stops short of it, is not laid
        // out so: protobuf-c reads it, and refuses both (the first is cut short, the second has a
        // truncated field after it).
        var output = ByteBuffer()
        #expect(throws: WireError.self) {
            try FrameRelay.write(ByteBuffer(bytes: [0x08, 0x01, 0x2A, 0x02, 0x0A]), callID: 1, into: &output)
        }
        #expect(throws: WireError.self) {
            try FrameRelay.write(ByteBuffer(bytes: [0x08, 0x01, 0x2A, 0x00, 0x0A]), callID: 1, into: &output)
        }
        #expect(output.readableBytes == 0)
    }

    @Test("a CallStart frame laid out as encoders write it is decoded from its CallStart alone")
    func callStartFromFrame() throws {
        let start = RPCV1.CallStart(
            method: "/sanlian.echo.v1.Echo/Echo",
            timeoutMicros: 30_000_000,
            metadata: [RPCV1.MetadataEntry(key: "sanlian-department", value: "station")],
            payload: Array(0..<64),
            halfClose: true,
            initialWindow: 16
        )
        let body = try Self.body(RPCV1.Frame(callID: 300_001, kind: .start(start)))
        #expect(try RPCV1.CallStart.fromFrame(body) == start)
        // Another kind, or another layout (the call id after the start), is left to the whole frame's decoding.
        #expect(try RPCV1.CallStart.fromFrame(Self.body(Self.message)) == nil)
        var startFirst = ByteBuffer(bytes: [0x22, 0x02, 0x10, 0x05])
        startFirst.writeBytes([0x08, 0x03])
        #expect(try RPCV1.CallStart.fromFrame(startFirst) == nil)
        #expect(
            try RPCV1.Frame(buffer: startFirst)
                == RPCV1.Frame(callID: 3, kind: .start(RPCV1.CallStart(timeoutMicros: 5)))
        )
        // A start field that is no CallStart (field 1, the method, cut short) is refused.
        #expect(throws: WireError.self) {
            try RPCV1.CallStart.fromFrame(ByteBuffer(bytes: [0x08, 0x01, 0x22, 0x02, 0x0A, 0x05]))
        }
    }

    @Test("a CallEnd frame written around protobuf-c's CallEnd has the bytes of the whole Frame encoded")
    func callEndFrame() throws {
        let ends = [
            RPCV1.CallEnd(),
            RPCV1.CallEnd(status: RPCV1.Status(code: .ok), payload: Array(0..<64), hasPayload: true),
            Self.end.kind.flatMap { if case .end(let end) = $0 { end } else { nil } }!,
            RPCV1.CallEnd(status: RPCV1.Status(code: .internal, message: String(repeating: "长", count: 100))),
        ]
        for end in ends {
            for callID: UInt32 in [0, 1, 127, 128, 300_001, .max] {
                try expectPackedBytes(of: RPCV1.Frame(callID: callID, kind: .end(end))) {
                    try $0.writeFrame(callID: callID, end: end)
                }
            }
        }
    }

    @Test("a unary answer packed straight into its CallEnd frame has the bytes of the whole Frame encoded")
    func answerFrame() throws {
        let responses = [
            EchoV1.EchoResponse(),
            EchoV1.EchoResponse(payload: Array(0..<64), department: "station", peerUID: 1000, instance: "echo-1"),
            // A response of over 127 bytes takes a two-byte length; one of 20 kB, three.
            EchoV1.EchoResponse(payload: [UInt8](repeating: 0xA5, count: 200)),
            EchoV1.EchoResponse(payload: [UInt8](repeating: 0x5A, count: 20_000), remainingMicros: .max),
        ]
        let trailerSets: [[RPCV1.MetadataEntry]] = [[], [RPCV1.MetadataEntry(key: "x-served-by", value: "echo-1")]]
        for response in responses {
            for trailers in trailerSets {
                for callID: UInt32 in [0, 1, 128, .max] {
                    let end = RPCV1.CallEnd(
                        status: RPCV1.Status(code: .ok),
                        metadata: trailers,
                        payload: try response.serializedBytes(),
                        hasPayload: true
                    )
                    try expectPackedBytes(of: RPCV1.Frame(callID: callID, kind: .end(end))) {
                        try $0.writeFrame(callID: callID, endingOKWith: response, trailers: trailers)
                    }
                }
            }
        }
    }

    @Test("a streamed message laid out around its payload has the bytes of the whole Frame encoded")
    func messageFrame() throws {
        for size in [0, 1, 127, 128, 20_000] {
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            for callID: UInt32 in [0, 2, 128, .max] {
                try expectPackedBytes(of: RPCV1.Frame(callID: callID, kind: .message(RPCV1.Message(payload: payload))))
                {
                    $0.writeFrame(callID: callID, messagePayload: payload)
                }
            }
        }
    }

    /// Expects `write`, a writer that lays a frame out by hand and returns its size without the
    /// length prefix, to append to a buffer already holding a byte what protobuf-c packs for
    /// `frame`, and to return that size.
    private func expectPackedBytes(
        of frame: RPCV1.Frame,
        sourceLocation: SourceLocation = #_sourceLocation,
        _ write: (inout ByteBuffer) throws -> Int
    ) throws {
        var written = ByteBuffer(bytes: [0xEE])
        let size = try write(&written)
        var expected = ByteBuffer(bytes: [0xEE])
        try expected.writeFrame(frame)
        #expect(written == expected, sourceLocation: sourceLocation)
        #expect(size == written.readableBytes - 1 - FrameLimits.prefixBytes, sourceLocation: sourceLocation)
    }

    @Test("a response that cannot be encoded leaves the buffer as it was")
    func answerFrameRefused() {
        var buffer = ByteBuffer(bytes: [1, 2, 3])
        #expect(throws: WireError.self) {
            try buffer.writeFrame(callID: 1, endingOKWith: EchoV1.EchoResponse(department: "a\0b"))
        }
        #expect(buffer == ByteBuffer(bytes: [1, 2, 3]))
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
    @Test(
        "a forwarded CallStart keeps its method and payload and takes the new call id, deadline, metadata, half-close and window",
        arguments: [0, 64, 4096]
    )
    func forwardedStart(payloadSize: Int) throws {
        let payload = (0..<payloadSize).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let original = RPCV1.Frame(
            callID: 5,
            kind: .start(
                RPCV1.CallStart(
                    method: "/sanlian.echo.v1.Echo/Echo",
                    timeoutMicros: 5_000_000,
                    metadata: [
                        RPCV1.MetadataEntry(key: "x-case", value: "7"),
                        RPCV1.MetadataEntry(key: "sanlian-department", value: "forged"),
                    ],
                    payload: payload,
                    halfClose: false,
                    initialWindow: 3
                )
            )
        )
        let body = try Self.body(original)
        let start = try FrameRelay.readStart(body)
        #expect(start.callID == 5)
        #expect(
            start.header
                == RPCV1.CallStartHeader(
                    method: "/sanlian.echo.v1.Echo/Echo",
                    timeoutMicros: 5_000_000,
                    metadata: [
                        RPCV1.MetadataEntry(key: "x-case", value: "7"),
                        RPCV1.MetadataEntry(key: "sanlian-department", value: "forged"),
                    ],
                    halfClose: false,
                    initialWindow: 3
                )
        )
        #expect(try FrameRelay.payload(ofField: start.payloadField) == payload)

        // Many metadata entries: the arena outgrows its stack buffer too.
        let stamped =
            [
                RPCV1.MetadataEntry(key: "x-case", value: "7"),
                RPCV1.MetadataEntry(key: "sanlian-department", value: "station"),
            ]
            + (0..<40).map { RPCV1.MetadataEntry(key: "x-filler-\($0)", value: String(repeating: "v", count: 20)) }
        var relayed = ByteBuffer()
        let size = try FrameRelay.writeStart(
            callID: 42,
            header: RPCV1.CallStartHeader(
                method: start.header.method,
                timeoutMicros: 123,
                metadata: stamped,
                halfClose: true,
                initialWindow: 7
            ),
            payloadField: start.payloadField,
            into: &relayed
        )
        #expect(relayed.readInteger(as: UInt32.self) == UInt32(size))
        let forwarded = try RPCV1.Frame(buffer: relayed)
        #expect(
            forwarded
                == RPCV1.Frame(
                    callID: 42,
                    kind: .start(
                        RPCV1.CallStart(
                            method: "/sanlian.echo.v1.Echo/Echo",
                            timeoutMicros: 123,
                            metadata: stamped,
                            payload: payload,
                            halfClose: true,
                            initialWindow: 7
                        )
                    )
                )
        )
    }

    @Test(
        "entries encoded once follow the header's metadata in a forwarded CallStart, with or without a payload",
        arguments: [0, 300]
    )
    func encodedMetadataEntries(payloadSize: Int) throws {
        let payload = (0..<payloadSize).map { UInt8(truncatingIfNeeded: $0) }
        let callerMetadata = [RPCV1.MetadataEntry(key: "x-trace", value: "abc")]
        let stamps = [
            RPCV1.MetadataEntry(key: "sanlian-department", value: "station"),
            RPCV1.MetadataEntry(key: "sanlian-operator", value: ""),
            RPCV1.MetadataEntry(key: "sanlian-peer-uid", value: String(repeating: "9", count: 200)),
        ]
        var relayed = ByteBuffer()
        let size = try FrameRelay.writeStart(
            callID: 8,
            header: RPCV1.CallStartHeader(method: "/a.B/C", timeoutMicros: 9, metadata: callerMetadata),
            encodedMetadata: EncodedMetadataEntries(stamps),
            payloadField: FrameRelay.payloadField(for: payload),
            into: &relayed
        )
        #expect(relayed.readInteger(as: UInt32.self) == UInt32(size))
        #expect(
            try RPCV1.Frame(buffer: relayed)
                == RPCV1.Frame(
                    callID: 8,
                    kind: .start(
                        RPCV1.CallStart(
                            method: "/a.B/C",
                            timeoutMicros: 9,
                            metadata: callerMetadata + stamps,
                            payload: payload
                        )
                    )
                )
        )
        #expect(throws: WireError.self, "a NUL cannot travel in a protobuf-c string") {
            try EncodedMetadataEntries([RPCV1.MetadataEntry(key: "k", value: "a\u{0}b")])
        }
    }

    @Test("a CallStart carrying a field it does not have, or a payload of the wrong type, is refused")
    func strangeStarts() throws {
        let start = try RPCV1.CallStart(method: "/a.B/C", timeoutMicros: 5).serializedBytes()
        func frame(start extra: [UInt8], after: [UInt8] = []) -> ByteBuffer {
            let inner = start + extra
            return ByteBuffer(bytes: [0x08, 0x01, 0x22, UInt8(inner.count)] + inner + after)
        }
        let plain = try FrameRelay.readStart(frame(start: []))
        #expect(plain.header.method == "/a.B/C")
        #expect(plain.payloadField == [])
        // Laid out otherwise, the call id after the CallStart (protobuf-c reads it, not the layout).
        let idLast = try FrameRelay.readStart(ByteBuffer(bytes: [0x22, UInt8(start.count)] + start + [0x08, 0x07]))
        #expect(idLast.callID == 7)
        #expect(idLast.header.method == "/a.B/C")
        // Two payloads: the last counts, as protobuf has it.
        let twice = try FrameRelay.readStart(frame(start: [0x22, 0x01, 0x0A, 0x22, 0x02, 0x0B, 0x0C]))
        #expect(try FrameRelay.payload(ofField: twice.payloadField) == [0x0B, 0x0C])
        // A payload field whose length prefix does not match its bytes.
        #expect(throws: WireError.self) { try FrameRelay.payload(ofField: [0x05, 0x01]) }
        // Field 9 inside the CallStart.
        #expect(throws: WireError.self) { try FrameRelay.readStart(frame(start: [0x48, 0x01])) }
        // The payload (field 4) as a varint.
        #expect(throws: WireError.self) { try FrameRelay.readStart(frame(start: [0x20, 0x01])) }
        // Field 15 of the Frame after the CallStart.
        #expect(throws: WireError.self) { try FrameRelay.readStart(frame(start: [], after: [0x78, 0x01])) }
        // A CallStart cut short.
        #expect(throws: WireError.self) { try FrameRelay.readStart(ByteBuffer(bytes: [0x08, 0x01, 0x22, 0x09, 0x0A])) }
    }

    @Test("CallStartHeader names every field of CallStart but the payload, with the same numbers and types")
    func headerFollowsCallStart() {
        func fields(_ descriptor: ProtobufCMessageDescriptor) -> [UInt32: (String, ProtobufCType, ProtobufCLabel)] {
            var fields: [UInt32: (String, ProtobufCType, ProtobufCLabel)] = [:]
            for index in 0..<Int(descriptor.n_fields) {
                let field = descriptor.fields[index]
                fields[field.id] = (String(cString: field.name), field.type, field.label)
            }
            return fields
        }
        var expected = fields(sanlian__rpc__v1__call_start__descriptor)
        #expect(expected.removeValue(forKey: 4)?.0 == "payload")
        let header = fields(sanlian__rpc__v1__call_start_header__descriptor)
        #expect(header.keys.sorted() == expected.keys.sorted())
        for (number, field) in expected {
            #expect(header[number]?.0 == field.0 && header[number]?.1 == field.1 && header[number]?.2 == field.2)
        }
    }
}
