import NIOCore
import SanlianTestHarness
import SanlianWire
import Testing

/// protobuf-c hands string fields over as C strings, which end at a NUL byte: a string that
/// arrives holding one must be refused, naming the field, by every reader, never read cut short.
@Suite("Strings that arrive holding a NUL byte are refused, naming the field")
struct EmbeddedNULTests {
    static func encoded(_ message: some WireMessage) throws -> [UInt8] { try message.serializedBytes() }

    @Test("a nested string field is refused with its path")
    func nestedField() throws {
        let request = BrokerV1.PublishAlertRequest(
            alert: AlertV1.Alert(identifier: "a#one", subject: "alert.hazards.traffic", headline: "head")
        )
        let bytes = try #require(withNUL("a#one", at: "#", in: try Self.encoded(request)))
        let error = #expect(throws: WireError.self) { try BrokerV1.PublishAlertRequest(serializedBytes: bytes) }
        #expect(error?.kind == .embeddedNUL)
        #expect(
            error?.message.hasPrefix("alert.identifier contains a NUL byte") == true,
            "\(String(describing: error))"
        )
    }

    @Test("a repeated field's entry is named with its index")
    func repeatedEntry() throws {
        let start = RPCV1.CallStart(
            method: "/a.B/C",
            timeoutMicros: 1,
            metadata: [RPCV1.MetadataEntry(key: "k1", value: "v"), RPCV1.MetadataEntry(key: "k2", value: "x#y")]
        )
        let bytes = try #require(withNUL("x#y", at: "#", in: try Self.encoded(start)))
        let error = #expect(throws: WireError.self) { try RPCV1.CallStart(serializedBytes: bytes) }
        #expect(
            error?.message.hasPrefix("metadata[1].value contains a NUL byte") == true,
            "\(String(describing: error))"
        )
        // The hand reader leaves it to protobuf-c, which is then refused the same way.
        #expect(bytes.withUnsafeBytes { RPCV1.CallStart.readByHand($0) } == nil)
    }

    @Test("zero bytes outside strings are no NUL in a string")
    func zeroBytesElsewhere() throws {
        let request = EchoV1.EchoRequest(payload: [0, 0, 1, 0], delayMs: 256)
        let bytes = try Self.encoded(request)
        #expect(bytes.contains(0))
        #expect(try EchoV1.EchoRequest(serializedBytes: bytes) == request)
        // An empty sub-message is a zero length byte.
        let alert = BrokerV1.PublishAlertRequest(alert: AlertV1.Alert(area: CommonV1.Place()))
        #expect(try BrokerV1.PublishAlertRequest(serializedBytes: try Self.encoded(alert)) == alert)
    }

    @Test("every frame path refuses a method with a NUL byte, and a Hello's department with one")
    func framePaths() throws {
        let frame = RPCV1.Frame(
            callID: 3,
            kind: .start(RPCV1.CallStart(method: "/sanlian.echo.v1.Echo/Echo#junk", timeoutMicros: 5, halfClose: true))
        )
        let bytes = try #require(withNUL("Echo#junk", at: "#", in: try Self.encoded(frame)))
        let body = ByteBuffer(bytes: bytes)
        let whole = #expect(throws: WireError.self) { try RPCV1.Frame(buffer: body) }
        #expect(whole?.message.hasPrefix("start.method contains a NUL byte") == true, "\(String(describing: whole))")
        let relayed = #expect(throws: WireError.self) { try FrameRelay.readStart(body) }
        #expect(relayed?.kind == .embeddedNUL)
        #expect(relayed?.message.hasPrefix("method contains a NUL byte") == true, "\(String(describing: relayed))")
        let decoded = #expect(throws: WireError.self) { try RPCV1.CallStart.fromFrame(body) }
        #expect(decoded?.kind == .embeddedNUL)

        let hello = RPCV1.Frame(kind: .hello(RPCV1.Hello(protocolVersion: 1, department: "station#anything")))
        let helloBytes = try #require(withNUL("station#anything", at: "#", in: try Self.encoded(hello)))
        let refused = #expect(throws: WireError.self) { try RPCV1.Frame(serializedBytes: helloBytes) }
        #expect(refused?.message.hasPrefix("hello.department contains a NUL byte") == true)
    }

    @Test("a string with a NUL cannot be encoded either")
    func encoding() {
        let error = #expect(throws: WireError.self) { try AlertV1.Alert(identifier: "a\u{0}b").serializedBytes() }
        #expect(error?.kind == .embeddedNUL)
        #expect(error?.message.hasPrefix("identifier contains a NUL byte") == true)
    }
}
