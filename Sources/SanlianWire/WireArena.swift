package import CProtobufC

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Bytes of stack each encode and decode starts with before falling back to malloc: enough for
/// a call frame with its metadata and a small payload. No more: `withUnsafeTemporaryAllocation`
/// takes over 1024 bytes from the heap (an aligned malloc) on Linux, where the standard library
/// cannot tell how much stack is left.
@usableFromInline
let wireStackBytes = 1024

/// Owns the C memory a message's C struct points at while it is being packed: strings, bytes,
/// arrays and sub-messages are carved out of a stack buffer (malloc once it is full) and all
/// released together when `with` returns.
///
/// protobuf-c packs from a tree of C pointers; Swift storage can only be borrowed inside nested
/// closures, which generated code for arbitrary messages cannot nest, so encoding copies into the
/// arena instead. Never pass arena-built messages to `free_unpacked` (protobuf-c issue #222).
///
/// A non-copyable struct passed `inout`, not a class: a class instance per encode was a heap
/// allocation and its release, on every frame. Non-copyable because a copy would hand out the
/// same bytes twice.
package struct WireArena: ~Copyable {
    private let base: UnsafeMutableRawPointer
    private let capacity: Int
    private var used = 0
    private var overflow: [UnsafeMutableRawPointer] = []

    private init(base: UnsafeMutableRawPointer, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    deinit {
        for allocation in overflow { free(allocation) }
    }

    /// Runs `body` with an arena. The arena must not outlive `body`: its first bytes are on the
    /// stack of this call.
    package static func with<Result>(_ body: (inout WireArena) throws(WireError) -> Result) throws(WireError) -> Result
    {
        try withUnsafeTemporaryAllocation(byteCount: wireStackBytes, alignment: 16) {
            (stack: UnsafeMutableRawBufferPointer) throws(WireError) -> Result in
            var arena = WireArena(base: stack.baseAddress!, capacity: stack.count)
            return try body(&arena)
        }
    }

    /// Zero-filled memory for `count` values of `type`, valid until the arena is released.
    package mutating func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let byteCount = max(count, 1) * MemoryLayout<T>.stride
        let raw = allocateBytes(byteCount)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
        return raw.bindMemory(to: T.self, capacity: max(count, 1))
    }

    /// `byteCount` bytes, uninitialised, valid until the arena is released.
    private mutating func allocateBytes(_ byteCount: Int) -> UnsafeMutableRawPointer {
        // 16-byte steps keep every C type aligned.
        let start = (used + 15) & ~15
        guard start + byteCount <= capacity else {
            let raw = malloc(byteCount)!
            overflow.append(raw)
            return raw
        }
        used = start + byteCount
        return base + start
    }

    /// A NUL-terminated copy of `string`.
    /// - Throws: `WireError.embeddedNUL` when `string` holds a NUL, which C strings would silently cut.
    package mutating func string(_ string: String, message: String, field: String) throws(WireError)
        -> UnsafeMutablePointer<
            CChar
        >
    {
        var string = string
        let count = string.utf8.count
        let copy = allocateBytes(count + 1)
        let containsNUL = string.withUTF8 { utf8 in
            guard let source = utf8.baseAddress else { return false }
            copy.copyMemory(from: source, byteCount: count)
            return memchr(source, 0, count) != nil
        }
        copy.storeBytes(of: 0, toByteOffset: count, as: UInt8.self)
        if containsNUL { throw WireError.embeddedNUL(message: message, field: field) }
        return copy.bindMemory(to: CChar.self, capacity: count + 1)
    }

    /// A copy of `bytes` as protobuf-c's binary data.
    package mutating func bytes(_ bytes: [UInt8]) -> ProtobufCBinaryData {
        guard !bytes.isEmpty else { return ProtobufCBinaryData(len: 0, data: nil) }
        let copy = allocateBytes(bytes.count)
        bytes.withUnsafeBytes { copy.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        return ProtobufCBinaryData(len: bytes.count, data: copy.bindMemory(to: UInt8.self, capacity: bytes.count))
    }
}

/// Runs `body` with a protobuf-c allocator for `unpack` and `free_unpacked` whose memory comes
/// from this call's stack (malloc once that is full). Everything unpacked must be copied out
/// before `body` returns.
package func withWireDecodingAllocator<Result>(
    _ body: (UnsafeMutablePointer<ProtobufCAllocator>) throws(WireError) -> Result
) throws(WireError) -> Result {
    try withUnsafeTemporaryAllocation(byteCount: wireStackBytes, alignment: 16) {
        (stack: UnsafeMutableRawBufferPointer) throws(WireError) -> Result in
        var allocator = CProtobufC_bumpAllocator(stack.baseAddress!, stack.count)
        return try withUnsafeMutablePointer(to: &allocator) {
            (pointer: UnsafeMutablePointer<ProtobufCAllocator>) throws(WireError) -> Result in
            try body(pointer)
        }
    }
}

/// Strings that arrive with every forwarded call: the metadata keys the broker stamps
/// (proto/rpc.proto). Decoded as these constants they cost no allocation.
private let wellKnownStrings: [(utf8: StaticString, string: String)] =
    (["sanlian-department", "sanlian-operator", "sanlian-peer-uid"] as [StaticString]).map { ($0, "\($0)") }

/// Reads a proto3 string field. protobuf-c leaves strings non-NULL after init and unpack, but a NULL
/// is read as "" rather than trusted.
package func wireString(_ pointer: UnsafeMutablePointer<CChar>?, message: String, field: String) throws(WireError)
    -> String
{
    guard let pointer else { return "" }
    // Every well-known string starts with "s": the others are not measured.
    if pointer[0] == 0x73, let known = wellKnownString(UnsafeRawBufferPointer(start: pointer, count: strlen(pointer))) {
        return known
    }
    guard let string = String(validatingCString: pointer) else {
        throw WireError.invalidUTF8(message: message, field: field)
    }
    return string
}

/// The well-known string whose UTF-8 is `bytes`, or nil.
func wellKnownString(_ bytes: UnsafeRawBufferPointer) -> String? {
    // Cheap to rule out: every well-known string starts with "s" and is 16 to 18 bytes long.
    guard bytes.count >= 16, bytes.count <= 18, bytes[0] == 0x73 else { return nil }
    for known in wellKnownStrings
    where known.utf8.utf8CodeUnitCount == bytes.count
        && memcmp(known.utf8.utf8Start, bytes.baseAddress!, bytes.count) == 0
    {
        return known.string
    }
    return nil
}

/// Refuses a message protobuf-c unpacked from `bytes` when one of its string fields (nested ones
/// included) arrived holding a NUL byte: protobuf-c hands strings over as C strings, which end
/// there, so "a\0b" would silently read as "a" (`CProtobufC_findNULString`).
/// - Parameter message: the unpacked message (a `ProtobufCMessage` at its start).
/// - Throws: `WireError.embeddedNUL` naming the field's path.
@inline(__always)
package func wireRefuseNULStrings(_ message: UnsafeRawPointer, _ bytes: UnsafeRawBufferPointer, type: String)
    throws(WireError)
{
    guard let base = bytes.baseAddress, bytes.count > 0, memchr(base, 0, bytes.count) != nil else { return }
    let descriptor = message.assumingMemoryBound(to: ProtobufCMessage.self).pointee.descriptor
    let path: String? = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 256) { path in
        guard
            CProtobufC_findNULString(
                descriptor,
                base.assumingMemoryBound(to: UInt8.self),
                bytes.count,
                path.baseAddress,
                path.count
            ) != 0
        else { return nil }
        return String(cString: path.baseAddress!)
    }
    if let path { throw WireError.embeddedNUL(message: type, field: path) }
}

/// Copies a bytes field out of protobuf-c's memory.
package func wireBytes(_ data: ProtobufCBinaryData) -> [UInt8] {
    guard data.len > 0, let base = data.data else { return [] }
    return Array(UnsafeBufferPointer(start: base, count: data.len))
}

/// The value a sub-message pointer points at; protobuf-c sets a oneof's pointer with its case and
/// never stores NULL in a repeated message field, so a NULL here means the tree is broken.
package func wirePointee<T>(_ pointer: UnsafeMutablePointer<T>?, message: String, field: String) throws(WireError) -> T
{
    guard let pointer else { throw WireError.missingField(message: message, field: field) }
    return pointer.pointee
}
