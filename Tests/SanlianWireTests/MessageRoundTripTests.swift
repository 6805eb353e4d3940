import HazardsContract
import NIOCore
import PatrolContract
import ResidentsContract
import SanlianWire
import Testing

@Suite("Generated messages", .timeLimit(.minutes(1)))
struct MessageRoundTripTests {
    @Test(
        "round trip: empty, maximal values, Chinese text, every oneof case, unknown enum values",
        arguments: generatedSampleCases
    )
    func roundTrip(_ sampleCase: WireSampleCase) throws {
        try sampleCase.roundTripAll()
    }

    @Test("truncated encodings are rejected with WireError", arguments: generatedSampleCases)
    func truncated(_ sampleCase: WireSampleCase) throws {
        try sampleCase.rejectTruncated()
    }

    @Test(
        "edited encodings are decoded or refused, never trap, and what decodes round-trips",
        arguments: generatedSampleCases
    )
    func mutated(_ sampleCase: WireSampleCase) throws {
        try sampleCase.decodeMutated()
    }

    @Test("the generated list covers every message of every .proto file")
    func everyMessageHasSamples() {
        // 8 files; a message added to proto/ without regenerating fails check-generated instead.
        #expect(generatedSampleCases.count > 100)
        #expect(Set(generatedSampleCases.map(\.testDescription)).count == generatedSampleCases.count)
    }

    @Test(
        "garbage is rejected with a typed error that names the message",
        arguments: [
            [0xFF, 0xFF, 0xFF],
            [0x0A, 0x05, 0x41],  // field 1, length 5, one byte present
            [0x08],  // varint tag with no value
            [0x0F],  // wire type 7 does not exist
            Array(repeating: 0xFF, count: 11),
        ] as [[UInt8]]
    )
    func garbage(_ bytes: [UInt8]) {
        #expect {
            try AlertV1.Alert(serializedBytes: bytes)
        } throws: { error in
            (error as? WireError)?.kind == .malformed && "\(error)".contains("sanlian.alert.v1.Alert")
        }
    }

    @Test("a string with invalid UTF-8 is rejected naming the field")
    func invalidUTF8() {
        // Alert.identifier (field 1, length-delimited) holding 0xC3 0x28, an invalid sequence.
        let bytes: [UInt8] = [0x0A, 0x02, 0xC3, 0x28]
        #expect {
            try AlertV1.Alert(serializedBytes: bytes)
        } throws: { error in
            let error = error as? WireError
            return error?.kind == .malformed || (error?.kind == .invalidUTF8 && error!.message.contains("identifier"))
        }
    }

    @Test("a NUL inside a string cannot be encoded and is reported, not truncated")
    func embeddedNUL() {
        let alert = AlertV1.Alert(identifier: "a\u{0}b")
        #expect {
            try alert.serializedBytes()
        } throws: { error in
            (error as? WireError)?.kind == .embeddedNUL && "\(error)".contains("identifier")
        }
    }

    @Test("an unknown enum value survives decoding and re-encoding")
    func unknownEnum() throws {
        let status = RPCV1.Status(code: .unrecognized(42), message: "from a newer peer")
        let decoded = try RPCV1.Status(serializedBytes: status.serializedBytes())
        #expect(decoded.code == .unrecognized(42))
        #expect(decoded.code.rawValue == 42)
        #expect(RPCV1.StatusCode(rawValue: 16) == .unauthenticated)
    }

    @Test("a one-field oneof models presence: absent, and present with the zero value, differ")
    func presenceOneof() throws {
        let absent = PatrolV1.UpdateAssignmentRequest(assignmentID: "a1")
        let presentFalse = PatrolV1.UpdateAssignmentRequest(assignmentID: "a1", locked: false)
        #expect(try PatrolV1.UpdateAssignmentRequest(serializedBytes: absent.serializedBytes()).locked == nil)
        #expect(try PatrolV1.UpdateAssignmentRequest(serializedBytes: presentFalse.serializedBytes()).locked == false)
    }

    @Test("generated services describe their methods")
    func serviceDescriptions() {
        #expect(PatrolV1.Roster.upsertVolunteer.path == "/sanlian.patrol.v1.Roster/UpsertVolunteer")
        #expect(BrokerV1.Broker.subscribeLedger.kind == .serverStreaming)
        #expect(HealthV1.Health.methods.map(\.method) == ["Check", "Watch"])
    }
}

@Suite("Messages larger than the stack buffer encoding and decoding start with", .timeLimit(.minutes(1)))
struct LargeMessageTests {
    @Test("a 200 KiB payload and 2,000 metadata entries round-trip through the malloc fallback")
    func beyondTheStackBuffer() throws {
        // Well past the 4 KiB both directions carve from the stack: the arena and the unpack
        // allocator must fall back to malloc for the rest, and free exactly that.
        let payload = (0..<(200 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let start = RPCV1.CallStart(
            method: "/sanlian.residents.v1.Registry/SearchPeople",
            timeoutMicros: 5_000_000,
            metadata: (0..<2_000).map { RPCV1.MetadataEntry(key: "k\($0)", value: "值\($0)") },
            payload: payload,
            halfClose: true,
            initialWindow: 7
        )
        let frame = RPCV1.Frame(callID: 41, kind: .start(start))
        let bytes = try frame.serializedBytes()
        #expect(bytes.count > 200 * 1024)
        #expect(try RPCV1.Frame(serializedBytes: bytes) == frame)
        // Many in a row: a leak or a double free in the fallback would show under repetition.
        for _ in 0..<50 {
            #expect(try RPCV1.Frame(serializedBytes: try frame.serializedBytes()) == frame)
        }
    }
}
