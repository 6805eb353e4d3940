import NIOCore
import SanlianWire

/// libFuzzer's entry point (`make fuzz`): one input is one frame body, and one CallStart
/// (`fuzzCallStart`). Traps when the paths that
/// read frames by hand disagree with protobuf-c decoding the whole `Frame`, when any path reads a
/// string holding a NUL byte (which must be refused, never read cut short), when a decoded frame
/// does not survive encoding and decoding again, or when a frame relayed, read or forwarded does
/// not decode; AddressSanitizer (the fuzz build has it on) reports any memory error.
///
/// A frame whose CallStart field comes twice is read merged by `FrameRelay.readStart` (a
/// `StartFrameHeader`, a plain message field) and as its last occurrence by protobuf-c decoding
/// the `Frame` (a `oneof` member), so the forwarded call is compared only for frames laid out as
/// encoders write them; the broker forwards what it read either way.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrame(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))
    let reference = try? RPCV1.Frame(buffer: body)
    if let reference { precondition(!holdsNUL(reference), "a string was read with a NUL byte in it") }
    var canonical = false
    if let frame = reference {
        var again = ByteBuffer()
        try! frame.encode(into: &again)
        precondition(try! RPCV1.Frame(buffer: again) == frame, "a decoded frame changed on encoding and decoding again")
        canonical = again == body
    }

    var relayed = ByteBuffer()
    if (try? FrameRelay.write(body, callID: 77, into: &relayed)) != nil {
        relayed.moveReaderIndex(forwardBy: FrameLimits.prefixBytes)
        if var renumbered = reference {
            renumbered.callID = 77
            precondition((try? RPCV1.Frame(buffer: relayed)) == renumbered, "relayed differently")
        }
    } else {
        precondition(relayed.readableBytes == 0, "a refused relay left bytes behind")
    }

    if let start = try? FrameRelay.readStart(body) {
        precondition(
            !holdsNUL(
                RPCV1.Frame(kind: .start(RPCV1.CallStart(method: start.header.method, metadata: start.header.metadata)))
            ),
            "the broker read a CallStart string with a NUL byte in it"
        )
        var forwarded = ByteBuffer()
        try! FrameRelay.writeStart(callID: 78, header: start.header, payloadField: start.payloadField, into: &forwarded)
        forwarded.moveReaderIndex(forwardBy: FrameLimits.prefixBytes)
        let sent = try? RPCV1.Frame(buffer: forwarded)
        precondition(sent != nil, "a forwarded CallStart does not decode")
        if canonical {
            guard case .start(let expected)? = reference?.kind else {
                preconditionFailure("read a CallStart from another kind")
            }
            precondition(start.callID == reference?.callID, "read another call id")
            precondition(sent == RPCV1.Frame(callID: 78, kind: .start(expected)), "forwarded a different CallStart")
        }
    }

    do {
        if let start = try RPCV1.CallStart.fromFrame(body) {
            precondition(reference?.kind == .start(start), "CallStart.fromFrame read a different CallStart")
        }
    } catch {
        precondition(reference == nil, "CallStart.fromFrame refused what protobuf-c reads")
    }

    fuzzCallStart(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// The same input as a CallStart alone: read by hand against protobuf-c, and by the broker's
/// `FrameRelay.readStart` in a frame laid out as encoders write it (read by hand) against the
/// same CallStart in a frame with the call id after it (unpacked by protobuf-c).
func fuzzCallStart(_ bytes: UnsafeRawBufferPointer) {
    if let start = RPCV1.CallStart.readByHand(bytes) {
        precondition((try? RPCV1.CallStart(decoding: bytes)) == start, "read a CallStart by hand differently")
    }
    if let start = try? RPCV1.CallStart(decoding: bytes) {
        precondition(!holdsNUL(RPCV1.Frame(kind: .start(start))), "a CallStart string was read with a NUL byte in it")
    }
    var length: [UInt8] = []
    var rest = bytes.count
    while rest >= 0x80 {
        length.append(UInt8(truncatingIfNeeded: rest) | 0x80)
        rest >>= 7
    }
    length.append(UInt8(rest))
    let field = [0x22] + length + Array(bytes)
    let laidOut = try? FrameRelay.readStart(ByteBuffer(bytes: [0x08, 0x03] + field))
    let otherwise = try? FrameRelay.readStart(ByteBuffer(bytes: field + [0x08, 0x03]))
    precondition(
        laidOut?.callID == otherwise?.callID && laidOut?.header == otherwise?.header
            && laidOut?.payloadField == otherwise?.payloadField,
        "readStart read a CallStart by hand differently"
    )
}

/// Whether any string `frame` carries holds a NUL byte.
func holdsNUL(_ frame: RPCV1.Frame) -> Bool {
    func entries(_ metadata: [RPCV1.MetadataEntry]) -> [String] { metadata.flatMap { [$0.key, $0.value] } }
    let strings: [String]
    switch frame.kind {
    case .hello(let hello)?: strings = [hello.department, hello.operatorID, hello.clientName]
    case .welcome(let welcome)?: strings = [welcome.serverName, welcome.department]
    case .start(let start)?: strings = [start.method] + entries(start.metadata)
    case .end(let end)?: strings = [end.status?.message ?? ""] + entries(end.metadata)
    case .cancel(let cancel)?: strings = [cancel.reason]
    case .goAway(let goAway)?: strings = [goAway.status?.message ?? ""]
    default: strings = []
    }
    return strings.contains { $0.utf8.contains(0) }
}
