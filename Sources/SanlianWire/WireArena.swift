import CProtobufC

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Owns the C memory a message's C struct points at while it is being packed: strings, bytes,
/// arrays and sub-messages are allocated here and all freed together when the arena goes away.
///
/// protobuf-c packs from a tree of C pointers; Swift storage can only be borrowed inside nested
/// closures, which generated code for arbitrary messages cannot nest, so encoding copies into the
/// arena instead. Never pass arena-built messages to `free_unpacked` (protobuf-c issue #222).
final class WireArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    init() {}

    deinit {
        for allocation in allocations { free(allocation) }
    }

    /// Uninitialized, zero-filled memory for `count` values of `type`, freed with the arena.
    func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let raw = calloc(max(count, 1), MemoryLayout<T>.stride)!
        allocations.append(raw)
        return raw.bindMemory(to: T.self, capacity: max(count, 1))
    }

    /// A NUL-terminated copy of `string`.
    /// - Throws: `WireError.embeddedNUL` when `string` holds a NUL, which C strings would silently cut.
    func string(_ string: String, message: String, field: String) throws(WireError) -> UnsafeMutablePointer<CChar> {
        var string = string
        let count = string.utf8.count
        let copy = allocate(CChar.self, count: count + 1)
        let containsNUL = string.withUTF8 { utf8 in
            utf8.withMemoryRebound(to: CChar.self) { source in
                copy.update(from: source.baseAddress!, count: count)
            }
            return utf8.contains(0)
        }
        copy[count] = 0
        if containsNUL { throw WireError.embeddedNUL(message: message, field: field) }
        return copy
    }

    /// A copy of `bytes` as protobuf-c's binary data.
    func bytes(_ bytes: [UInt8]) -> ProtobufCBinaryData {
        guard !bytes.isEmpty else { return ProtobufCBinaryData(len: 0, data: nil) }
        let copy = allocate(UInt8.self, count: bytes.count)
        bytes.withUnsafeBufferPointer { copy.update(from: $0.baseAddress!, count: bytes.count) }
        return ProtobufCBinaryData(len: bytes.count, data: copy)
    }
}

/// Reads a proto3 string field. protobuf-c leaves strings non-NULL after init and unpack, but a NULL
/// is read as "" rather than trusted.
func wireString(_ pointer: UnsafeMutablePointer<CChar>?, message: String, field: String) throws(WireError) -> String {
    guard let pointer else { return "" }
    guard let string = String(validatingCString: pointer) else {
        throw WireError.invalidUTF8(message: message, field: field)
    }
    return string
}

/// Copies a bytes field out of protobuf-c's memory.
func wireBytes(_ data: ProtobufCBinaryData) -> [UInt8] {
    guard data.len > 0, let base = data.data else { return [] }
    return Array(UnsafeBufferPointer(start: base, count: data.len))
}

/// The value a sub-message pointer points at; protobuf-c sets a oneof's pointer with its case and
/// never stores NULL in a repeated message field, so a NULL here means the tree is broken.
func wirePointee<T>(_ pointer: UnsafeMutablePointer<T>?, message: String, field: String) throws(WireError) -> T {
    guard let pointer else { throw WireError.missingField(message: message, field: field) }
    return pointer.pointee
}
