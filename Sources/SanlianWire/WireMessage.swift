public import NIOCore

/// A protobuf message of the Sanlian contracts, as a Swift value. Encoding and decoding go through
/// protobuf-c; nothing of protobuf-c's C memory outlives a call.
///
/// `public` (like `WireError` and `WireMethod`), though nothing outside this package uses it:
/// Swift 6.3 does not specialise `@inlinable` members of `package` types and protocols in other
/// modules, so every generic encode and decode looked up type metadata at run time.
public protocol WireMessage: Sendable, Hashable {
    /// The message's full proto name, e.g. "sanlian.rpc.v1.Frame".
    static var protoName: String { get }

    /// The value with every field at its default.
    init()

    /// Decodes one message from exactly `bytes`.
    /// - Throws: `WireError` when the bytes are not a valid encoding of this message.
    init(decoding bytes: UnsafeRawBufferPointer) throws(WireError)

    /// Runs `body` with the size of the message's encoding and a function that packs the encoding
    /// (protobuf-c's pack) into memory of at least that size, returning the bytes it wrote. Valid
    /// only during `body`: the message's C form lives in an arena released after it.
    ///
    /// Not generic over what `body` returns: a generic requirement called from generic code (the
    /// runtime's answers) ran unspecialised and instantiated type metadata on every call.
    /// - Returns: what `body` returns (a number of bytes, by convention).
    /// - Throws: `WireError` when a string field holds a NUL character, which protobuf-c's
    ///   NUL-terminated strings cannot carry.
    func withPacking(_ body: (_ size: Int, _ pack: (UnsafeMutablePointer<UInt8>) -> Int) -> Int) throws(WireError)
        -> Int

    /// Writes the message as a JSON object (proto3's JSON mapping, as `options` say).
    func writeJSON(to json: inout JSONWriter, options: JSONOptions)
}

extension WireMessage {
    /// Appends the message's encoding to `buffer`.
    /// - Throws: as `withPacking(_:)`.
    @inlinable
    package func encode(into buffer: inout ByteBuffer) throws(WireError) {
        _ = try withPacking { size, pack in
            guard size > 0 else { return 0 }
            return buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { target in
                pack(target.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
    }

    /// The message's encoding as bytes, packed straight into the array.
    /// - Throws: as `withPacking(_:)`.
    @inlinable
    package func serializedBytes() throws(WireError) -> [UInt8] {
        var bytes: [UInt8] = []
        _ = try withPacking { size, pack in
            bytes = [UInt8](unsafeUninitializedCapacity: size) { target, count in
                count = size == 0 ? 0 : pack(target.baseAddress!)
            }
            return size
        }
        return bytes
    }

    /// Decodes one message from exactly `bytes`.
    @inlinable
    package init(serializedBytes bytes: [UInt8]) throws(WireError) {
        // Inlinable: this runs for every frame, and unspecialised generic code across modules
        // showed up as runtime metadata lookups in profiles.
        self = try bytes.withUnsafeBytes(Self.decodingResult).get()
    }

    /// Decoding as a value, for the non-throwing closures of `withUnsafe…Bytes`.
    @inlinable
    static func decodingResult(_ raw: UnsafeRawBufferPointer) -> Result<Self, WireError> {
        Result { () throws(WireError) in try Self(decoding: raw) }
    }

    /// Decodes one message from exactly `bytes`.
    package init(serializedBytes bytes: some Collection<UInt8>) throws(WireError) {
        let result: Result<Self, WireError>? = bytes.withContiguousStorageIfAvailable { storage in
            Result { () throws(WireError) in try Self(decoding: UnsafeRawBufferPointer(storage)) }
        }
        if let result {
            self = try result.get()
        } else {
            let copy = Array(bytes)
            self = try copy.withUnsafeBytes { raw in
                Result { () throws(WireError) in try Self(decoding: raw) }
            }.get()
        }
    }

    /// Decodes one message from the readable bytes of `buffer`, without consuming them.
    @inlinable
    package init(buffer: ByteBuffer) throws(WireError) {
        self = try buffer.withUnsafeReadableBytes(Self.decodingResult).get()
    }
}

/// A proto enum as a Swift enum: known values are cases, unknown values survive as
/// `unrecognized(Int32)`.
package protocol WireEnum: Sendable, Hashable, RawRepresentable where RawValue == Int32 {
    init(rawValue: Int32)
    /// The value's name in the .proto file.
    var protoName: String { get }
    /// The name lower-case without the enum's prefix ("extreme" for SEVERITY_EXTREME), or the
    /// number when unknown.
    var shortName: String { get }
    static var knownCases: [Self] { get }
}

/// How a method exchanges messages.
package enum WireMethodKind: String, Sendable, Hashable {
    case unary
    case serverStreaming
    case clientStreaming
    case bidirectionalStreaming

    package var serverStreams: Bool { self == .serverStreaming || self == .bidirectionalStreaming }
    package var clientStreams: Bool { self == .clientStreaming || self == .bidirectionalStreaming }
}

/// A method's name and shape, without its message types.
public struct WireMethodDescription: Sendable, Hashable {
    /// "sanlian.patrol.v1.Roster"
    package var service: String
    /// "UpsertVolunteer"
    package var method: String
    package var kind: WireMethodKind

    /// "/sanlian.patrol.v1.Roster/UpsertVolunteer"
    package var path: String { "/\(service)/\(method)" }

    package init(service: String, method: String, kind: WireMethodKind) {
        self.service = service
        self.method = method
        self.kind = kind
    }
}

/// A method with its request and response message types, as generated from a `service` block.
public struct WireMethod<Request: WireMessage, Response: WireMessage>: Sendable, Hashable {
    public var description: WireMethodDescription

    package var path: String { description.path }
    package var kind: WireMethodKind { description.kind }

    package init(service: String, method: String, kind: WireMethodKind) {
        self.description = WireMethodDescription(service: service, method: method, kind: kind)
    }
}
