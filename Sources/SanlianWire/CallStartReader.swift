#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where a CallStart's payload field lies in the bytes `CallStartReader.read` read.
struct PayloadFieldBounds {
    /// Where the field's length prefix starts.
    var fieldStart: Int
    /// Where its content starts.
    var contentStart: Int
    /// Where it ends.
    var end: Int
}

/// Reads an encoded CallStart without protobuf-c, to exactly what protobuf-c's unpack gives, or
/// leaves it to protobuf-c.
///
/// Every served and forwarded call starts with a CallStart, and protobuf-c's generic,
/// descriptor-driven unpacking of it and of each metadata entry, then copying each C string into
/// a `String`, was a large part of a small call's cost. Here each field is read once, straight
/// into the Swift value.
///
/// Fields may come in any order, repeated (the last value wins, metadata entries add up) or
/// unknown (skipped), as protobuf-c reads them. Left to protobuf-c, so that what it accepts and
/// refuses, and the errors it reports, stay the reference: a known field with another wire type,
/// groups and invalid wire types, field number 0 and tags past 32 bits, varints longer than 10
/// bytes, lengths of more than 5 bytes, past `Int32.max` or past the end, and strings that are not
/// UTF-8 or hold a NUL (the C string protobuf-c hands over ends there). The differential tests
/// (`CallStartReaderTests`, `MutatedFrameTests`) and `make fuzz` hold it to protobuf-c.
enum CallStartReader {
    /// Reads every field but the payload into `header` (fresh), and finds the last payload field.
    /// - Returns: false when the CallStart is left to protobuf-c.
    static func read(
        _ bytes: UnsafeRawBufferPointer,
        into header: inout RPCV1.CallStartHeader,
        payload: inout PayloadFieldBounds?,
        hasUnknownFields: inout Bool
    ) -> Bool {
        var reader = ProtoFieldReader(bytes)
        while !reader.isAtEnd {
            guard let (field, wireType) = reader.tag() else { return false }
            switch (field, wireType) {
            case (1, .lengthDelimited):
                guard let method = reader.string() else { return false }
                header.method = method
            case (2, .varint):
                guard let timeout = reader.varint() else { return false }
                header.timeoutMicros = timeout
            case (3, .lengthDelimited):
                guard let entryBytes = reader.lengthDelimited(), let entry = readEntry(entryBytes) else { return false }
                // Three entries arrive with every forwarded call; growing from one would allocate thrice.
                if header.metadata.isEmpty { header.metadata.reserveCapacity(4) }
                header.metadata.append(entry)
            case (4, .lengthDelimited):
                let fieldStart = reader.offset
                guard let content = reader.lengthDelimitedBounds() else { return false }
                payload = PayloadFieldBounds(
                    fieldStart: fieldStart,
                    contentStart: content.lowerBound,
                    end: content.upperBound
                )
            case (5, .varint):
                guard let halfClose = reader.boolean() else { return false }
                header.halfClose = halfClose
            case (6, .varint):
                guard let window = reader.varint() else { return false }
                header.initialWindow = UInt32(truncatingIfNeeded: window)
            case (1...6, _):
                return false
            default:
                guard reader.skip(wireType) else { return false }
                hasUnknownFields = true
            }
        }
        return true
    }

    /// A MetadataEntry read as `read` reads the CallStart around it.
    private static func readEntry(_ bytes: UnsafeRawBufferPointer) -> RPCV1.MetadataEntry? {
        var entry = RPCV1.MetadataEntry()
        var reader = ProtoFieldReader(bytes)
        while !reader.isAtEnd {
            guard let (field, wireType) = reader.tag() else { return nil }
            switch (field, wireType) {
            case (1, .lengthDelimited):
                guard let key = reader.string() else { return nil }
                entry.key = key
            case (2, .lengthDelimited):
                guard let value = reader.string() else { return nil }
                entry.value = value
            case (1...2, _):
                return nil
            default:
                guard reader.skip(wireType) else { return nil }
            }
        }
        return entry
    }
}

extension RPCV1.CallStart {
    /// `bytes`, an encoded CallStart, decoded by hand (`CallStartReader`) to exactly what
    /// `init(decoding:)` gives, or nil when that is left to protobuf-c.
    package static func readByHand(_ bytes: UnsafeRawBufferPointer) -> RPCV1.CallStart? {
        var header = RPCV1.CallStartHeader()
        var payload: PayloadFieldBounds?
        var hasUnknownFields = false
        guard CallStartReader.read(bytes, into: &header, payload: &payload, hasUnknownFields: &hasUnknownFields)
        else { return nil }
        return RPCV1.CallStart(
            method: header.method,
            timeoutMicros: header.timeoutMicros,
            metadata: header.metadata,
            payload: payload.map { Array(UnsafeRawBufferPointer(rebasing: bytes[$0.contentStart..<$0.end])) } ?? [],
            halfClose: header.halfClose,
            initialWindow: header.initialWindow
        )
    }
}

/// Reads protobuf fields from a buffer by hand, within the limits protobuf-c reads them with;
/// nil (or false) from any method means "leave this message to protobuf-c".
struct ProtoFieldReader {
    enum WireType: UInt8 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case startGroup = 3
        case endGroup = 4
        case fixed32 = 5
    }

    private let bytes: UnsafeRawBufferPointer
    private var index = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    var isAtEnd: Bool { index >= bytes.count }

    /// Where the next field starts.
    var offset: Int { index }

    /// The varint at the reading position, of at most `maxBytes` bytes: its low 64 bits, as
    /// protobuf-c keeps them. Most are one byte, read without the loop.
    @inline(__always)
    private mutating func readVarint(maxBytes: Int) -> UInt64? {
        guard index < bytes.count else { return nil }
        let first = bytes.load(fromByteOffset: index, as: UInt8.self)
        if first < 0x80 {
            index += 1
            return UInt64(first)
        }
        guard let (value, end) = FrameLayout.varint(in: bytes, at: index, maxBytes: maxBytes) else { return nil }
        index = end
        return value
    }

    /// The next field's number and wire type. protobuf-c reads a tag of up to 5 bytes into 32
    /// bits; a longer or larger one, a field number 0 and wire types 6 and 7 are left to it.
    mutating func tag() -> (field: UInt32, wireType: WireType)? {
        guard let value = readVarint(maxBytes: 5), value <= UInt32.max, value >> 3 != 0,
            let wireType = WireType(rawValue: UInt8(value & 7))
        else { return nil }
        return (UInt32(value >> 3), wireType)
    }

    /// A varint field's value: its low 64 bits, as protobuf-c keeps them (a `uint32` field takes
    /// the low 32 of those).
    mutating func varint() -> UInt64? { readVarint(maxBytes: 10) }

    /// A bool field's value as protobuf-c reads it: true when any of the varint's bytes has a
    /// payload bit set, even past the 64 bits a value keeps.
    mutating func boolean() -> Bool? {
        let start = index
        guard readVarint(maxBytes: 10) != nil else { return nil }
        return bytes[start..<index].contains { $0 & 0x7f != 0 }
    }

    /// Where a length-delimited field's content lies. protobuf-c reads the length from at most 5
    /// bytes and refuses one past `Int32.max`.
    mutating func lengthDelimitedBounds() -> Range<Int>? {
        guard let length = readVarint(maxBytes: 5), length <= UInt64(Int32.max), length <= UInt64(bytes.count - index)
        else { return nil }
        let start = index
        index += Int(length)
        return start..<index
    }

    /// A length-delimited field's content.
    mutating func lengthDelimited() -> UnsafeRawBufferPointer? {
        lengthDelimitedBounds().map { UnsafeRawBufferPointer(rebasing: bytes[$0]) }
    }

    /// A string field's value, when it is UTF-8 without a NUL.
    mutating func string() -> String? {
        guard let content = lengthDelimited() else { return nil }
        guard !content.isEmpty else { return "" }
        if let known = wellKnownString(content) { return known }
        let utf8 = content.assumingMemoryBound(to: UInt8.self)
        var ascii = true
        for byte in utf8 {
            if byte == 0 { return nil }
            if byte >= 0x80 { ascii = false }
        }
        // Decoding repairs what is not UTF-8; the bytes come out unchanged exactly when they are.
        // (`String(validating:as:)` looks up the encoding's generic metadata on every call.)
        let string = String(decoding: utf8, as: UTF8.self)
        guard ascii || string.utf8.elementsEqual(utf8) else { return nil }
        return string
    }

    /// Moves past a field of `wireType` this reader does not know.
    mutating func skip(_ wireType: WireType) -> Bool {
        switch wireType {
        case .varint: return varint() != nil
        case .lengthDelimited: return lengthDelimitedBounds() != nil
        case .fixed64, .fixed32:
            let size = wireType == .fixed64 ? 8 : 4
            guard bytes.count - index >= size else { return false }
            index += size
            return true
        case .startGroup, .endGroup: return false
        }
    }
}
