import CProtobufC
import CSanlianProto
import NIOCore
import SanlianTestHarness
import SanlianWire
import Testing

/// The frame paths that read bytes by hand (`FrameRelay.leadingHeader`, `FrameRelay.write`,
/// `FrameRelay.readStart`, `RPCV1.CallStart.fromFrame`) against protobuf-c decoding the whole
/// `Frame`, over thousands of frames mutated at random: whatever a hand path accepts, protobuf-c
/// reads the same way (a relayed frame's Message or CallEnd is passed on undecoded, so there
/// protobuf-c reading the frame as a `FrameHeader`, which keeps the kind as bytes, is the
/// reference); a frame protobuf-c reads and would encode to the same bytes, the hand paths
/// accept; and nothing traps on the way.
@Suite("Hand-read frame paths agree with protobuf-c on mutated frames", .timeLimit(.minutes(1)))
struct MutatedFrameTests {
    static let seeds: [RPCV1.Frame] = [
        RPCV1.Frame(
            callID: 5,
            kind: .start(
                RPCV1.CallStart(
                    method: "/sanlian.echo.v1.Echo/Echo",
                    timeoutMicros: 5_000_000,
                    metadata: [
                        RPCV1.MetadataEntry(key: "x-case", value: "七"),
                        RPCV1.MetadataEntry(key: "sanlian-department", value: "traffic"),
                    ],
                    payload: Array(0..<40),
                    halfClose: true,
                    initialWindow: 3
                )
            )
        ),
        RPCV1.Frame(callID: 130, kind: .start(RPCV1.CallStart(method: "/a.B/C"))),
        RPCV1.Frame(callID: 300_001, kind: .message(RPCV1.Message(payload: [1, 2, 3], halfClose: true))),
        RPCV1.Frame(
            callID: 7,
            kind: .end(
                RPCV1.CallEnd(
                    status: RPCV1.Status(code: .notFound, message: "没有这个人"),
                    metadata: [RPCV1.MetadataEntry(key: "k", value: "v")],
                    payload: Array(0..<24),
                    hasPayload: true
                )
            )
        ),
        RPCV1.Frame(callID: UInt32.max, kind: .end(RPCV1.CallEnd())),
        RPCV1.Frame(kind: .ping(RPCV1.Ping(nonce: 9))),
    ]

    /// The call id and the sole kind field (its number and bytes) protobuf-c reads from `bytes`
    /// as a `FrameHeader`, which leaves the kind undecoded; nil when it cannot read them.
    static func envelope(_ bytes: [UInt8]) -> (callID: UInt32, tag: UInt32, kind: [UInt8])? {
        bytes.withUnsafeBufferPointer { buffer in
            guard let header = sanlian__rpc__v1__frame_header__unpack(nil, buffer.count, buffer.baseAddress) else {
                return nil
            }
            defer { sanlian__rpc__v1__frame_header__free_unpacked(header, nil) }
            guard header.pointee.base.n_unknown_fields == 1, let field = header.pointee.base.unknown_fields else {
                return nil
            }
            return (
                header.pointee.call_id, field.pointee.tag,
                Array(UnsafeBufferPointer(start: field.pointee.data, count: field.pointee.len))
            )
        }
    }

    @Test("relay, CallStart reading and decoding agree with protobuf-c", arguments: [1, 2, 3, 4] as [UInt64])
    func agreeWithProtobufC(seed: UInt64) throws {
        var generator = SplitMix64(seed: seed)
        var accepted = (relayed: 0, startsRead: 0, startsDecoded: 0, refusedForNUL: 0)
        for _ in 0..<4_000 {
            let seedFrame = Self.seeds[Int.random(in: 0..<Self.seeds.count, using: &generator)]
            var encoded = ByteBuffer()
            try seedFrame.encode(into: &encoded)
            let bytes = mutated(Array(encoded.readableBytesView), using: &generator)
            let body = ByteBuffer(bytes: bytes)
            let reference: RPCV1.Frame?
            do {
                reference = try RPCV1.Frame(buffer: body)
            } catch {
                if error.kind == .embeddedNUL { accepted.refusedForNUL += 1 }
                reference = nil
            }
            // A string that came with a NUL byte is refused, never read cut short.
            if let reference { #expect(!Self.strings(of: reference).contains { $0.utf8.contains(0) }) }
            // Whether protobuf-c encodes what it read to the same bytes: a frame as encoders
            // write it, which the hand paths must take.
            let canonical =
                try reference.map { frame in
                    var again = ByteBuffer()
                    try frame.encode(into: &again)
                    return Array(again.readableBytesView) == bytes
                } ?? false

            if let header = FrameRelay.leadingHeader(body), canonical, let reference {
                #expect(header.callID == reference.callID, "leadingHeader of \(bytes)")
                switch reference.kind {
                case .start: #expect(header.kind == .start)
                case .message: #expect(header.kind == .message)
                case .end: #expect(header.kind == .end)
                default: Issue.record("leadingHeader read \(header) from a frame of another kind: \(bytes)")
                }
            }

            var relayed = ByteBuffer()
            if (try? FrameRelay.write(body, callID: 77, into: &relayed)) != nil {
                accepted.relayed += 1
                relayed.moveReaderIndex(forwardBy: FrameLimits.prefixBytes)
                let sent = try #require(Self.envelope(Array(relayed.readableBytesView)))
                let received = try #require(Self.envelope(bytes), "relayed a frame protobuf-c refuses: \(bytes)")
                #expect(received.tag == 5 || received.tag == 6, "relayed a frame of another kind: \(bytes)")
                #expect(sent.callID == 77 && sent.tag == received.tag && sent.kind == received.kind, "relayed \(bytes)")
                if var renumbered = reference {
                    renumbered.callID = 77
                    #expect(try RPCV1.Frame(buffer: relayed) == renumbered, "relayed \(bytes)")
                }
            } else {
                #expect(relayed.readableBytes == 0, "a refused frame left bytes behind: \(bytes)")
                if canonical, case .message = reference?.kind { Issue.record("refused to relay \(bytes)") }
                if canonical, case .end = reference?.kind { Issue.record("refused to relay \(bytes)") }
            }

            if let start = try? FrameRelay.readStart(body) {
                accepted.startsRead += 1
                let frame = try #require(reference, "read a CallStart protobuf-c refuses: \(bytes)")
                guard case .start(let expected) = frame.kind else {
                    Issue.record("read a CallStart from a frame of another kind: \(bytes)")
                    continue
                }
                #expect(start.callID == frame.callID)
                // Sent on, what was read is a CallStart a peer decodes.
                var forwarded = ByteBuffer()
                try FrameRelay.writeStart(
                    callID: 78,
                    header: start.header,
                    payloadField: start.payloadField,
                    into: &forwarded
                )
                forwarded.moveReaderIndex(forwardBy: FrameLimits.prefixBytes)
                let sent = try RPCV1.Frame(buffer: forwarded)
                // The same CallStart, for a frame as encoders write it. (One carrying its CallStart
                // twice is read merged here and as the last one by protobuf-c's `oneof`:
                // docs/PROTOCOL.md, §3.)
                if canonical {
                    #expect(
                        start.header
                            == RPCV1.CallStartHeader(
                                method: expected.method,
                                timeoutMicros: expected.timeoutMicros,
                                metadata: expected.metadata,
                                halfClose: expected.halfClose,
                                initialWindow: expected.initialWindow
                            ),
                        "CallStart of \(bytes)"
                    )
                    #expect(try FrameRelay.payload(ofField: start.payloadField) == expected.payload)
                    #expect(sent == RPCV1.Frame(callID: 78, kind: .start(expected)))
                }
            } else if canonical, case .start = reference?.kind {
                Issue.record("refused to read the CallStart of \(bytes)")
            }

            do {
                if let start = try RPCV1.CallStart.fromFrame(body) {
                    accepted.startsDecoded += 1
                    #expect(reference?.kind == .start(start), "CallStart.fromFrame of \(bytes)")
                } else if canonical, case .start = reference?.kind {
                    Issue.record("CallStart.fromFrame passed over \(bytes)")
                }
            } catch {
                #expect(reference == nil, "CallStart.fromFrame refused what protobuf-c reads: \(bytes)")
            }
        }
        // Mutations that keep a frame valid must have been common enough to test the hand paths.
        #expect(accepted.relayed > 50)
        #expect(accepted.startsRead > 50)
        #expect(accepted.startsDecoded > 50)
        #expect(accepted.refusedForNUL > 20)
    }

    /// Every string a frame carries.
    static func strings(of frame: RPCV1.Frame) -> [String] {
        func entries(_ metadata: [RPCV1.MetadataEntry]) -> [String] { metadata.flatMap { [$0.key, $0.value] } }
        switch frame.kind {
        case .hello(let hello)?: return [hello.department, hello.operatorID, hello.clientName]
        case .welcome(let welcome)?: return [welcome.serverName, welcome.department]
        case .start(let start)?: return [start.method] + entries(start.metadata)
        case .end(let end)?: return [end.status?.message ?? ""] + entries(end.metadata)
        case .cancel(let cancel)?: return [cancel.reason]
        case .goAway(let goAway)?: return [goAway.status?.message ?? ""]
        default: return []
        }
    }
}
