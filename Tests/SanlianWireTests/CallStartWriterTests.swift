import NIOCore
import SanlianTestHarness
import SanlianWire
import Testing

/// The forwarded CallStart written by hand (`FrameRelay.writeStart`) against protobuf-c packing
/// the same header, stamps and payload (`writeStartThroughProtobufC`): the same bytes, or the
/// same refusal.
@Suite("CallStart written by hand agrees with protobuf-c", .timeLimit(.minutes(1)))
struct CallStartWriterTests {
    static let texts = ["", "a", "/sanlian.echo.v1.Echo/Echo", "值班员 007", String(repeating: "x", count: 200), "é"]

    static func randomHeader(_ random: inout SplitMix64) -> RPCV1.CallStartHeader {
        let timeouts: [UInt64] = [0, 1, 127, 128, 5_000_000, UInt64.max]
        let windows: [UInt32] = [0, 1, 64, 300, UInt32.max]
        return RPCV1.CallStartHeader(
            method: texts.randomElement(using: &random)!,
            timeoutMicros: timeouts.randomElement(using: &random)!,
            metadata: (0..<Int.random(in: 0...4, using: &random)).map { _ in
                RPCV1.MetadataEntry(
                    key: texts.randomElement(using: &random)!,
                    value: texts.randomElement(using: &random)!
                )
            },
            halfClose: Bool.random(using: &random),
            initialWindow: windows.randomElement(using: &random)!
        )
    }

    typealias StartWriter =
        @Sendable (
            UInt32, RPCV1.CallStartHeader, EncodedMetadataEntries?, [UInt8], inout ByteBuffer
        ) throws(WireError) -> Int

    /// The writers compared: by hand, and by protobuf-c.
    static let byHand: StartWriter = FrameRelay.writeStart(callID:header:encodedMetadata:payloadField:into:)
    static let reference: StartWriter = FrameRelay.writeStartThroughProtobufC(
        callID:
        header:
        encodedMetadata:
        payloadField:
        into:
    )

    /// The frame `write` writes for the rest, or its refusal.
    static func written(
        by write: StartWriter,
        callID: UInt32 = 1,
        _ header: RPCV1.CallStartHeader,
        stamps: EncodedMetadataEntries? = nil,
        payloadField: [UInt8] = []
    ) -> Result<[UInt8], WireError> {
        var buffer = ByteBuffer()
        do {
            let size = try write(callID, header, stamps, payloadField, &buffer)
            #expect(buffer.readableBytes == size + 4, "the size returned is the frame's")
            return .success(Array(buffer.readableBytesView))
        } catch {
            return .failure(error)
        }
    }

    @Test("10,000 random headers, stamps and payloads: the same frame, byte for byte")
    func sameBytes() throws {
        var random = SplitMix64(seed: 0x5A4E_4C49_414E)
        for round in 0..<10_000 {
            let header = Self.randomHeader(&random)
            let stamps: EncodedMetadataEntries? =
                Bool.random(using: &random)
                ? try EncodedMetadataEntries(
                    (0..<Int.random(in: 0...3, using: &random)).map { index in
                        RPCV1.MetadataEntry(key: "sanlian-\(index)", value: Self.texts.randomElement(using: &random)!)
                    }
                ) : nil
            let payload = (0..<[0, 1, 64, 300].randomElement(using: &random)!).map { _ in
                UInt8.random(in: 0...255, using: &random)
            }
            let payloadField = FrameRelay.payloadField(for: payload)
            let callID = UInt32.random(in: 0...UInt32.max, using: &random)
            let byHand = Self.written(
                by: Self.byHand,
                callID: callID,
                header,
                stamps: stamps,
                payloadField: payloadField
            )
            let reference = Self.written(
                by: Self.reference,
                callID: callID,
                header,
                stamps: stamps,
                payloadField: payloadField
            )
            #expect(try byHand.get() == reference.get(), "round \(round): \(header)")
        }
    }

    @Test("a NUL byte in the method or in an entry is refused as protobuf-c refuses it")
    func nulIsRefusedAlike() {
        let headers = [
            RPCV1.CallStartHeader(method: "/a.B/C\u{0}"),
            RPCV1.CallStartHeader(method: "/a.B/C", metadata: [RPCV1.MetadataEntry(key: "k\u{0}", value: "v")]),
            RPCV1.CallStartHeader(method: "/a.B/C", metadata: [RPCV1.MetadataEntry(key: "k", value: "\u{0}")]),
        ]
        for header in headers {
            let byHand = Self.written(by: Self.byHand, header)
            let reference = Self.written(by: Self.reference, header)
            guard case .failure(let refusal) = byHand, case .failure(let expected) = reference else {
                Issue.record("both refuse \(header): \(byHand), \(reference)")
                continue
            }
            #expect(refusal.message == expected.message)
        }
    }
}
